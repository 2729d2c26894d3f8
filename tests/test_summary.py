"""Tests for mttq_xlsx.summary: the summary workbook, reopened with openpyxl and calamine."""

from __future__ import annotations

import dataclasses
import errno
import os
import signal
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from mttq_xlsx import consolidate, summary, write_summary
from mttq_xlsx.codes import ERROR, IGNORED, REJECTED, SUPERSEDED, WARNING
from mttq_xlsx.consolidation import Consolidation
from mttq_xlsx.errors import OutputError, UsageError
from mttq_xlsx.model import FileRecord, Issue, Submission
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import Unit, read_roster
from mttq_xlsx.spec import load_spec
from mttq_xlsx.summary import contents as summary_contents
from mttq_xlsx.summary import per_unit_sheets, sheet_name
from mttq_xlsx.summary import rows as summary_rows
from mttq_xlsx.summary.rows import COMMENT_OPTIONS, Link, write_cells

BSL, PL1 = "bieu-so-lieu", "phu-luc-1"
INJECTED_NAME = '=HYPERLINK("http://example.invalid","Xã Hữu Lũng")'
INJECTED_TEXT = "=SUM(A1:A9) cuộc, đạt yêu cầu"
ROSTER = [
    Unit("00001", "Xã Tân Thanh", "", "xa"),
    Unit("00002", "Phường Đông Kinh", "", "phuong"),
    Unit("00003", INJECTED_NAME, "", "xa"),
    Unit("00004", "Xã Mẫu Sơn", "", "xa"),
]
NAMES = {u.code: u.name for u in ROSTER}

BSL_VALUES: dict[str, dict[str, Any]] = {
    "00001": {
        "tong_kdc": 100,
        "kdc_noi_sinh_hoat": 80,
        "gs_dtcd_so_cuoc": 3,
        "gs_ket_qua": "Tốt",
        "khieu_nai_tiep_nhan": 10,
        "khieu_nai_giai_quyet": 8,
        "kdc_co_to_hoa_giai": 90,
        "hoa_giai_so_to": 12,
        "hoa_giai_so_vu": 500,
        "hoa_giai_thanh": 400,
        "hoa_giai_ty_le": 0.8,
        "dien_thoai": "+84 912 345 678",
    },
    "00002": {
        "tong_kdc": 50,
        "kdc_noi_sinh_hoat": 50,
        "gs_dtcd_so_cuoc": 2,
        "khieu_nai_tiep_nhan": 5,
        "khieu_nai_giai_quyet": 7,
        "kdc_co_to_hoa_giai": 50,
        "hoa_giai_so_to": 6,
        "hoa_giai_so_vu": 514,
        "hoa_giai_thanh": 339,
    },
    "00003": {
        "tong_kdc": 30,
        "gs_dtcd_so_cuoc": 4,
        "gs_ket_qua": INJECTED_TEXT,
        "kdc_co_to_hoa_giai": "khoảng 20",
        "hoa_giai_so_to": None,
        "hoa_giai_so_vu": None,
        "hoa_giai_thanh": None,
    },
}
PL1_VALUES: dict[str, Any] = {
    "van_ban.nhom": ["Văn bản của cấp ủy", "Văn bản hướng dẫn của MTTQ", None],
    "van_ban.loai": ["Nghị quyết", "Hướng dẫn", None],
    "van_ban.so_ky_hieu": ["05-NQ/ĐU", "=12/HD-MTTQ", None],
    "van_ban.ngay_ban_hanh": [date(2024, 3, 15), date(2024, 4, 1), None],
    "van_ban.trich_yeu": ["Về xây dựng nông thôn mới", "Hướng dẫn triển khai", None],
    "so_van_ban_cap_uy": 1,
    "so_van_ban_mttq": 1,
    "tuyen_truyen_so_cuoc": 5,
    "tuyen_truyen_so_nguoi": 300,
}


def _file(path: str, report_id: str, code: str, **kw: Any) -> FileRecord:
    return FileRecord(
        path=path,
        sha256=f"{abs(hash(path)):064x}"[:64],
        report_id=report_id,
        unit_code=code,
        unit_name=NAMES.get(code, ""),
        period="2024-6T",
        saved_at=kw.pop("saved_at", datetime(2024, 6, 5, 9, 30)),
        **kw,
    )


def _submission(file: FileRecord, values: dict[str, Any]) -> Submission:
    report = load_spec(file.report_id)
    cells = {
        f.id: ("Số liệu" if file.report_id == BSL else "Biểu 1", f"D{10 + n}")
        for n, f in enumerate(report.fields)
    }
    return Submission(
        file=file,
        report_id=file.report_id,
        spec_version="1",
        period="2024-6T",
        unit_code=file.unit_code,
        unit_name=file.unit_name,
        values=dict(values),
        cells=cells,
    )


