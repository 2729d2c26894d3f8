"""The roll-up (`consolidate --rollup --as-unit`) and the cross-level check, as users run them.

The roll-up of Lạng Sơn is made from the LibreOffice-made samples, then read back as the level
above reads it: by `check`, by `consolidate`, and opened with openpyxl as a spreadsheet program
shows it. Files a province edits by hand are in tests/test_rollup_libreoffice.py.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

import mttq_xlsx
from mttq_xlsx.cli import main
from mttq_xlsx.fieldmap import META_SHEET, UNITS_SHEET
from mttq_xlsx.layout import form_layout
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import Unit, read_roster, write_roster
from mttq_xlsx.spec import load_spec
from mttq_xlsx.template import TemplateRequest, write_template

SAMPLES = Path(__file__).parent.parent / "samples"
INBOX = SAMPLES / "inbox"
ROSTER = SAMPLES / "don-vi.csv"
SPEC = load_spec("bieu-so-lieu")
PERIOD = parse_period("2024-6T")
PROVINCE_FIGURES = {  # the Lạng Sơn report's own words: 739/1.014, 1.646/1.646, 1.767 cuộc / 140.278 lượt
    "hoa_giai_thanh": 739,
    "hoa_giai_so_vu": 1014,
    "kdc_co_to_hoa_giai": 1646,
    "tong_kdc": 1646,
    "tt_so_cuoc": 1767,
    "tt_so_luot_nguoi": 140278,
}
AT = datetime(2024, 6, 14, 9, 0)


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def cell_of(field_id: str) -> str:
    """Where a field of `bieu-so-lieu` sits on its sheet, as the template writer puts it."""
    for form in SPEC.all_forms:
        positions = form_layout(form, cover=form is SPEC.cover).positions
        if field_id in positions:
            return positions[field_id].ref
    raise KeyError(field_id)


def sheet_of(field_id: str) -> str:
    return next(f.sheet for f in SPEC.all_forms if field_id in {x.id for x in f.fields})


def issues(report: Path, code: str) -> list[dict[str, str]]:
    return [i for i in json.loads(report.read_text(encoding="utf-8"))["issues"] if i["code"] == code]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path, Path]:
    """The samples consolidated with the roll-up of the province, code 20 (not on the roster)."""
    out = tmp_path_factory.mktemp("out")
    rollup = out / "gui-len" / "tong-hop-tinh.xlsx"
    result = run(
        "consolidate",
        INBOX,
        "-o",
        out / "tong-hop.xlsx",
        "--roster",
        ROSTER,
        "--period",
        "2024-6T",
        "--deadline",
        "2024-06-10",
        "--report",
        out / "bao-cao.json",
        "--rollup",
        rollup,
        "--as-unit",
        "20",
    )
    return result, rollup, out / "bao-cao.json"


@pytest.fixture(scope="module")
def rollup(made: tuple[Result, Path, Path]) -> Path:
    return made[1]


@pytest.fixture(scope="module")
def above(rollup: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path, Path]:
    """The level above: its inbox holds the roll-up; its summary and JSON report."""
    inbox = tmp_path_factory.mktemp("hop-thu-trung-uong")
    shutil.copy(rollup, inbox / "Lang Son - bao cao 6 thang.xlsx")
    out = tmp_path_factory.mktemp("trung-uong")
    result = run(
        "consolidate", inbox, "-o", out / "tong-hop.xlsx", "--period", "2024-6T", "--report", out / "bc.json"
    )
    return result, out / "tong-hop.xlsx", out / "bc.json"


# ---------------------------------------------------------------------------- the done-means


def test_the_roll_up_is_written_and_named_from_the_official_list(made: tuple[Result, Path, Path]) -> None:
    result, rollup, report = made
    assert result.exit_code == 1, result.output  # the samples' own findings, as without --rollup
    assert f"Báo cáo gửi cấp trên (Tỉnh Lạng Sơn): {rollup}" in result.output
    assert rollup.is_file()
    assert not issues(report, "rollup_mismatch") and not issues(report, "rollup_double_counted")


def test_the_roll_up_passes_check_clean(rollup: Path) -> None:
    result = run("check", rollup)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "tong-hop-tinh.xlsx: đọc được"
    assert "Lỗi: 0; cảnh báo: 0." in result.output


def test_the_level_above_reads_the_province_figures(above: tuple[Result, Path, Path]) -> None:
    result, summary, report = above
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    (file,) = data["files"]
    assert (file["status"], file["unit_code"], file["unit_name"]) == ("accepted", "20", "Tỉnh Lạng Sơn")
    totals = data["totals"]["bieu-so-lieu"]
    assert {k: totals[k] for k in PROVINCE_FIGURES} == PROVINCE_FIGURES
    assert f"{totals['hoa_giai_ty_le']:.4%}" == "72.8797%"
    texts = {c.value for row in openpyxl.load_workbook(summary)["Tổng hợp"].iter_rows() for c in row}
    assert {"739/1.014 = 72,88%", "1.646/1.646 = 100,00%"} <= texts


def test_the_roll_up_holds_the_runs_totals_field_by_field(
    made: tuple[Result, Path, Path], above: tuple[Result, Path, Path]
) -> None:
    """Every total of the province's run comes back from its roll-up, ratios recomputed."""
    below = json.loads(made[2].read_text(encoding="utf-8"))["totals"]["bieu-so-lieu"]
    again = json.loads(above[2].read_text(encoding="utf-8"))["totals"]["bieu-so-lieu"]
    assert again == below
    assert sum(v is not None for v in below.values()) > 60


