"""The checks on one submission, on values as a reader hands them over (no files involved)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mttq_xlsx.checks import check_submission
from mttq_xlsx.codes import ERROR, WARNING
from mttq_xlsx.layout import form_layout
from mttq_xlsx.model import FileRecord, Submission
from mttq_xlsx.periods import parse_period
from mttq_xlsx.spec import Spec, load_spec

PERIOD = parse_period("2024-6T")


def _cells(report: Spec) -> dict[str, tuple[str, str]]:
    layouts = [form_layout(report.cover, cover=True), *(form_layout(f) for f in report.forms)]
    return {fid: (lay.form.sheet, pos.ref) for lay in layouts for fid, pos in lay.positions.items()}


def _submission(report_id: str, **values: Any) -> Submission:
    report = load_spec(report_id)
    cells = _cells(report)
    raw: dict[str, Any] = {}
    for f in report.fields:
        raw[f.id] = [None] * f.rows if f.table else None
    for key, value in values.items():
        if "__" in key:  # table column and row: van_ban__nhom=[...]
            key = key.replace("__", ".")
        raw[key] = value
    sub = Submission(
        file=FileRecord(path="x.xlsx", sha256=""),
        report_id=report_id,
        spec_version="1",
        period=PERIOD.id,
        unit_code="U1",
        unit_name="Xã A",
        values=raw,
        cells=cells,
    )
    check_submission(sub, report, PERIOD)
    return sub


def _codes(sub: Submission, severity: str | None = None) -> list[tuple[str, str]]:
    return [(i.code, i.field_id) for i in sub.issues if severity in (None, i.severity)]


def test_clean_submission_has_no_issue_and_keeps_blanks_as_none() -> None:
    sub = _submission("bieu-so-lieu", hoa_giai_so_vu=1014.0, hoa_giai_thanh=739.0)
    assert sub.issues == []
    assert sub.values["hoa_giai_so_vu"] == 1014
    assert isinstance(sub.values["hoa_giai_so_vu"], int)
    assert sub.values["tong_kdc"] is None  # blank is not zero
    assert sub.values["hoa_giai_ty_le"] == pytest.approx(739 / 1014)


# 739/1014 = 72,8797%. A ratio is judged at the precision it shows, to one unit of its last digit:
# text at the digits written, a number at the cell's 0,00% (a clerk who types 72,88% into the
# percent cell stores the number 0.7288).
@pytest.mark.parametrize(
    "typed",
    [
        "72,87%",  # text, truncated (as the province report wrote it)
        "72,88%",  # text, rounded
        "73%",  # text without decimals: one percentage point
        "0,7288",  # a fraction as text: four decimals, two of the percent
        0.7288,  # 72,88% typed into the 0,00% cell
        0.7287,  # 72,87% typed into it
    ],
)
def test_ratio_within_one_unit_of_the_last_digit_shown_passes(typed: Any) -> None:
    sub = _submission("bieu-so-lieu", hoa_giai_so_vu=1014, hoa_giai_thanh=739, hoa_giai_ty_le=typed)
    assert "ratio_mismatch" not in [c for c, _ in _codes(sub)]
    assert sub.values["hoa_giai_ty_le"] == pytest.approx(739 / 1014)  # the figure is recomputed


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("72,97%", "72,97%"),
        (0.7297, "72,97%"),  # 72,97% typed into the 0,00% cell
        ("0,7297", "72,97%"),
        (0.73, "73,00%"),  # a number shows 73,00% in the cell: judged at two decimals, unlike "73%"
        (0.7286, "72,86%"),  # two units of the last digit off
    ],
)
def test_ratio_outside_tolerance_fails_naming_the_cell(typed: Any, shown: str) -> None:
    sub = _submission("bieu-so-lieu", hoa_giai_so_vu=1014, hoa_giai_thanh=739, hoa_giai_ty_le=typed)
    issue = next(i for i in sub.issues if i.code == "ratio_mismatch")
    assert issue.severity == ERROR
    assert issue.field_id == "hoa_giai_ty_le"
    assert issue.sheet == "Số liệu" and issue.cell == _cells(load_spec("bieu-so-lieu"))["hoa_giai_ty_le"][1]
    assert f"tỷ lệ ghi {shown} nhưng 739/1.014 = 72,88%" in issue.message


def test_cached_ratio_float_passes() -> None:
    sub = _submission("bieu-so-lieu", hoa_giai_so_vu=1014, hoa_giai_thanh=739, hoa_giai_ty_le=739 / 1014)
    assert sub.issues == []


def test_part_exceeding_whole_is_an_error_and_the_figures_stay() -> None:
    sub = _submission("bieu-so-lieu", khieu_nai_tiep_nhan=10, khieu_nai_giai_quyet=12)
    assert _codes(sub) == [("part_exceeds_whole", "khieu_nai_ty_le")]
    assert sub.values["khieu_nai_giai_quyet"] == 12


@pytest.mark.parametrize(
    ("value", "code", "severity"),
    [
        (-3, "negative", ERROR),
        (2.5, "not_integer", ERROR),
        ("không rõ", "unparseable_number", ERROR),
        ("1.014", "number_as_text", WARNING),
        (date(2024, 3, 1), "not_a_number", ERROR),
        (True, "not_a_number", ERROR),
    ],
)
def test_count_types(value: Any, code: str, severity: str) -> None:
    sub = _submission("bieu-so-lieu", tt_so_cuoc=value)
    assert _codes(sub, severity) == [(code, "tt_so_cuoc")]


def test_vietnamese_text_number_is_read_as_the_number() -> None:
    sub = _submission("bieu-so-lieu", tt_so_cuoc="1.767", kp_cap_xa="3.797,118")
    assert sub.values["tt_so_cuoc"] == 1767
    assert sub.values["kp_cap_xa"] == pytest.approx(3797.118)


def test_amount_accepts_fractions() -> None:
    sub = _submission("bieu-so-lieu", kp_cap_xa=12.5)
    assert sub.issues == []


def test_total_must_equal_its_parts_and_is_filled_when_not_recalculated() -> None:
    wrong = _submission("bieu-so-lieu", kp_cap_huyen=1, kp_cap_xa=2, kp_ban_ctmt=3, kp_tong=7)
    assert _codes(wrong) == [("total_mismatch", "kp_tong")]
    fresh = _submission("bieu-so-lieu", kp_cap_huyen=1, kp_cap_xa=2)
    assert fresh.values["kp_tong"] == 3
    none = _submission("bieu-so-lieu")
    assert none.values["kp_tong"] is None
    xls_blank = _submission("bieu-so-lieu", kp_tong=0.0)  # how LibreOffice's xls stores ""
    assert xls_blank.values["kp_tong"] is None and xls_blank.issues == []


def test_satisfaction_rules_per_category() -> None:
    over = _submission("phu-luc-1", xa_ntm_so_phieu=100, xa_ntm_hai_long=80, xa_ntm_khong_hai_long=30)
    assert ("part_exceeds_whole", "xa_ntm_hai_long") in _codes(over, ERROR)
    under = _submission("phu-luc-1", xa_ntm_so_phieu=100, xa_ntm_hai_long=80, xa_ntm_khong_hai_long=10)
    assert _codes(under) == [("less_than_expected", "xa_ntm_hai_long")]
    assert under.issues[0].severity == WARNING
    assert "phiếu không hợp lệ" in under.issues[0].message


def test_cumulative_must_not_be_below_the_period() -> None:
    sub = _submission("phu-luc-1", phuong_dtvm_dat_chuan=3, phuong_dtvm_luy_ke=2)
    assert _codes(sub, ERROR) == [("less_than_expected", "phuong_dtvm_luy_ke")]


def test_people_without_sessions() -> None:
    sub = _submission("phu-luc-1", tuyen_truyen_so_cuoc=0, tuyen_truyen_so_nguoi=50)
    assert ("missing_required", "tuyen_truyen_so_nguoi") in _codes(sub, ERROR)
    fewer = _submission("phu-luc-1", tuyen_truyen_so_cuoc=10, tuyen_truyen_so_nguoi=5)
    assert _codes(fewer) == [("less_than_expected", "tuyen_truyen_so_nguoi")]


def test_table_rows_need_their_required_cells_and_dates_in_period() -> None:
    rows = 20
    nhom = ["Văn bản của cấp ủy", "Văn bản của cấp ủy"] + [None] * (rows - 2)
    loai = ["Kế hoạch", None] + [None] * (rows - 2)
    ngay = [date(2024, 2, 1), date(2023, 12, 1)] + [None] * (rows - 2)
    sub = _submission("phu-luc-1", van_ban__nhom=nhom, van_ban__loai=loai, van_ban__ngay_ban_hanh=ngay)
    codes = _codes(sub)
    assert ("table_row_incomplete", "van_ban.loai") in codes
    assert ("date_outside_period", "van_ban.ngay_ban_hanh") in codes
    missing = next(i for i in sub.issues if i.code == "table_row_incomplete")
    first = _cells(load_spec("phu-luc-1"))["van_ban.loai"][1].split(":")[0]  # e.g. C7
    assert missing.cell == f"C{int(first[1:]) + 1}"  # the second row of the table
    assert sub.values["so_van_ban_cap_uy"] == 2


def test_list_value_outside_the_dropdown() -> None:
    nhom = ["Văn bản khác"] + [None] * 19
    sub = _submission("phu-luc-1", van_ban__nhom=nhom)
    assert ("not_in_list", "van_ban.nhom") in _codes(sub, ERROR)


def test_listed_models_above_the_count_is_a_warning() -> None:
    ten = ["Mô hình A", "Mô hình B", "Mô hình C"] + [None] * 12
    sub = _submission("phu-luc-1", so_mo_hinh=2, mo_hinh_tieu_bieu__ten=ten)
    assert _codes(sub) == [("part_exceeds_whole", "so_mo_hinh")]
    assert sub.issues[0].severity == WARNING


def test_phone_typed_as_number_becomes_text() -> None:
    sub = _submission("bieu-so-lieu", dien_thoai=912345678.0)
    assert sub.values["dien_thoai"] == "912345678"