def make_result(*, issues: bool = True, roster: bool = True) -> Consolidation:
    files = [
        _file("hop-thu/00001-so-lieu.xlsx", BSL, "00001"),
        _file("hop-thu/00001-phu-luc-1.xlsx", PL1, "00001"),
        _file("hop-thu/00002-so-lieu.xlsx", BSL, "00002", late=True, saved_at=datetime(2024, 6, 12, 16, 45)),
        _file(
            "hop-thu/00002-cu.xlsx",
            BSL,
            "00002",
            status=SUPERSEDED,
            reason="duplicate_superseded",
            message="Đã có bản mới hơn của đơn vị này.",
        ),
        _file("hop-thu/00003-so-lieu.xls", BSL, "00003"),
        _file(
            "hop-thu/hong.xlsx",
            "",
            "",
            status=REJECTED,
            reason="corrupt_file",
            message="Tệp bị hỏng, không mở được.",
            saved_at=None,
        ),
        _file(
            "hop-thu/ghi-chu.docx",
            "",
            "",
            status=IGNORED,
            reason="not_a_workbook",
            message="Không phải tệp bảng tính.",
            saved_at=None,
        ),
    ]
    by_path = {f.path: f for f in files}
    subs = [
        _submission(by_path["hop-thu/00001-so-lieu.xlsx"], BSL_VALUES["00001"]),
        _submission(by_path["hop-thu/00002-so-lieu.xlsx"], BSL_VALUES["00002"]),
        _submission(by_path["hop-thu/00003-so-lieu.xls"], BSL_VALUES["00003"]),
        _submission(by_path["hop-thu/00001-phu-luc-1.xlsx"], PL1_VALUES),
    ]
    found = [
        Issue(
            ERROR,
            "hop-thu/00002-so-lieu.xlsx",
            "part_exceeds_whole",
            "Số đơn đã giải quyết (7) lớn hơn số đơn tiếp nhận (5).",
            "00002",
            "so-lieu",
            "khieu_nai_giai_quyet",
            "Số liệu",
            "D40",
        ),
        Issue(
            WARNING,
            "hop-thu/00001-so-lieu.xlsx",
            "ratio_mismatch",
            "Tỷ lệ ghi 80,00% khác 400/500.",
            "00001",
            "so-lieu",
            "hoa_giai_ty_le",
            "Số liệu",
            "E52",
        ),
        Issue(
            ERROR,
            "hop-thu/00003-so-lieu.xls",
            "unparseable_number",
            "“khoảng 20” không phải là số.",
            "00003",
            "so-lieu",
            "kdc_co_to_hoa_giai",
            "Số liệu",
            "D47",
        ),
        Issue(ERROR, "hop-thu/hong.xlsx", "corrupt_file", "Tệp bị hỏng, không mở được."),
    ]
    return Consolidation(
        period=parse_period("2024-6T"),
        files=files,
        issues=found if issues else [],
        submissions=subs,
        roster=ROSTER if roster else [],
    )


CONTENT_SHEETS = [
    "I. Số liệu chung",
    "II.1 Kinh tế, giảm nghèo",
    "II.2 Văn hóa, y tế",
    "II.3 Môi trường",
    "II.4 Pháp luật, ANTT",
    "II.5 Dân chủ, giám sát",
    "Biểu 1",
    "Biểu 2",
    "Biểu 3",
    "Biểu 4",
    "Biểu 5",
]
UNIT_SHEET_INJECTED = sheet_name(INJECTED_NAME, set())


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_summary(make_result(), tmp_path_factory.mktemp("sum") / "tong-hop.xlsx")