# ---------------------------------------------------------------------------- the workbook


@pytest.fixture(scope="module")
def book(rollup: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(rollup)


@pytest.fixture(scope="module")
def cached(rollup: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(rollup, data_only=True)


def test_same_locked_template_with_the_units_rows_very_hidden(book: openpyxl.Workbook) -> None:
    assert book.sheetnames == ["Thông tin", "Số liệu", UNITS_SHEET, "_ds", META_SHEET]
    states = {ws.title: (ws.sheet_state, ws.protection.sheet) for ws in book}
    assert states["Thông tin"] == states["Số liệu"] == ("visible", True)
    assert states[UNITS_SHEET] == ("veryHidden", True)
    template = openpyxl.load_workbook(
        mttq_xlsx.write_templates(SPEC, Path(book.path).parent / "mau", "2024-6T")[0]
    )
    assert [c.value for c in template["Số liệu"]["B"]] == [c.value for c in book["Số liệu"]["B"]]


def test_sums_in_input_cells_and_live_formulas(book: openpyxl.Workbook, cached: openpyxl.Workbook) -> None:
    ws, values = book["Số liệu"], cached["Số liệu"]
    for field_id, figure in PROVINCE_FIGURES.items():
        cell = ws[cell_of(field_id)]
        assert cell.value == figure, field_id
        assert cell.protection.locked is False
    validations = [dv for dv in ws.data_validations.dataValidation if cell_of("hoa_giai_thanh") in dv.sqref]
    assert [(dv.type, dv.operator, dv.formula1) for dv in validations] == [
        ("whole", "greaterThanOrEqual", "0")
    ]
    num, den, ratio = (cell_of(f) for f in ("hoa_giai_thanh", "hoa_giai_so_vu", "hoa_giai_ty_le"))
    assert ws[ratio].value == f'=IF(OR({num}="",{den}="",{den}=0),"",{num}/{den})'
    assert ws[ratio].protection.locked is True
    assert values[ratio].value == pytest.approx(
        739 / 1014
    )  # cached: right in a viewer that does not recalculate
    assert ws[cell_of("kp_tong")].value.startswith("=IF(COUNT(")
    assert values[cell_of("kp_tong")].value == pytest.approx(
        sum(values[cell_of(p)].value or 0 for p in SPEC.field_index["kp_tong"].parts)
    )


def test_texts_gathered_per_unit_with_the_unit_named(
    book: openpyxl.Workbook, made: tuple[Result, Path, Path]
) -> None:
    units = json.loads(made[2].read_text(encoding="utf-8"))["units"]
    names = {u.code: u.name for u in read_roster(ROSTER)}
    for field_id in ("gs_ket_qua", "dg_to_chuc_dang"):
        written = [(names[code], r["bieu-so-lieu"].get(field_id)) for code, r in sorted(units.items())]
        expected = "\n".join(f"{name}: {text}" for name, text in written if text)
        cell = book["Số liệu"][cell_of(field_id)]
        assert cell.value == expected
        assert expected.count("\n") >= 1
        assert cell.alignment.vertical == "top"  # read from its first unit when it is clipped
    assert book["Số liệu"][cell_of("dg_to_chuc_dang")].value.startswith(
        "Thành phố Lạng Sơn: 100% chi bộ khu dân cư hoàn thành tốt nhiệm vụ.\n"
    )


def test_the_cover_names_the_province(book: openpyxl.Workbook) -> None:
    ws = book["Thông tin"]
    assert (ws[cell_of("don_vi")].value, ws[cell_of("ma_don_vi")].value) == ("Tỉnh Lạng Sơn", "20")
    assert ws[cell_of("ky_bao_cao")].value == "6 tháng đầu năm 2024"
    assert ws[cell_of("nguoi_lap")].value is None  # who made it: the office fills it in
    meta = {row[0]: row[1] for row in book[META_SHEET].iter_rows(values_only=True) if row[0]}
    assert (meta["unit_code"], meta["unit_name"], meta["units_sheet"]) == ("20", "Tỉnh Lạng Sơn", UNITS_SHEET)


def test_the_units_rows_carry_each_units_figures(
    book: openpyxl.Workbook, made: tuple[Result, Path, Path]
) -> None:
    rows = list(book[UNITS_SHEET].iter_rows(values_only=True))
    header = rows[0]
    assert header[:2] == ("unit_code", "unit_name")
    assert "hoa_giai_ty_le" not in header and "tong_kdc" in header and "don_vi" not in header
    units = json.loads(made[2].read_text(encoding="utf-8"))["units"]
    assert [r[0] for r in rows[1:]] == sorted(units)
    column = header.index("hoa_giai_thanh")
    assert {r[0]: r[column] for r in rows[1:]} == {
        c: u["bieu-so-lieu"]["hoa_giai_thanh"] for c, u in units.items()
    }
    assert sum(r[header.index("tt_so_luot_nguoi")] for r in rows[1:]) == 140278


# ---------------------------------------------------------------------------- the unit


def test_the_rosters_name_and_a_name_given(tmp_path: Path) -> None:
    roster = tmp_path / "don-vi.csv"
    write_roster([*read_roster(ROSTER), Unit("20", "UBMTTQ tỉnh Lạng Sơn", "", "tinh")], roster)
    assert mttq_xlsx.api.rollup_unit("20", roster=roster).name == "UBMTTQ tỉnh Lạng Sơn"
    assert mttq_xlsx.api.rollup_unit("20", "Ủy ban MTTQ Việt Nam tỉnh Lạng Sơn").name == (
        "Ủy ban MTTQ Việt Nam tỉnh Lạng Sơn"
    )
    assert mttq_xlsx.api.rollup_unit("05977").name == "Phường Đông Kinh"
    assert mttq_xlsx.api.rollup_unit("T01", "Ban Thường trực").name == "Ban Thường trực"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rollup", "{out}/t.xlsx"], "Lỗi: --rollup cần đi kèm --as-unit"),
        (["--as-unit", "20"], "Lỗi: --as-unit và --as-unit-name chỉ dùng cùng --rollup"),
        (["--rollup", "{out}/t.xlsx", "--as-unit", "T01"], "Lỗi: Không tìm thấy đơn vị mã “T01”"),
        (["--rollup", "{inbox}/t.xlsx", "--as-unit", "20"], "hộp thư chỉ được đọc"),
    ],
)
def test_usage_errors_before_anything_is_read(tmp_path: Path, args: list[str], message: str) -> None:
    inbox = tmp_path / "hop-thu"
    shutil.copytree(INBOX, inbox)
    given = [a.format(out=tmp_path, inbox=inbox) for a in args]
    result = run("consolidate", inbox, "-o", tmp_path / "th.xlsx", *given)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "th.xlsx").exists() and not (tmp_path / "t.xlsx").exists()


