"""`Kiểm tra`: every issue of the run, with its severity, unit, file, sheet, cell and message."""

from __future__ import annotations

from typing import Any

from .. import style
from ..codes import ERROR, SEVERITY_WORDS, WARNING
from .book import ERROR_FILL, WARNING_FILL, Book, Column
from .rows import Cell, write_cells


def write(book: Book, ws: Any) -> None:
    columns = [
        Column("STT", 6),
        Column("Mức độ", 11),
        Column("Mã đơn vị", 12),
        Column("Tên đơn vị", 24),
        Column("Tệp", 30),
        Column("Trang tính", 12),
        Column("Ô", 8),
        Column("Trường", 20),
        Column("Mã lỗi", 18),
        Column("Nội dung", 60),
    ]
    issues = book.r.issues
    header = book.title_rows(
        ws,
        [
            "KIỂM TRA SỐ LIỆU",
            f"{sum(i.severity == ERROR for i in issues)} lỗi, "
            f"{sum(i.severity != ERROR for i in issues)} cảnh báo",
        ],
        columns,
    )
    first, last = header + 1, header + len(issues)
    book.table(ws, header, columns, last_row=last if issues else None, freeze_col=2)
    if not issues:
        ws.merge_range(first, 0, first, len(columns) - 1, "Không có lỗi", book.cell_fmt(italic=True))
        return
    center, wrapped = book.cell_fmt(align="center"), book.text_fmt()
    names = book.r.unit_names
    for n, issue in enumerate(issues, 1):
        row = header + n
        name = names.get(issue.unit_code, "") if issue.unit_code else ""
        texts = (
            SEVERITY_WORDS.get(issue.severity, issue.severity),
            issue.unit_code,
            name,
            issue.path,
            issue.sheet,
            issue.cell,
            issue.field_id,
            issue.code,
            issue.message,
        )
        cells: list[Cell] = [(0, n, center)]
        cells += [(c, text, wrapped) for c, text in enumerate(texts, 1)]
        height = style.row_height((issue.message, 60), (issue.path, 30), (name, 24))
        write_cells(ws, row, cells, height)
    span = (first, 0, last, len(columns) - 1)
    book.tint_rows(ws, span, f'=$B{first + 1}="{SEVERITY_WORDS[ERROR]}"', ERROR_FILL)
    book.tint_rows(ws, span, f'=$B{first + 1}="{SEVERITY_WORDS[WARNING]}"', WARNING_FILL)