@pytest.fixture(scope="module")
def wb(written: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(written)


@pytest.fixture(scope="module")
def values(written: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(written, data_only=True)


@pytest.fixture(scope="module")
def rows_mode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("rows") / "tong-hop.xlsx"
    return write_summary(make_result(), target, unit_sheets_limit=2)


def find_row(ws: Any, col: int, text: str) -> int:
    """The 1-based row whose column `col` (1-based) holds `text`."""
    for row in range(1, ws.max_row + 1):
        if ws.cell(row, col).value == text:
            return row
    raise AssertionError(f"{text!r} not found in column {col} of {ws.title}")


def header_map(ws: Any, row: int) -> dict[str, int]:
    return {c.value: c.column for c in ws[row] if c.value}


# ---------------------------------------------------------------------------- structure


def test_sheet_names_in_order(wb: openpyxl.Workbook) -> None:
    assert wb.sheetnames == [
        "Tổng hợp",
        "Tiến độ",
        "Kiểm tra",
        "Số liệu báo cáo",
        "Biểu đồ",  # "So sánh" comes before it only with a previous period
        *CONTENT_SHEETS,
        "Xã Tân Thanh",
        "Phường Đông Kinh",
        UNIT_SHEET_INJECTED,
        "Nguồn",
    ]


def test_calamine_reads_the_same_sheets(written: Path) -> None:
    book = CalamineWorkbook.from_path(str(written))
    assert book.sheet_names[:3] == ["Tổng hợp", "Tiến độ", "Kiểm tra"]
    rows = book.get_sheet_by_name("Tổng hợp").to_python(skip_empty_area=False)
    assert rows[0][0] == "BẢNG TỔNG HỢP SỐ LIỆU"
    assert any("6 tháng đầu năm 2024" in str(r[0]) for r in rows[:3])


def test_font_is_times_new_roman(wb: openpyxl.Workbook) -> None:
    ws = wb["Tổng hợp"]
    assert ws["A1"].font.name == "Times New Roman"
    assert ws.cell(find_row(ws, 2, "Số vụ hòa giải"), 2).font.name == "Times New Roman"


def test_output_is_reproducible(tmp_path: Path) -> None:
    first = write_summary(make_result(), tmp_path / "a.xlsx").read_bytes()
    second = write_summary(make_result(), tmp_path / "b.xlsx").read_bytes()
    assert first == second
    props = openpyxl.load_workbook(tmp_path / "a.xlsx").properties
    assert props.created == datetime(2024, 6, 30)


def test_every_sheet_has_a_frozen_header_and_print_setup(wb: openpyxl.Workbook) -> None:
    for ws in wb.worksheets:
        assert ws.freeze_panes, ws.title
        assert ws.print_title_rows, ws.title
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.paperSize == 9, ws.title
        header = ws.cell(int(ws.print_title_rows.split(":")[0].strip("$")), 1)
        assert header.font.b and header.border.top.style == "thin", ws.title
        assert header.fill.fgColor.rgb.endswith("D9E1F2"), ws.title


def fits_to_width(ws: Any) -> bool:
    fit = bool(ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage)
    return fit and ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0


def test_tables_fit_to_width_unless_too_wide_to_read(wb: openpyxl.Workbook) -> None:
    for name in ["Tổng hợp", "Tiến độ", "Kiểm tra", "Nguồn", "II.3 Môi trường", "Biểu 3", "Xã Tân Thanh"]:
        assert fits_to_width(wb[name]), name
    # 20 columns would print at a quarter size: 60 % over pages, unit columns on each page
    wide = wb["II.5 Dân chủ, giám sát"]
    assert not fits_to_width(wide)
    assert wide.page_setup.scale == 60
    assert wide.print_title_cols == "$A:$C"


# ---------------------------------------------------------------------------- Tổng hợp


def test_totals_sheet_ratio_text_and_value(values: openpyxl.Workbook) -> None:
    ws = values["Tổng hợp"]
    header = find_row(ws, 1, "STT")
    assert [c.value for c in ws[header]] == [
        "STT",
        "Nội dung",
        "Đơn vị tính",
        "Tổng số",
        "Tỷ lệ / diễn giải",
        "Số đơn vị báo cáo",
    ]
    row = find_row(ws, 2, "Tỷ lệ hòa giải thành công")
    assert ws.cell(row, 5).value == "739/1.014 = 72,88%"
    assert ws.cell(row, 4).value == pytest.approx(739 / 1014)
    assert ws.cell(row, 4).number_format == "0.00%"
    assert ws.cell(row, 6).value == "2/3"
    row = find_row(ws, 2, "Số vụ hòa giải thành công (tỷ lệ)")
    assert ws.cell(row, 4).value == 739
    assert ws.cell(row, 5).value is None


def test_totals_sheet_field_nobody_reported(values: openpyxl.Workbook) -> None:
    ws = values["Tổng hợp"]
    row = find_row(ws, 2, "Số phát sinh tệ nạn xã hội tại cộng đồng")
    assert ws.cell(row, 4).value is None  # blank, not 0
    assert ws.cell(row, 6).value == "0/3"
    row = find_row(ws, 2, "Số mô hình bảo vệ an ninh Tổ quốc")
    assert ws.cell(row, 4).value is None
    assert ws.cell(row, 6).value == "0/3"


def test_totals_sheet_has_no_text_or_table_fields(values: openpyxl.Workbook) -> None:
    ws = values["Tổng hợp"]
    labels = {ws.cell(r, 2).value for r in range(1, ws.max_row + 1)}
    assert "Kết quả giám sát" not in labels  # text
    assert "Nhóm văn bản" not in labels  # table column
    assert "Số văn bản của cấp ủy trong triển khai Cuộc vận động" in labels  # tally
    row = find_row(ws, 2, "Số văn bản của cấp ủy trong triển khai Cuộc vận động")
    assert ws.cell(row, 6).value == "1/1"


def test_totals_sheet_blocks_per_report_and_content(values: openpyxl.Workbook) -> None:
    ws = values["Tổng hợp"]
    column_a = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1)]
    titles = [
        load_spec(BSL).title,
        "II.5. Phát huy dân chủ, giám sát và phản biện xã hội",
        load_spec(PL1).title,
        "Biểu 5: Kết quả lấy ý kiến sự hài lòng của người dân",
    ]
    positions = [column_a.index(t) for t in titles]
    assert positions == sorted(positions)


# ---------------------------------------------------------------------------- content sheets


def test_content_sheet_totals_are_live_sums(wb: openpyxl.Workbook, values: openpyxl.Workbook) -> None:
    ws, wv = wb["II.5 Dân chủ, giám sát"], values["II.5 Dân chủ, giám sát"]
    header = find_row(ws, 1, "STT")
    cols = header_map(ws, header)
    assert [ws.cell(header, c).value for c in (1, 2, 3)] == ["STT", "Mã đơn vị", "Tên đơn vị"]
    assert [ws.cell(r, 2).value for r in range(header + 1, header + 4)] == [
        "00001",
        "00002",
        "00003",
    ]
    total = find_row(ws, 3, "Tổng cộng")
    assert total == header + 4
    expected = {
        "Số cuộc giám sát của Ban Giám sát đầu tư cộng đồng (cuộc)": 9,
        "Số vụ hòa giải (vụ)": 1014,
        "Số vụ hòa giải thành công (tỷ lệ) (vụ)": 739,
        "Số tổ hòa giải (tổ)": 18,
        "Số khu dân cư có tổ hòa giải (tỷ lệ/tổng số khu dân cư) (KDC)": 140,
    }
    for title, value in expected.items():
        col = cols[title]
        letter = ws.cell(total, col).column_letter
        assert ws.cell(total, col).value == f"=SUM({letter}{header + 1}:{letter}{header + 3})"
        assert wv.cell(total, col).value == value


def test_content_sheet_ratio_total_formula(wb: openpyxl.Workbook, values: openpyxl.Workbook) -> None:
    ws, wv = wb["II.5 Dân chủ, giám sát"], values["II.5 Dân chủ, giám sát"]
    header = find_row(ws, 1, "STT")
    cols = header_map(ws, header)
    col = cols["Tỷ lệ hòa giải thành công (%)"]
    num = get_column_letter(cols["Số vụ hòa giải thành công (tỷ lệ) (vụ)"])
    den = get_column_letter(cols["Số vụ hòa giải (vụ)"])
    total = find_row(ws, 3, "Tổng cộng")
    a, b = header + 1, header + 3
    assert ws.cell(total, col).value == (
        f'=IF(SUM({den}{a}:{den}{b})=0,"",SUM({num}{a}:{num}{b})/SUM({den}{a}:{den}{b}))'
    )
    assert wv.cell(total, col).value == pytest.approx(739 / 1014)
    # per unit: its own ratio, blank when it gave no denominator
    assert wv.cell(header + 1, col).value == pytest.approx(0.8)
    assert wv.cell(header + 2, col).value == pytest.approx(339 / 514)
    assert wv.cell(header + 3, col).value is None