# ---------------------------------------------------------------------------- the cross-level check


def _province_report(folder: Path, values: dict[str, Any]) -> Path:
    """The province's own report filled in by hand (no units carried), as a unit's file."""
    unit = Unit("20", "Tỉnh Lạng Sơn", "", "tinh")
    return write_template(
        TemplateRequest(SPEC, PERIOD, unit, generated_at=AT, values=values), folder / "Tinh Lang Son.xlsx"
    )


@pytest.fixture(scope="module")
def run_totals(made: tuple[Result, Path, Path]) -> dict[str, Any]:
    totals = json.loads(made[2].read_text(encoding="utf-8"))["totals"]["bieu-so-lieu"]
    return {
        f.id: totals[f.id]
        for f in SPEC.fields
        if f.is_input and f.is_numeric and totals.get(f.id) is not None
    }


def test_a_parent_in_the_same_inbox_is_checked_against_its_units(tmp_path: Path, run_totals: dict) -> None:
    inbox = tmp_path / "hop-thu"
    shutil.copytree(INBOX, inbox)
    _province_report(inbox, {**run_totals, "hoa_giai_thanh": 793, "tt_so_cuoc": None})
    roster = tmp_path / "don-vi.csv"
    write_roster([Unit("20", "Tỉnh Lạng Sơn", "", "tinh"), *read_roster(ROSTER)], roster)
    report = tmp_path / "bc.json"
    result = run(
        "consolidate",
        inbox,
        "-o",
        tmp_path / "th.xlsx",
        "--roster",
        roster,
        "--period",
        "2024-6T",
        "--report",
        report,
    )
    assert result.exit_code == 1
    found = {i["field_id"]: i for i in issues(report, "rollup_mismatch")}
    assert set(found) == {"hoa_giai_thanh", "tt_so_cuoc"}
    wrong = found["hoa_giai_thanh"]
    assert (wrong["severity"], wrong["unit_code"], wrong["path"]) == ("error", "20", "Tinh Lang Son.xlsx")
    assert (wrong["sheet"], wrong["cell"]) == ("Số liệu", cell_of("hoa_giai_thanh"))
    assert wrong["message"] == (
        f"Ô Số liệu!{cell_of('hoa_giai_thanh')} (Số vụ hòa giải thành công (tỷ lệ)): Tỉnh Lạng Sơn ghi 793 "
        "nhưng 11 đơn vị trực thuộc (Thành phố Lạng Sơn, Huyện Tràng Định, Huyện Bình Gia, …) cộng lại "
        "được 739, theo báo cáo của các đơn vị trong hộp thư. Hãy sửa số liệu tổng hợp cho khớp, hoặc "
        "kiểm tra lại báo cáo của các đơn vị."
    )
    assert "Tỉnh Lạng Sơn ghi để trống nhưng 11 đơn vị trực thuộc" in found["tt_so_cuoc"]["message"]
    assert "cộng lại được 1.767" in found["tt_so_cuoc"]["message"]
    checks = openpyxl.load_workbook(tmp_path / "th.xlsx")["Kiểm tra"]
    rows = [[c.value for c in row] for row in checks.iter_rows() if row[8].value == "rollup_mismatch"]
    assert sorted((r[2], r[3], r[7]) for r in rows) == [
        ("20", "Tỉnh Lạng Sơn", "hoa_giai_thanh"),
        ("20", "Tỉnh Lạng Sơn", "tt_so_cuoc"),
    ]


