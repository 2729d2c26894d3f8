"""The `_mttq` contract: what the template writer writes is what the reader parses, and files made by
a newer program are refused, not guessed."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import mttq_xlsx
from mttq_xlsx import Rejected, fieldmap
from mttq_xlsx.layout import form_layout
from mttq_xlsx.model import SubUnit
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import Unit
from mttq_xlsx.spec import load_spec
from mttq_xlsx.template import TemplateRequest, write_template

PERIOD = parse_period("2024-6T")
UNIT = Unit("05977", "Phường Đông Kinh", "20", "phuong")
AT = datetime(2024, 5, 2, 9, 30)


def meta_rows(path: Path) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(fieldmap.META_SHEET).to_python()


@pytest.mark.parametrize("report_id", ["phu-luc-1", "bieu-so-lieu"])
def test_what_is_written_is_what_is_parsed(report_id: str, tmp_path: Path) -> None:
    spec = load_spec(report_id)
    path = write_template(TemplateRequest(spec, PERIOD, UNIT, generated_at=AT), tmp_path / "t.xlsx")
    meta, fmap = fieldmap.parse(meta_rows(path))
    layouts = [form_layout(spec.cover, cover=True), *(form_layout(f) for f in spec.forms)]
    rows = fieldmap.sheet_rows(spec, layouts, PERIOD, UNIT, AT)
    assert [dataclasses.astuple(r) for r in fmap.rows] == [r for r in rows[12:]]
    assert meta["schema"] == fieldmap.SCHEMA and meta["spec_version"] == spec.version
    assert (meta["report_id"], meta["unit_code"], meta["generated_at"]) == (
        report_id,
        "05977",
        AT.isoformat(),
    )
    assert set(fmap.cells) == {f.id for f in spec.fields}


def _template(tmp_path: Path, version: str) -> Path:
    spec = dataclasses.replace(load_spec("bieu-so-lieu"), version=version)
    request = TemplateRequest(spec, PERIOD, UNIT, generated_at=AT, values={"tong_kdc": 12})
    return write_template(request, tmp_path / f"v{version}" / "bao-cao.xlsx")


def test_a_newer_spec_version_is_rejected_with_what_to_do(tmp_path: Path) -> None:
    result = mttq_xlsx.check([_template(tmp_path, "2")])
    (record,) = result.files
    assert (record.status, record.reason) == ("rejected", "newer_spec")
    assert "phiên bản mới hơn" in record.message and "bieu-so-lieu phiên bản 2" in record.message
    assert "Hãy cập nhật mttq-xlsx" in record.message
    assert [i.code for i in result.issues] == ["newer_spec"] and result.exit_status == 1


@pytest.mark.parametrize("version", ["0", "0.9", "1"])
def test_an_older_or_the_same_spec_version_reads_by_its_own_map(tmp_path: Path, version: str) -> None:
    result = mttq_xlsx.check([_template(tmp_path, version)])
    (record,) = result.files
    assert record.status == "accepted"
    assert result.submissions[0].values["tong_kdc"] == 12


def test_a_newer_schema_is_rejected_and_an_unknown_one_is_not_a_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_spec("phu-luc-1")
    for schema in ("mttq-xlsx/template/2", "something/else"):
        with monkeypatch.context() as m:
            m.setattr(fieldmap, "SCHEMA", schema)
            path = write_template(TemplateRequest(spec, PERIOD, UNIT, generated_at=AT), tmp_path / "t.xlsx")
        with pytest.raises(Rejected) as info:
            fieldmap.parse(meta_rows(path))
        want = "newer_spec" if schema.endswith("/2") else "not_a_template"
        assert info.value.code == want, schema


def test_an_escaped_field_id_is_restored() -> None:
    """LibreOffice reads `_xa_` in an xlsx string as an escaped newline (nha_van_hoa_xa_ty_le)."""
    rows = [["schema", fieldmap.SCHEMA], [], list(fieldmap.MAP_HEADER)]
    rows.append(["nha_van_hoa\nty_le", "so-lieu", "Số liệu", "E40", "ratio", "B40", "Tỷ lệ"])
    _meta, fmap = fieldmap.parse(rows)
    assert list(fmap.cells) == ["nha_van_hoa_xa_ty_le"]


def test_a_roll_ups_units_are_written_as_parsed(tmp_path: Path) -> None:
    """The units sheet: written by the template writer, read back by the reader, every value kind
    kept (a count, an amount, a text, a date as ISO text, a blank); the `_mttq` key names it."""
    spec = load_spec("bieu-so-lieu")
    units = [
        SubUnit("05977", "Phường Đông Kinh", {"tong_kdc": 24, "kp_cap_xa": 12.5, "gs_ket_qua": "Tốt"}),
        SubUnit("06184", "Xã Đồng Đăng", {"tong_kdc": 31, "nha_van_hoa_xa": 1, "kp_cap_xa": None}),
    ]
    request = TemplateRequest(spec, PERIOD, UNIT, generated_at=AT, sub_units=units)
    path = write_template(request, tmp_path / "t.xlsx")
    book = CalamineWorkbook.from_path(str(path))
    meta, _ = fieldmap.parse(meta_rows(path))
    assert meta[fieldmap.UNITS_KEY] == fieldmap.UNITS_SHEET
    rows = book.get_sheet_by_name(fieldmap.UNITS_SHEET).to_python()
    header = rows[0]
    assert header[:2] == list(fieldmap.UNITS_HEADER)
    assert header[2:] == [f.id for f in fieldmap.carried_fields(spec)]
    parsed = fieldmap.parse_units(rows)
    assert [(u.code, u.name) for u in parsed] == [(u.code, u.name) for u in units]
    for given, read in zip(units, parsed, strict=True):
        assert {k: v for k, v in read.values.items() if v is not None} == {
            k: v for k, v in given.values.items() if v is not None
        }
    without = write_template(TemplateRequest(spec, PERIOD, UNIT, generated_at=AT), tmp_path / "u.xlsx")
    assert fieldmap.UNITS_KEY not in fieldmap.parse(meta_rows(without))[0]
    assert fieldmap.UNITS_SHEET not in CalamineWorkbook.from_path(str(without)).sheet_names


def test_units_rows_restore_escaped_ids_and_skip_rows_without_a_code() -> None:
    rows = [
        ["unit_code", "unit_name", "nha_van_hoa\nty_le", "tong_kdc"],
        [178.0, "Thành phố Lạng Sơn", 3.0, " 88 "],
        [None, "(dòng trống)", 1.0, 2.0],
    ]
    (unit,) = fieldmap.parse_units(rows)
    assert (unit.code, unit.values) == ("178", {"nha_van_hoa_xa_ty_le": 3, "tong_kdc": "88"})
    assert fieldmap.parse_units([["field_id", "form_id"], ["x", "y"]]) == []