def test_ratio_parts_from_another_content_are_repeated(
    wb: openpyxl.Workbook, values: openpyxl.Workbook
) -> None:
    ws, wv = wb["II.2 Văn hóa, y tế"], values["II.2 Văn hóa, y tế"]
    header = find_row(ws, 1, "STT")
    titles = [ws.cell(header, c).value for c in range(1, ws.max_column + 1)]
    ratio = titles.index("Tỷ lệ khu dân cư có nơi sinh hoạt cộng đồng (%)")
    assert titles[ratio + 1].startswith("Tổng số khu dân cư")
    assert titles[ratio + 1].endswith("nhắc lại để tính tỷ lệ")
    den_col = ratio + 2  # 1-based
    assert [wv.cell(r, den_col).value for r in range(header + 1, header + 4)] == [100, 50, 30]
    total = find_row(ws, 3, "Tổng cộng")
    formula = ws.cell(total, ratio + 1).value
    assert formula.startswith("=IF(SUM(") and "!" not in formula
    assert wv.cell(total, ratio + 1).value == pytest.approx(130 / 180)


def test_none_is_blank_and_text_stays_text(wb: openpyxl.Workbook) -> None:
    ws = wb["II.5 Dân chủ, giám sát"]
    header = find_row(ws, 1, "STT")
    cols = header_map(ws, header)
    u3 = header + 3
    assert ws.cell(u3, cols["Số tổ hòa giải (tổ)"]).value is None
    cell = ws.cell(u3, cols["Kết quả giám sát"])
    assert cell.value == INJECTED_TEXT and cell.data_type == "s"
    name = ws.cell(u3, 3)
    assert name.value == INJECTED_NAME and name.data_type == "s"
    unparsed = ws.cell(u3, cols["Số khu dân cư có tổ hòa giải (tỷ lệ/tổng số khu dân cư) (KDC)"])
    assert unparsed.value == "khoảng 20" and unparsed.data_type == "s"


def test_injected_text_is_text_for_calamine(written: Path) -> None:
    sheet = CalamineWorkbook.from_path(str(written)).get_sheet_by_name("II.5 Dân chủ, giám sát")
    cells = [c for row in sheet.to_python() for c in row]
    assert INJECTED_TEXT in cells
    assert INJECTED_NAME in cells


def test_issue_cells_have_fill_and_comment(wb: openpyxl.Workbook) -> None:
    ws = wb["II.5 Dân chủ, giám sát"]
    header = find_row(ws, 1, "STT")
    cols = header_map(ws, header)
    error = ws.cell(header + 2, cols["Phối hợp giải quyết khiếu nại — số đơn đã giải quyết (tỷ lệ) (đơn)"])
    assert error.value == 7
    assert "lớn hơn số đơn tiếp nhận" in error.comment.text
    assert error.fill.fgColor.rgb.endswith("FFC7CE")
    warning = ws.cell(header + 1, cols["Tỷ lệ hòa giải thành công (%)"])
    assert "khác 400/500" in warning.comment.text
    assert warning.fill.fgColor.rgb.endswith("FFEB9C")
    clean = ws.cell(header + 1, cols["Số vụ hòa giải (vụ)"])
    assert clean.comment is None
    assert clean.fill.fgColor.rgb in (None, "00000000")


def test_content_sheet_frozen_filtered_and_readable(wb: openpyxl.Workbook) -> None:
    ws = wb["II.5 Dân chủ, giám sát"]
    header = find_row(ws, 1, "STT")
    assert ws.freeze_panes == f"D{header + 1}"
    assert ws.auto_filter.ref == f"A{header}:{ws.cell(header, ws.max_column).column_letter}{header + 3}"
    assert ws.print_title_rows == f"${header}:${header}"
    assert ws.column_dimensions["C"].width >= 30
    assert ws.column_dimensions["D"].width >= 14
    assert ws.cell(header, 4).alignment.wrap_text
    assert ws.cell(header, 4).font.b


def test_table_rows_listed_below_totals(wb: openpyxl.Workbook) -> None:
    ws = wb["Biểu 1"]
    title = find_row(ws, 1, "Các văn bản thực hiện Cuộc vận động (mỗi văn bản một dòng)")
    assert title > find_row(ws, 3, "Tổng cộng")
    cols = header_map(ws, title + 1)
    assert list(cols)[:4] == ["STT", "Mã đơn vị", "Tên đơn vị", "Nhóm văn bản"]
    listed = [[ws.cell(r, c).value for c in cols.values()] for r in (title + 2, title + 3)]
    assert listed[0][:5] == [1, "00001", "Xã Tân Thanh", "Văn bản của cấp ủy", "Nghị quyết"]
    assert listed[0][6] == datetime(2024, 3, 15)
    assert listed[1][5] == "=12/HD-MTTQ" and ws.cell(title + 3, 6).data_type == "s"
    assert ws.cell(title + 4, 2).value is None  # the empty third row is not listed


# ---------------------------------------------------------------------------- Tiến độ