def test_a_parent_whose_units_have_not_all_reported_says_so(tmp_path: Path, run_totals: dict) -> None:
    inbox = tmp_path / "hop-thu"
    shutil.copytree(INBOX, inbox)
    (inbox / "Báo cáo Cao Lộc.xlsx").unlink()
    _province_report(inbox, run_totals)
    roster = tmp_path / "don-vi.csv"
    write_roster([Unit("20", "Tỉnh Lạng Sơn", "", "tinh"), *read_roster(ROSTER)], roster)
    result = mttq_xlsx.consolidate(inbox, roster=roster, period="2024-6T")
    found = [i for i in result.issues if i.code == "rollup_mismatch"]
    assert found and all(i.unit_code == "20" for i in found)
    assert all("10 đơn vị trực thuộc" in i.message for i in found)
    assert all("(10/11 đơn vị trực thuộc đã có báo cáo)" in i.message for i in found)


def test_a_report_that_agrees_with_its_units_is_clean(tmp_path: Path, run_totals: dict) -> None:
    inbox = tmp_path / "hop-thu"
    shutil.copytree(INBOX, inbox)
    _province_report(inbox, run_totals)
    roster = tmp_path / "don-vi.csv"
    write_roster([Unit("20", "Tỉnh Lạng Sơn", "", "tinh"), *read_roster(ROSTER)], roster)
    result = mttq_xlsx.consolidate(inbox, roster=roster, period="2024-6T")
    assert [i for i in result.issues if i.code.startswith("rollup")] == []


