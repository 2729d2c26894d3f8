"""`Tổng hợp`: every total of every report received, by content, with how many units reported it."""

from __future__ import annotations

from typing import Any

from .. import __version__, style
from ..consolidation import TotalLine
from ..model import is_number
from ..spec import Spec
from ..style import LINE_HEIGHT, SECTION_TINT
from .book import UNITS_SHEET, Book, Column

NUMBER_WIDTH = 14


def write(book: Book, ws: Any) -> None:
    r = book.r
    columns = [
        Column("STT", 6),
        Column("Nội dung", 62),
        Column("Đơn vị tính", 13),
        Column("Tổng số", NUMBER_WIDTH),
        Column("Tỷ lệ / diễn giải", 24),
        Column("Số đơn vị báo cáo", 13),
    ]
    period = r.period
    deadline = r.deadline or period.deadline
    units = len(r.units)
    lines = [
        "BẢNG TỔNG HỢP SỐ LIỆU",
        f"Kỳ báo cáo: {period.label} (số liệu từ {period.start:%d/%m/%Y} đến "
        f"{period.end:%d/%m/%Y}; hạn nộp {deadline:%d/%m/%Y})",
        f"Tổng hợp tự động từ {len(r.submissions)} báo cáo đã nhận của {units} đơn vị "
        f"({len(r.files)} tệp); tỷ lệ chung = tổng tử số / tổng mẫu số, không lấy "
        f"trung bình. Lập bằng mttq-xlsx {__version__}.",
    ]
    if not book.with_unit_sheets:
        lines.append(
            f"Có {units} đơn vị: thay vì mỗi đơn vị một trang, số liệu từng đơn vị là "
            f"một dòng ở trang từng nội dung; trang {UNITS_SHEET} liệt kê các đơn vị kèm liên kết."
        )
    header = book.title_rows(ws, lines, columns)
    book.table(ws, header, columns)
    last = len(columns) - 1
    row = header + 1
    for spec in r.specs:
        ws.set_row(row, style.row_height((spec.title, 120)) or LINE_HEIGHT + 6)
        ws.merge_range(row, 0, row, last, spec.title, book.fmt(bold=True, border=1, text_wrap=True))
        row += 1
        for section, section_lines in r.total_lines(spec):
            ws.merge_range(
                row, 0, row, last, section.title, book.fmt(bold=True, border=1, bg_color=SECTION_TINT)
            )
            row += 1
            for stt, line in enumerate(section_lines, 1):
                _total_row(book, ws, row, stt, line, spec)
                row += 1


def _total_row(book: Book, ws: Any, row: int, stt: int, line: TotalLine, spec: Spec) -> None:
    f = line.field
    book.fit_row(ws, row, (f.label, 62))
    ws.write_number(row, 0, stt, book.cell_fmt(align="center"))
    book.text(ws, row, 1, f.label, book.text_fmt())
    book.text(ws, row, 2, "%" if f.type == "ratio" else f.unit, book.cell_fmt(align="center"))
    number = book.cell_fmt(book.num_format(spec, f))
    if is_number(line.value):
        ws.write_number(row, 3, line.value, number)
    else:
        ws.write_blank(row, 3, None, number)
    book.text(ws, row, 4, line.explain, book.cell_fmt(align="center"))
    book.text(ws, row, 5, f"{line.reported}/{line.units}", book.cell_fmt(align="center"))