def test_progress_sheet(wb: openpyxl.Workbook) -> None:
    ws = wb["Tiến độ"]
    assert any(ws.cell(r, 1).value == "Đã nhận 3/4 đơn vị; chưa nộp: 1; nộp muộn: 1" for r in (1, 2, 3))
    header = find_row(ws, 1, "STT")
    assert [c.value for c in ws[header]] == [
        "STT",
        "Mã đơn vị",
        "Tên đơn vị",
        "Báo cáo",
        "Tình trạng",
        "Đúng hạn",
        "Tệp",
        "Thời điểm lưu",
    ]
    rows = [[c.value for c in ws[r]] for r in range(header + 1, ws.max_row + 1)]
    assert [(r[1], r[4], r[5]) for r in rows] == [
        ("00001", "Đã nộp", "Đúng hạn"),
        ("00001", "Đã nộp", "Đúng hạn"),
        ("00002", "Đã nộp", "Nộp muộn"),
        ("00003", "Đã nộp", "Đúng hạn"),
        ("00004", "Chưa nộp", None),
    ]
    assert rows[0][3] == "Biểu số liệu" and rows[1][3] == "Phụ lục 1 (Biểu 1–5)"
    assert rows[2][6] == "hop-thu/00002-so-lieu.xlsx"
    assert rows[2][7] == datetime(2024, 6, 12, 16, 45)
    rules = {
        rule.formula[0]: rule.dxf.fill.bgColor.rgb for cf in ws.conditional_formatting for rule in cf.rules
    }
    assert any('"Chưa nộp"' in f and rgb.endswith("FFC7CE") for f, rgb in rules.items())
    assert any('"Nộp muộn"' in f and rgb.endswith("F8CBAD") for f, rgb in rules.items())
    assert ws.auto_filter.ref == f"A{header}:H{header + 5}"


def test_progress_links_to_unit_sheets(wb: openpyxl.Workbook) -> None:
    ws = wb["Tiến độ"]
    header = find_row(ws, 1, "STT")
    links = {ws.cell(r, 2).value: ws.cell(r, 3).hyperlink for r in range(header + 1, ws.max_row + 1)}
    assert links["00001"].location == "'Xã Tân Thanh'!A1"
    assert links["00003"].location == f"'{UNIT_SHEET_INJECTED}'!A1"
    assert links["00004"] is None
    back = wb["Xã Tân Thanh"]
    assert any(
        c.hyperlink and c.hyperlink.location == "'Tiến độ'!A1"
        for row in back.iter_rows(max_row=5)
        for c in row
    )


def test_progress_without_roster_lists_submitting_units(tmp_path: Path) -> None:
    path = write_summary(make_result(roster=False), tmp_path / "s.xlsx")
    ws = openpyxl.load_workbook(path)["Tiến độ"]
    header = find_row(ws, 1, "STT")
    codes = [ws.cell(r, 2).value for r in range(header + 1, ws.max_row + 1)]
    assert codes == ["00001", "00001", "00002", "00003"]


# ---------------------------------------------------------------------------- Kiểm tra, Nguồn


def test_checks_sheet(wb: openpyxl.Workbook) -> None:
    ws = wb["Kiểm tra"]
    header = find_row(ws, 1, "STT")
    assert [c.value for c in ws[header]] == [
        "STT",
        "Mức độ",
        "Mã đơn vị",
        "Tên đơn vị",
        "Tệp",
        "Trang tính",
        "Ô",
        "Trường",
        "Mã lỗi",
        "Nội dung",
    ]
    rows = [[c.value for c in ws[r]] for r in range(header + 1, ws.max_row + 1)]
    assert len(rows) == 4
    assert rows[0][:9] == [
        1,
        "Lỗi",
        "00002",
        "Phường Đông Kinh",
        "hop-thu/00002-so-lieu.xlsx",
        "Số liệu",
        "D40",
        "khieu_nai_giai_quyet",
        "part_exceeds_whole",
    ]
    assert rows[1][1] == "Cảnh báo" and rows[1][6] == "E52"
    assert rows[3][1:4] == ["Lỗi", None, None] and rows[3][8] == "corrupt_file"
    formulas = [r.formula[0] for cf in ws.conditional_formatting for r in cf.rules]
    assert any('"Lỗi"' in f for f in formulas) and any('"Cảnh báo"' in f for f in formulas)


def test_checks_sheet_without_issues(tmp_path: Path) -> None:
    path = write_summary(make_result(issues=False), tmp_path / "s.xlsx")
    ws = openpyxl.load_workbook(path)["Kiểm tra"]
    header = find_row(ws, 1, "STT")
    assert ws.cell(header + 1, 1).value == "Không có lỗi"
    assert ws.max_row == header + 1


def test_sources_sheet(wb: openpyxl.Workbook) -> None:
    ws = wb["Nguồn"]
    header = find_row(ws, 1, "STT")
    assert [c.value for c in ws[header]] == [
        "STT",
        "Tệp",
        "SHA-256",
        "Tình trạng",
        "Mã lý do",
        "Lý do",
        "Báo cáo",
        "Mã đơn vị",
        "Tên đơn vị",
        "Kỳ",
        "Thời điểm lưu",
    ]
    rows = [[c.value for c in ws[r]] for r in range(header + 1, ws.max_row + 1)]
    result = make_result()
    assert [r[1] for r in rows] == [f.path for f in result.files]
    assert [r[2] for r in rows] == [f.sha256 for f in result.files]
    assert [r[3] for r in rows] == [
        "Đã nhận",
        "Đã nhận",
        "Đã nhận",
        "Bị thay thế",
        "Đã nhận",
        "Bị loại",
        "Bỏ qua",
    ]
    assert rows[3][4] == "duplicate_superseded"
    assert rows[5][5] == "Tệp bị hỏng, không mở được."
    assert rows[0][6:10] == ["Biểu số liệu", "00001", "Xã Tân Thanh", "2024-6T"]