def test_against_a_report_outside_the_inbox(tmp_path: Path, run_totals: dict) -> None:
    """--against: the inbox holds the units; the report compared is not counted in the totals."""
    report = _province_report(tmp_path, {**run_totals, "kdc_co_to_hoa_giai": 1640})
    result = mttq_xlsx.consolidate(INBOX, roster=ROSTER, period="2024-6T", against=[report])
    (issue,) = [i for i in result.issues if i.code.startswith("rollup")]
    assert (issue.code, issue.field_id, issue.unit_code, issue.path) == (
        "rollup_mismatch",
        "kdc_co_to_hoa_giai",
        "20",
        "Tinh Lang Son.xlsx",
    )
    assert "Tỉnh Lạng Sơn ghi 1.640 nhưng 11 đơn vị trực thuộc" in issue.message and "1.646" in issue.message
    assert result.totals["bieu-so-lieu"]["kdc_co_to_hoa_giai"] == 1646
    assert all(f.unit_code != "20" for f in result.files)


def test_a_unit_counted_under_two_parents(tmp_path: Path) -> None:
    """Two roll-ups carrying the same units (the districts rolled up as Lạng Sơn and again as Cao
    Bằng) in one inbox: each district is counted twice."""
    run_ = mttq_xlsx.consolidate(INBOX, roster=ROSTER, period="2024-6T")
    inbox = tmp_path / "hop-thu"
    mttq_xlsx.write_rollup(run_, inbox / "lang-son.xlsx", "20", generated_at=AT)
    mttq_xlsx.write_rollup(run_, inbox / "cao-bang.xlsx", "04", generated_at=AT)
    result = mttq_xlsx.consolidate(inbox, period="2024-6T")
    double = [i for i in result.issues if i.code == "rollup_double_counted"]
    assert sorted(i.unit_code for i in double) == sorted(s.unit_code for s in run_.submissions)
    issue = next(i for i in double if i.unit_code == "183")
    assert issue.severity == "error"
    assert issue.message.startswith(
        "Đơn vị Huyện Cao Lộc (mã 183) được tính 2 lần: trong báo cáo tổng hợp của Tỉnh Cao Bằng; "
        "trong báo cáo tổng hợp của Tỉnh Lạng Sơn."
    )
    assert [i for i in result.issues if i.code == "rollup_mismatch"] == []


def test_a_unit_counted_directly_and_inside_a_roll_up(tmp_path: Path) -> None:
    run_ = mttq_xlsx.consolidate(INBOX, roster=ROSTER, period="2024-6T")
    inbox = tmp_path / "hop-thu"
    mttq_xlsx.write_rollup(run_, inbox / "lang-son.xlsx", "20", generated_at=AT)
    shutil.copy(INBOX / "Báo cáo Cao Lộc.xlsx", inbox)
    result = mttq_xlsx.consolidate(inbox, period="2024-6T")
    (issue,) = [i for i in result.issues if i.code == "rollup_double_counted"]
    assert (issue.unit_code, issue.path) == ("183", "Báo cáo Cao Lộc.xlsx")
    assert "trong báo cáo tổng hợp của Tỉnh Lạng Sơn; trong báo cáo riêng của đơn vị" in issue.message


# ---------------------------------------------------------------------------- tables (phu-luc-1)

PHU_LUC = load_spec("phu-luc-1")


def _unit_report(
    unit: Unit, folder: Path, documents: int, models: list[tuple[str, str]], period: str = "2024"
) -> Path:
    """A commune's Phụ lục 1 with `documents` rows of Biểu 1 and the models of Biểu 2."""
    groups = PHU_LUC.lists["nhom_van_ban"]
    values: dict[str, Any] = {
        "van_ban.nhom": [groups[i % 3] for i in range(documents)],
        "van_ban.loai": ["Kế hoạch"] * documents,
        "van_ban.so_ky_hieu": [f"{i + 1}/KH-MTTQ" for i in range(documents)],
        "van_ban.ngay_ban_hanh": [datetime(2024, 3, i + 1).date() for i in range(documents)],
        "van_ban.trich_yeu": [f"Kế hoạch số {i + 1} của {unit.name}" for i in range(documents)],
        "mo_hinh_tieu_bieu.ten": [name for name, _ in models],
        "mo_hinh_tieu_bieu.noi_dung": [PHU_LUC.lists["noi_dung"][0]] * len(models),
        "mo_hinh_tieu_bieu.dia_ban": [place or None for _, place in models],
        "so_mo_hinh": len(models),
        "tuyen_truyen_so_cuoc": 3,
        "tuyen_truyen_so_nguoi": 250,
    }
    request = TemplateRequest(PHU_LUC, parse_period(period), unit, generated_at=AT, values=values)
    return write_template(request, folder / f"{unit.code}.xlsx")


