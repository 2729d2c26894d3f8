"""`Số liệu báo cáo`: the sentences of the narrative report, ready to paste, under the headings of
its outline, computed in `Consolidation.narrative`."""

from __future__ import annotations

from typing import Any

from .. import style
from ..narrative import Part, ReportText
from ..style import SECTION_TINT
from .book import Book, Column
from .rows import Cell, write_cells

SENTENCE_WIDTH = 90
FIELDS_WIDTH = 40


def write(book: Book, ws: Any) -> None:
    columns = [
        Column("STT", 6),
        Column("Câu số liệu (sao chép vào báo cáo)", SENTENCE_WIDTH),
        Column("Số đơn vị báo cáo", 13),
        Column("Số liệu lấy từ", FIELDS_WIDTH),
    ]
    r = book.r
    header = book.title_rows(
        ws,
        [
            "SỐ LIỆU CHO BÁO CÁO",
            f"Kỳ báo cáo: {r.period.label}. Mỗi câu đã điền số liệu tổng hợp, viết như trong báo cáo: "
            "dấu chấm ngăn cách hàng nghìn, dấu phẩy trước phần thập phân, tỷ lệ làm tròn đến hai chữ "
            "số thập phân; “(n/N đơn vị báo cáo)” khi chưa đủ đơn vị có số liệu.",
        ],
        columns,
    )
    book.table(ws, header, columns)
    last = len(columns) - 1
    row = header + 1
    if not r.narrative:
        ws.merge_range(row, 0, row, last, "Chưa nhận được báo cáo nào.", book.cell_fmt(italic=True))
    for text in r.narrative:
        ws.set_row(row, style.row_height((text.title, 140), bold=True))
        ws.merge_range(row, 0, row, last, text.title, book.fmt(bold=True, border=1, text_wrap=True))
        row += 1
        row = _parts(book, ws, row, text)


def _parts(book: Book, ws: Any, row: int, text: ReportText) -> int:
    last = 3
    heading_fmt = book.fmt(bold=True, border=1, text_wrap=True, bg_color=SECTION_TINT)
    center, wrapped = book.cell_fmt(align="center"), book.text_fmt()
    missing_fmt = book.text_fmt(italic=True)
    n = 0
    for part in _shown(text.parts):
        ws.set_row(row, style.row_height((part.heading.text, 140), bold=True))
        ws.merge_range(row, 0, row, last, part.heading.text, heading_fmt)
        row += 1
        for sentence in part.sentences:
            n += 1
            labels = "; ".join(f.label for f in sentence.fields)
            if sentence.text:
                said, fmt = sentence.text, wrapped
            else:
                said = "Chưa có số liệu: " + "; ".join(f.label for f in sentence.missing) + "."
                fmt = missing_fmt
            cells: list[Cell] = [
                (0, n, center),
                (1, said, fmt),
                (2, f"{sentence.reported}/{sentence.expected}", center),
                (3, labels, wrapped),
            ]
            height = style.row_height((said, SENTENCE_WIDTH), (labels, FIELDS_WIDTH))
            write_cells(ws, row, cells, height)
            row += 1
    return row


def _shown(parts: tuple[Part, ...]) -> list[Part]:
    """The headings with sentences, and a level-1 heading when one under it has sentences."""
    shown = []
    for i, part in enumerate(parts):
        below = []
        if part.heading.level == 1:
            for later in parts[i + 1 :]:
                if later.heading.level == 1:
                    break
                below.append(later)
        if part.sentences or any(p.sentences for p in below):
            shown.append(part)
    return shown