# ---------------------------------------------------------------------------- per-unit figures


def test_unit_sheet_shows_the_report_as_submitted(wb: openpyxl.Workbook) -> None:
    ws = wb["Phường Đông Kinh"]
    header = find_row(ws, 1, "Nội dung")
    assert [c.value for c in ws[header]] == [
        "Nội dung",
        "Đơn vị tính",
        "Giá trị",
        "Ô trong tệp",
        "Ghi chú",
    ]
    row = find_row(ws, 1, "Phối hợp giải quyết khiếu nại — số đơn đã giải quyết (tỷ lệ)")
    assert ws.cell(row, 2).value == "đơn"
    assert ws.cell(row, 3).value == 7
    assert ws.cell(row, 4).value.startswith("Số liệu!D")
    assert "lớn hơn số đơn tiếp nhận" in ws.cell(row, 5).value
    row = find_row(ws, 1, "Tổng số hộ gia đình")
    assert ws.cell(row, 3).value is None


def test_unit_sheet_holds_both_reports(wb: openpyxl.Workbook) -> None:
    ws = wb["Xã Tân Thanh"]
    column_a = [ws.cell(r, 1).value or "" for r in range(1, ws.max_row + 1)]
    first = next(i for i, t in enumerate(column_a) if t.startswith(load_spec(BSL).title))
    second = next(i for i, t in enumerate(column_a) if t.startswith(load_spec(PL1).title))
    assert first < second
    phone = ws.cell(find_row(ws, 1, "Số điện thoại"), 3)
    assert phone.value == "+84 912 345 678" and phone.data_type == "s"


def test_rows_mode_above_the_limit(rows_mode: Path) -> None:
    wb = openpyxl.load_workbook(rows_mode)
    assert wb.sheetnames == [
        "Tổng hợp",
        "Tiến độ",
        "Kiểm tra",
        "Số liệu báo cáo",
        "Biểu đồ",
        *CONTENT_SHEETS,
        "Đơn vị",
        "Nguồn",
    ]
    notes = [wb["Tổng hợp"].cell(r, 1).value for r in range(1, 6)]
    assert (
        "Có 3 đơn vị: thay vì mỗi đơn vị một trang, số liệu từng đơn vị là một dòng ở trang từng "
        "nội dung; trang Đơn vị liệt kê các đơn vị kèm liên kết."
    ) in notes
    units = wb["Đơn vị"]
    header = find_row(units, 1, "Mã đơn vị")
    assert [c.value for c in units[header]][:6] == [
        "Mã đơn vị",
        "Tên đơn vị",
        "Báo cáo",
        "Tệp",
        "Lỗi",
        "Cảnh báo",
    ]
    progress = wb["Tiến độ"]
    p_header = find_row(progress, 1, "STT")
    targets = {}
    for r in range(p_header + 1, progress.max_row + 1):
        link = progress.cell(r, 3).hyperlink
        if link is not None:
            targets[progress.cell(r, 2).value] = link.location
    assert set(targets) == {"00001", "00002", "00003"}
    for code, location in targets.items():
        sheet, cell = location.split("!")
        assert sheet == "'Đơn vị'"
        assert units.cell(int(cell.removeprefix("A")), 1).value == code
    # every unit's "Xem" link lands on its own row of the content sheet
    column = [c.value for c in units[header]].index("II.5 Dân chủ, giám sát") + 1
    for r in range(header + 1, units.max_row + 1):
        code = units.cell(r, 1).value
        link = units.cell(r, column).hyperlink
        if code is None or link is None:
            continue
        sheet, cell = link.location.split("!")
        target = wb[sheet.strip("'")]
        assert target.cell(int(cell.removeprefix("A")), 2).value == code
    row = next(r for r in range(header + 1, units.max_row + 1) if units.cell(r, 1).value == "00002")
    assert units.cell(row, 5).value >= 1  # its error is counted


def test_rows_mode_keeps_the_content_sheets(rows_mode: Path) -> None:
    """Rows mode writes in constant_memory: nothing written out of order may be lost."""
    wb = openpyxl.load_workbook(rows_mode)
    wv = openpyxl.load_workbook(rows_mode, data_only=True)
    ws = wb["II.5 Dân chủ, giám sát"]
    header = find_row(ws, 1, "STT")
    total = find_row(ws, 3, "Tổng cộng")
    assert ws.cell(total, 4).value == f"=SUM(D{header + 1}:D{header + 3})"
    assert wv["II.5 Dân chủ, giám sát"].cell(total, 4).value == 9
    row = find_row(wv["Tổng hợp"], 2, "Tỷ lệ hòa giải thành công")
    assert wv["Tổng hợp"].cell(row, 5).value == "739/1.014 = 72,88%"
    assert wb["II.5 Dân chủ, giám sát"].freeze_panes == f"D{header + 1}"
    cols = header_map(ws, header)
    error = ws.cell(header + 2, cols["Phối hợp giải quyết khiếu nại — số đơn đã giải quyết (tỷ lệ) (đơn)"])
    assert error.value == 7 and "lớn hơn số đơn tiếp nhận" in error.comment.text
    cell = ws.cell(header + 3, cols["Kết quả giám sát"])
    assert cell.value == INJECTED_TEXT and cell.data_type == "s"