@pytest.fixture(scope="module")
def tables(three_units: tuple[Unit, ...], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Three communes with 8 documents each (24 rows, more than the table's 20), rolled up."""
    inbox = tmp_path_factory.mktemp("hop-thu-xa")
    models = [
        [("Đường hoa nông thôn mới", "Thôn Nà Pàn"), ("Vườn mẫu", "")],
        [("Camera an ninh", "Khối 3")],
        [],
    ]
    for unit, own in zip(three_units, models, strict=True):
        _unit_report(unit, inbox, 8, own)
    result = mttq_xlsx.consolidate(inbox, roster=list(three_units), period="2024")
    assert result.exit_status == 0, [i.message for i in result.issues]
    (path,) = mttq_xlsx.write_rollup(
        result, tmp_path_factory.mktemp("len") / "tinh.xlsx", "20", generated_at=AT
    )
    return inbox, path


def test_table_rows_gathered_with_the_unit_named(tables: tuple[Path, Path]) -> None:
    _, path = tables
    checked = mttq_xlsx.check([path])
    assert (checked.exit_status, checked.issues) == (0, [])
    (sub,) = checked.submissions
    summaries = sub.values["van_ban.trich_yeu"]
    assert len(summaries) == 24  # the table grew from 20 rows to hold them all
    assert summaries[0] == "Phường Đông Kinh: Kế hoạch số 1 của Phường Đông Kinh"
    assert summaries[8] == "Xã Đồng Đăng: Kế hoạch số 1 của Xã Đồng Đăng"
    assert sub.values["mo_hinh_tieu_bieu.dia_ban"][:4] == [
        "Phường Đông Kinh: Thôn Nà Pàn",
        "Phường Đông Kinh",
        "Xã Đồng Đăng: Khối 3",
        None,
    ]
    assert sub.values["mo_hinh_tieu_bieu.ten"][:3] == [
        "Đường hoa nông thôn mới",
        "Vườn mẫu",
        "Camera an ninh",
    ]
    # the tallies count the gathered rows: 8 documents per unit, a third of them in each group
    assert (sub.values["so_van_ban_cap_uy"], sub.values["so_van_ban_mttq"]) == (9, 9)
    assert (sub.values["so_mo_hinh"], sub.values["tuyen_truyen_so_nguoi"]) == (3, 750)


def test_a_grown_table_moves_what_follows_it_and_the_map_says_so(tables: tuple[Path, Path]) -> None:
    _, path = tables
    book = openpyxl.load_workbook(path)
    meta = {row[0]: row for row in book[META_SHEET].iter_rows(values_only=True) if row[0]}
    first, last = meta["van_ban.trich_yeu"][3].split(":")
    assert int(last[1:]) - int(first[1:]) + 1 == 24
    tally = book["Biểu 1"][meta["so_van_ban_cap_uy"][3]].value
    assert tally == f'=COUNTIF({meta["van_ban.nhom"][3]},"Văn bản của cấp ủy")'
    template = form_layout(PHU_LUC.forms[0]).positions["so_van_ban_cap_uy"].row + 1
    assert int(meta["so_van_ban_cap_uy"][3][1:]) == template + 4


def test_one_roll_up_per_report_received(three_units: tuple[Unit, ...], tmp_path: Path) -> None:
    inbox = tmp_path / "hop-thu"
    shutil.copytree(INBOX, inbox)
    for unit in three_units:
        _unit_report(unit, inbox, 2, [], period="2024-6T")
    rollup = ["--rollup", tmp_path / "tinh.xlsx", "--as-unit", "20", "--as-unit-name", "UBMTTQ tỉnh"]
    result = run("consolidate", inbox, "-o", tmp_path / "th.xlsx", "--period", "2024-6T", *rollup)
    written = sorted(p.name for p in tmp_path.glob("tinh*.xlsx"))
    assert written == ["tinh_bieu-so-lieu.xlsx", "tinh_phu-luc-1.xlsx"]
    assert f"Báo cáo gửi cấp trên (UBMTTQ tỉnh): {tmp_path / 'tinh_phu-luc-1.xlsx'}" in result.output
    checked = mttq_xlsx.check([tmp_path / name for name in written])
    assert (checked.exit_status, sorted(s.report_id for s in checked.submissions)) == (
        0,
        ["bieu-so-lieu", "phu-luc-1"],
    )
    assert {s.unit_name for s in checked.submissions} == {"UBMTTQ tỉnh"}
