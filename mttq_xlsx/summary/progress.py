"""`Tiến độ`: every roster unit (or every unit that reported), received or not, on time or late,
and, when the inbox holds mail, when its mail arrived."""

from __future__ import annotations

from typing import Any

from xlsxwriter.utility import xl_col_to_name

from .. import style
from ..periods import in_vietnam
from .book import DATETIME_FORMAT, ERROR_FILL, LINK_COLOR, NAME_WIDTH, Book, Column, report_name
from .rows import Cell, Link, write_cells

SUBMITTED, NOT_SUBMITTED = "Đã nộp", "Chưa nộp"
ON_TIME, LATE = "Đúng hạn", "Nộp muộn"
LATE_FILL = "#F8CBAD"
ARRIVED = "Thời điểm nhận thư"


def write(book: Book, ws: Any) -> None:
    columns = [
        Column("STT", 6),
        Column("Mã đơn vị", 12),
        Column("Tên đơn vị", NAME_WIDTH),
        Column("Báo cáo", 20),
        Column("Tình trạng", 13),
        Column("Đúng hạn", 13),
        Column("Tệp", 40),
        Column("Thời điểm lưu", 18),
        *([Column(ARRIVED, 18)] if book.r.by_mail else []),
    ]
    rows = book.r.progress
    c = book.r.completeness
    header = book.title_rows(
        ws,
        [
            "TIẾN ĐỘ NỘP BÁO CÁO",
            f"Đã nhận {c.received}/{c.expected} đơn vị; chưa nộp: {len(c.missing)}; nộp muộn: {len(c.late)}",
        ],
        columns,
    )
    first, last = header + 1, header + len(rows)
    book.table(ws, header, columns, last_row=last, freeze_col=3)
    link = book.text_fmt(font_color=LINK_COLOR, underline=1)
    center, plain, wrapped = book.cell_fmt(align="center"), book.cell_fmt(), book.text_fmt()
    saved_fmt = book.cell_fmt(DATETIME_FORMAT)
    for n, row in enumerate(rows, 1):
        code, name, s, path = row.code, row.name, row.submission, row.path
        target = book.unit_target(code) if s else ""
        cells: list[Cell] = [
            (0, n, center),
            (1, code, plain),
            (2, Link(target, name or code), link) if target else (2, name, wrapped),
            (3, report_name(s.report_id) if s else "", wrapped),
            (4, SUBMITTED if s else NOT_SUBMITTED, plain),
            (5, "" if not s else LATE if s.file.late else ON_TIME, plain),
            (6, path, wrapped),
            (7, in_vietnam(s.file.saved_at), saved_fmt) if s and s.file.saved_at else (7, None, plain),
        ]
        if book.r.by_mail:
            cells.append((8, row.arrived, saved_fmt) if row.arrived else (8, None, plain))
        write_cells(ws, header + n, cells, style.row_height((name, NAME_WIDTH), (path, 40)))
    if rows:
        span = (first, 0, last, len(columns) - 1)
        book.tint_rows(ws, span, f'=${xl_col_to_name(4)}{first + 1}="{NOT_SUBMITTED}"', ERROR_FILL)
        book.tint_rows(ws, span, f'=${xl_col_to_name(5)}{first + 1}="{LATE}"', LATE_FILL)