@pytest.mark.parametrize(
    ("mode", "limit", "expected"),
    [("auto", 3, True), ("auto", 2, False), ("sheets", 1, True), ("rows", 200, False)],
)
def test_per_unit_modes(mode: str, limit: int, expected: bool) -> None:
    assert per_unit_sheets(make_result(), mode, limit) is expected


def test_unknown_per_unit_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="không hợp lệ"):
        write_summary(make_result(), tmp_path / "s.xlsx", per_unit="pages")
    assert not (tmp_path / "s.xlsx").exists()


def test_forced_rows_mode(tmp_path: Path) -> None:
    path = write_summary(make_result(), tmp_path / "s.xlsx", per_unit="rows")
    assert "Đơn vị" in openpyxl.load_workbook(path).sheetnames


# ---------------------------------------------------------------------------- sheet names


@pytest.mark.parametrize(
    ("text", "taken", "expected"),
    [
        ("Xã Tân Thanh", set(), "Xã Tân Thanh"),
        ("Xã A/B [cũ]: *?", set(), "Xã A B cũ"),
        ("Ủy ban MTTQ Việt Nam thị trấn Đồng Đăng", set(), "Ủy ban MTTQ Việt Nam thị trấn Đ"),
        ("Xã Tân Thanh", set(), "Xã Tân Thanh"),  # decomposed accents are composed
        ("Xã Tân Thanh", {"xã tân thanh"}, "Xã Tân Thanh (2)"),
        ("Tổng hợp", {"tổng hợp", "tổng hợp (2)"}, "Tổng hợp (3)"),
        ("'Xã'", set(), "Xã"),
        ("///", set(), "Trang"),
        ("Xã " + "😀" * 20, set(), "Xã " + "😀" * 14),  # Excel counts UTF-16 units
    ],
)
def test_sheet_name(text: str, taken: set[str], expected: str) -> None:
    name = sheet_name(text, taken)
    assert name == expected
    assert len(name) <= 31
    assert name.casefold() in taken


def test_units_with_the_same_name_get_distinct_sheets(tmp_path: Path) -> None:
    result = make_result()
    twin = result.submissions[1]
    result.submissions[1] = dataclasses.replace(twin, unit_name="Xã Tân Thanh")
    wb = openpyxl.load_workbook(write_summary(result, tmp_path / "s.xlsx"))
    assert "Xã Tân Thanh" in wb.sheetnames and "Xã Tân Thanh (2)" in wb.sheetnames


# ---------------------------------------------------------------------------- rows as XML


