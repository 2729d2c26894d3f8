"""Real LibreOffice fills our templates, recalculates and saves them as xlsx, xls and ods.

What a unit using LibreOffice Calc sends back must still compute the derived cells and
carry the `_mttq` field map. One LibreOffice session for the whole module (`batch`).
Cells are found through the template's own field map, never hard-coded.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from mttq_xlsx.fieldmap import META_SHEET
from mttq_xlsx.periods import parse_period
from mttq_xlsx.reader import read_meta
from mttq_xlsx.spec import load_spec
from mttq_xlsx.template import TemplateRequest, write_template
from tools import libreoffice

pytestmark = pytest.mark.libreoffice

FORMATS = ("xlsx", "xls", "ods")
PERIOD = parse_period("2024-6T")
GENERATED_AT = datetime(2024, 5, 2, 9, 30, 15)

# field id -> value typed by the unit (a table column: its first rows, top down)
INPUTS: dict[str, dict[str, Any]] = {
    "bieu-so-lieu": {
        "hoa_giai_so_vu": 1014,
        "hoa_giai_thanh": 739,
        "tong_kdc": 0,  # every ratio over tong_kdc must stay blank, not #DIV/0! or 0
        "kdc_co_to_hoa_giai": 0,
        "kp_cap_xa": 3797.118,
        "kp_ban_ctmt": 2,
        "nguoi_lap": "Nguyễn Thị Hòa",
        "ngay_lap": {"date": "2024-06-05"},
    },
    "phu-luc-1": {
        "xa_ntm_so_phieu": 200,
        "xa_ntm_hai_long": 150,
        "so_htx_moi": 2,
        "so_tht_moi": 3,
        "giam_sat_chu_tri_huyen": 1,
        "giam_sat_phoi_hop_xa": 2,
        "van_ban.nhom": ["Văn bản của cấp ủy", "Văn bản hướng dẫn của MTTQ"],
        "van_ban.ngay_ban_hanh": [{"date": "2024-03-15"}],
    },
}
# derived field -> value after recalculation ("" = left blank)
EXPECTED: dict[str, dict[str, Any]] = {
    "bieu-so-lieu": {
        "hoa_giai_ty_le": 739 / 1014,
        "kdc_co_to_hoa_giai_ty_le": "",
        "kdc_van_hoa_ty_le": "",
        "kp_tong": 3799.118,
        "ntm_tong_kinh_phi": "",  # no part filled: blank, not 0
        "ho_ngheo_ty_le": "",
    },
    "phu-luc-1": {
        "xa_ntm_ty_le": 0.75,
        "huyen_ntm_ty_le": "",
        "so_htx_tht_moi": 5,
        "giam_sat_chu_tri_tong": 1,
        "giam_sat_phoi_hop_tong": 2,
        "giam_sat_tong": 3,
        "phan_bien_tong": "",
        "so_van_ban_cap_uy": 1,
        "so_van_ban_mttq": 1,
        "so_chuong_trinh_phoi_hop": 0,
    },
}


def field_map(path: Path) -> dict[str, tuple[str, str, str, str]]:
    """field_id -> (form_id, sheet, cell, type), read from the template itself."""
    rows = list(openpyxl.load_workbook(path, read_only=True)[META_SHEET].iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "field_id")
    return {r[0]: tuple(r[1:5]) for r in rows[header_at + 1 :] if r and r[0]}


def calamine_field_map(wb: CalamineWorkbook) -> dict[str, tuple[str, ...]]:
    """The field map as the ingest reader sees it."""
    _meta, fmap = read_meta(wb)
    return {r.field_id: (r.form_id, r.sheet, r.cell, r.type) for r in fmap.rows}


def cell_entries(fmap: dict, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    entries = []
    for fid, value in inputs.items():
        _form, sheet, ref, _type = fmap[fid]
        col, row, _c, _r = range_boundaries(ref)
        values = value if isinstance(value, list) else [value]
        for i, v in enumerate(values):
            cell = openpyxl.utils.get_column_letter(col) + str(row + i)
            entries.append({"sheet": sheet, "cell": cell, "value": v})
    return entries


def value_at(wb: CalamineWorkbook, sheet: str, ref: str) -> Any:
    col, row, _c, _r = range_boundaries(ref)
    grid = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    if row > len(grid) or col > len(grid[row - 1]):
        return ""
    return grid[row - 1][col - 1]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reason = libreoffice.available()
    if reason is not None:
        pytest.skip(f"LibreOffice not usable here: {reason}")
    tmp = tmp_path_factory.mktemp("lo-template")
    templates, maps, jobs, names = {}, {}, [], []
    for report_id in INPUTS:
        request = TemplateRequest(load_spec(report_id), PERIOD, generated_at=GENERATED_AT)
        path = write_template(request, tmp / f"{report_id}.xlsx")
        templates[report_id], maps[report_id] = path, field_map(path)
        cells = cell_entries(maps[report_id], INPUTS[report_id])
        for fmt in FORMATS:
            names.append((report_id, fmt))
            jobs.append({"src": path, "dst": tmp / "out" / f"{report_id}.{fmt}", "cells": cells})
    # a locked (derived) cell stays locked for LibreOffice too
    _form, sheet, ref, _type = maps["bieu-so-lieu"]["hoa_giai_ty_le"]
    names.append(("locked", "xlsx"))
    jobs.append(
        {
            "src": templates["bieu-so-lieu"],
            "dst": tmp / "out" / "locked.xlsx",
            "cells": [{"sheet": sheet, "cell": ref, "value": 0.5}],
        }
    )
    started = time.monotonic()
    results = libreoffice.run_jobs(jobs)
    seconds = time.monotonic() - started
    return {
        "templates": templates,
        "maps": maps,
        "results": dict(zip(names, zip(jobs, results, strict=True), strict=True)),
        "seconds": seconds,
    }


CASES = [(r, fmt) for r in INPUTS for fmt in FORMATS]


@pytest.fixture(params=CASES, ids=[f"{r}-{fmt}" for r, fmt in CASES])
def saved(request: pytest.FixtureRequest, batch: dict) -> tuple[str, dict, CalamineWorkbook]:
    report_id, fmt = request.param
    job, result = batch["results"][report_id, fmt]
    assert result["ok"], result.get("error")
    assert result.get("warnings", []) == []
    return report_id, batch["maps"][report_id], CalamineWorkbook.from_path(str(job["dst"]))


def test_one_libreoffice_session_is_quick(batch: dict) -> None:
    # 7 jobs, one soffice start; generous bound so a slow CI machine still passes
    assert batch["seconds"] < 180


def test_derived_cells_recalculated(saved: tuple) -> None:
    report_id, fmap, wb = saved
    # LibreOffice's xls export stores a formula's "" result as the number 0 (BIFF8 could
    # say "empty string"; LibreOffice does not): a reader of xls cannot tell blank from 0.
    blank = ("", None, 0.0) if wb.path.endswith(".xls") else ("", None)
    got = {fid: value_at(wb, fmap[fid][1], fmap[fid][2]) for fid in EXPECTED[report_id]}
    for fid, want in EXPECTED[report_id].items():
        if want == "":
            assert got[fid] in blank, f"{fid}: {got[fid]!r}"
        else:
            assert got[fid] == pytest.approx(want, abs=1e-9), fid


@pytest.mark.parametrize("fmt", FORMATS)
def test_mediation_ratio_is_72_88_percent(batch: dict, fmt: str) -> None:
    job, result = batch["results"]["bieu-so-lieu", fmt]
    assert result["ok"], result.get("error")
    _form, sheet, ref, _type = batch["maps"]["bieu-so-lieu"]["hoa_giai_ty_le"]
    value = value_at(CalamineWorkbook.from_path(str(job["dst"])), sheet, ref)
    assert value == pytest.approx(0.7287968441814595, abs=1e-9)
    assert f"{value * 100:.2f}".replace(".", ",") == "72,88"


def test_inputs_read_back(saved: tuple) -> None:
    report_id, fmap, wb = saved
    for entry in cell_entries(fmap, INPUTS[report_id]):
        got = value_at(wb, entry["sheet"], entry["cell"])
        want = entry["value"]
        if isinstance(want, dict):
            want = date.fromisoformat(want["date"])
            got = got.date() if isinstance(got, datetime) else got
            assert got == want, entry
        elif isinstance(want, str):
            assert got == want, entry
        else:
            assert got == pytest.approx(want), entry


def test_field_map_survives(saved: tuple) -> None:
    report_id, fmap, wb = saved
    visibility = {m.name: m.visible for m in wb.sheets_metadata}
    # LibreOffice keeps the sheet but saves "very hidden" as plain hidden
    assert visibility[META_SHEET] in (SheetVisibleEnum.Hidden, SheetVisibleEnum.VeryHidden)
    assert calamine_field_map(wb) == fmap
    assert list(fmap) == [f.id for f in load_spec(report_id).fields]


def test_meta_rows_survive(saved: tuple) -> None:
    report_id, _fmap, wb = saved
    rows = wb.get_sheet_by_name(META_SHEET).to_python(skip_empty_area=False)
    meta = {str(r[0]): str(r[1]) for r in rows if r[0] and r[0] != "field_id"}
    assert meta["report_id"] == report_id
    assert meta["period"] == "2024-6T"
    assert meta["generated_at"] == "2024-05-02T09:30:15"


def test_xlsx_saved_by_libreoffice_stays_protected(batch: dict) -> None:
    job, _result = batch["results"]["phu-luc-1", "xlsx"]
    wb = openpyxl.load_workbook(job["dst"])
    fmap = batch["maps"]["phu-luc-1"]
    for sheet in ("Thông tin", "Biểu 1", "Biểu 2", "Biểu 3", "Biểu 4", "Biểu 5"):
        assert wb[sheet].protection.sheet is True, sheet
    _form, sheet, ref, _type = fmap["so_htx_moi"]
    assert wb[sheet][ref].protection.locked is False
    _form, sheet, ref, _type = fmap["so_htx_tht_moi"]
    assert wb[sheet][ref].protection.locked is True


def test_locked_cell_cannot_be_written(batch: dict) -> None:
    job, result = batch["results"]["locked", "xlsx"]
    assert result["ok"] is False
    assert "locked" in result["error"]
    assert not Path(job["dst"]).exists()