def _rows_workbook(path: Path, how: str) -> Path:
    """A constant_memory sheet of awkward rows, written by write_cells or by xlsxwriter itself."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": datetime(2025, 1, 1)})
    fmt = {
        name: wb.add_format({"border": 1, **props})
        for name, props in [
            ("center", {"align": "center"}),
            ("plain", {}),
            ("wrapped", {"text_wrap": True}),
            ("int", {"num_format": "#,##0"}),
            ("dec", {"num_format": "#,##0.00", "bg_color": "#FFEB9C"}),
            ("date", {"num_format": "dd/mm/yyyy"}),
        ]
    }
    rows: list[tuple[int, float | None, list[tuple[int, Any, str]], list[tuple[int, str]]]] = [
        (3, None, [(0, 1, "center"), (1, "00001", "plain"), (2, 'Xã A & B <c> "d"\nhai', "wrapped")], []),
        (4, 48, [(0, 12, "int"), (1, 0.1 + 0.2, "dec"), (2, -1e-20, "dec"), (3, 1e20, "dec")], []),
        (5, 15, [(0, None, "int"), (1, "", "wrapped"), (2, date(2025, 1, 9), "date")], []),
        (6, None, [(1, datetime(2025, 1, 9, 8, 30), "date"), (4, "Hà Nội — 100%", "wrapped")], []),
        (7, 30.5, [(0, " cách đầu", "plain"), (1, "chuông\x07", "plain"), (2, "_x0041_", "plain")], []),
        (8, None, [(0, "<r>x</r>", "plain"), (1, "dòng cuối\n", "wrapped")], []),
        (9, None, [(0, 5, "int"), (1, 6, "dec")], [(1, "Cảnh báo: khác tổng")]),
        (11, 80, [(2, 7, "int")], []),  # a row skipped before it
        (
            12,
            None,
            [
                (0, Link("internal:'Số liệu'!A4", "Xem"), "plain"),
                (2, Link("internal:Khác!B2", "Xã & <b>"), "wrapped"),
            ],
            [],
        ),
        (13, None, [(0, Link("internal:'Số liệu'!A5", ""), "plain")], []),  # shows the link itself
        (14, None, [(0, 8, "int")], [(0, "Lỗi: âm")]),  # placed below the tall rows
        (
            15,
            None,
            [(0, "_x00G1_ a_x41_", "plain"), (1, True, "int"), (2, 7.0, "dec"), (3, 2**53, "int")],
            [],
        ),
        (16, None, [(0, "cuối\xa0", "plain")], []),  # a no-break space at the end
        (17, None, [(1, "\u2003đầu", "plain")], []),  # an em space at the start
        (18, None, [(0, "a_x0041_b", "plain")], []),
    ]
    ws = wb.add_worksheet("Số liệu")
    ws.write_string(0, 0, "Tiêu đề", fmt["plain"])
    for row, height, cells, comments in rows:
        if how == "xml":
            write_cells(ws, row, [(c, v, fmt[f]) for c, v, f in cells], height, comments)
            continue
        if height:
            ws.set_row(row, height)
        for col, value, name in cells:
            if value is None or value == "":
                ws.write_blank(row, col, None, fmt[name])
            elif isinstance(value, str):
                ws.write_string(row, col, value, fmt[name])
            elif isinstance(value, Link):
                ws.write_url(row, col, value.url, fmt[name], value.text)
            elif isinstance(value, date):
                ws.write_datetime(row, col, value, fmt[name])
            else:
                ws.write_number(row, col, value, fmt[name])
        for col, text in comments:
            ws.write_comment(row, col, text, dict(COMMENT_OPTIONS))
    ws.write_number(20, 0, 9, fmt["int"])
    wb.close()
    return path


def test_rows_written_as_xml_are_what_xlsxwriter_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """_write_row_xml uses xlsxwriter internals: this fails when they change."""
    as_xml: list[int] = []

    def spy(ws: Any, row: int, *args: Any) -> bool:
        written = write_row_xml(ws, row, *args)
        if written:
            as_xml.append(row)
        return written

    write_row_xml = summary_rows._write_row_xml
    monkeypatch.setattr(summary_rows, "_write_row_xml", spy)
    ours = _rows_workbook(tmp_path / "xml.xlsx", "xml")
    theirs = _rows_workbook(tmp_path / "xlsxwriter.xlsx", "xlsxwriter")
    version = tuple(int(n) for n in xlsxwriter.__version__.split(".")[:2])
    if version >= (3, 3):  # a new major version: check the internals, then allow it in FAST_ROWS
        assert summary_rows.FAST_ROWS, f"xlsxwriter {xlsxwriter.__version__}: rows not written as XML"
    assert as_xml == ([3, 4, 5, 6, 11, 12, 15] if summary_rows.FAST_ROWS else [])
    with zipfile.ZipFile(ours) as a, zipfile.ZipFile(theirs) as b:
        assert a.namelist() == b.namelist()
        for part in a.namelist():
            assert a.read(part) == b.read(part), part


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


ONLY_LINUX = "a second process only on Linux: elsewhere one process writes every sheet"


@pytest.mark.skipif(sys.platform != "linux", reason=ONLY_LINUX)
@pytest.mark.parametrize("source", ["made", "samples"])
def test_content_sheets_written_by_a_second_process_are_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """With many units a forked child writes the content sheets while the parent writes the
    others (summary/parallel.py); the file is byte for byte what one process writes. Issues
    (fills, comments), an injected name and formats first used by either process included."""
    if source == "made":
        result = make_result()
    else:
        samples = Path(__file__).parents[1] / "samples"
        result = consolidate(samples / "inbox", roster=read_roster(samples / "don-vi.csv"), period="2024-6T")
    pids = tmp_path / "pids"
    write_content = summary_contents.write

    def recording(book: Any, ws: Any, *args: Any) -> None:
        with pids.open("a") as f:
            f.write(f"{os.getpid()}\n")
        write_content(book, ws, *args)

    monkeypatch.setattr(summary_contents, "write", recording)
    monkeypatch.setattr(summary, "PARALLEL_FROM", 10**9)
    one = write_summary(dataclasses.replace(result), tmp_path / "one.xlsx", per_unit="rows")
    assert set(pids.read_text().split()) == {str(os.getpid())}
    pids.unlink()
    monkeypatch.setattr(summary, "PARALLEL_FROM", 1)
    two = write_summary(dataclasses.replace(result), tmp_path / "two.xlsx", per_unit="rows")
    if (os.cpu_count() or 1) > 1:
        assert str(os.getpid()) not in pids.read_text().split(), "the content sheets were not forked"
    assert _parts(two).keys() == _parts(one).keys()
    for part, data in _parts(one).items():
        assert _parts(two)[part] == data, part
    assert two.read_bytes() == one.read_bytes()


@pytest.mark.skipif(sys.platform != "linux", reason=ONLY_LINUX)
def test_a_full_disk_in_the_second_process_is_said_as_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child's error comes back to the parent: the usual message, no file left behind."""

    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(summary_contents, "write", full)
    monkeypatch.setattr(summary, "PARALLEL_FROM", 1)
    with pytest.raises(OutputError, match="ổ đĩa đã đầy"):
        write_summary(make_result(), tmp_path / "tong-hop.xlsx", per_unit="rows")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(sys.platform != "linux", reason=ONLY_LINUX)
def test_a_second_process_killed_leaves_its_sheets_to_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child killed (out of memory, a signal) after writing some rows: the parent writes the
    content sheets itself; every sheet holds what one process writes."""
    write_content = summary_contents.write
    parent = os.getpid()

    def dying(book: Any, ws: Any, *args: Any) -> None:
        write_content(book, ws, *args)
        if os.getpid() != parent:
            ws.row_data_fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    one = write_summary(make_result(), tmp_path / "one.xlsx", per_unit="rows")
    monkeypatch.setattr(summary_contents, "write", dying)
    monkeypatch.setattr(summary, "PARALLEL_FROM", 1)
    two = write_summary(make_result(), tmp_path / "two.xlsx", per_unit="rows")
    first, second = openpyxl.load_workbook(one), openpyxl.load_workbook(two)
    assert first.sheetnames == second.sheetnames
    for name in first.sheetnames:
        cells = [
            [(c.value, c.number_format, c.fill.fgColor.rgb) for c in row] for row in first[name].iter_rows()
        ]
        again = [
            [(c.value, c.number_format, c.fill.fgColor.rgb) for c in row] for row in second[name].iter_rows()
        ]
        assert again == cells, name
    rows = {n: d.count(b"<row ") for n, d in _parts(one).items() if n.startswith("xl/worksheets/sheet")}
    assert {n: d.count(b"<row ") for n, d in _parts(two).items() if n in rows} == rows  # none twice
