"""`So sánh` (with a previous period): every total now and last period, the change and the change
in percent, as computed in `Consolidation.comparison`. The changes are live formulas of the two
totals beside them, with their values cached."""

from __future__ import annotations

from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell

from .. import style
from ..comparison import Line
from ..model import is_number
from ..numbers import PERCENT_FORMAT
from ..spec import Spec
from ..style import LINE_HEIGHT, SECTION_TINT
from .book import Book, Column
from .totals import NUMBER_WIDTH

NOW, THEN, CHANGE, RELATIVE = 3, 4, 5, 6  # columns


def write(book: Book, ws: Any) -> None:
    r = book.r
    previous = r.previous
    assert previous is not None
    columns = [
        Column("STT", 6),
        Column("Nội dung", 62),
        Column("Đơn vị tính", 13),
        Column(f"Kỳ này ({r.period.label})", NUMBER_WIDTH),
        Column(f"Kỳ trước ({previous.period})", NUMBER_WIDTH),
        Column("Tăng (+), giảm (−)", NUMBER_WIDTH),
        Column("Tăng, giảm so với kỳ trước (%)", NUMBER_WIDTH),
        Column("Số đơn vị báo cáo kỳ này", 12),
        Column("Số đơn vị báo cáo kỳ trước", 12),
    ]
    header = book.title_rows(
        ws,
        [
            "SO SÁNH VỚI KỲ TRƯỚC",
            f"Kỳ này: {r.period.label}; kỳ trước: {previous.period} (từ tệp {previous.source}). "
            "Với tỷ lệ, mức tăng, giảm tính bằng điểm phần trăm. Số liệu khác hẳn kỳ trước của "
            "từng đơn vị được nêu ở trang Kiểm tra (mã outlier).",
        ],
        columns,
    )
    book.table(ws, header, columns)
    last = len(columns) - 1
    row = header + 1
    for report in r.comparison:
        ws.set_row(row, style.row_height((report.spec.title, 120)) or LINE_HEIGHT + 6)
        ws.merge_range(row, 0, row, last, report.spec.title, book.fmt(bold=True, border=1, text_wrap=True))
        row += 1
        for section, lines in report.sections:
            ws.merge_range(
                row, 0, row, last, section.title, book.fmt(bold=True, border=1, bg_color=SECTION_TINT)
            )
            row += 1
            for stt, line in enumerate(lines, 1):
                _line(book, ws, row, stt, line, report.spec)
                row += 1


def _line(book: Book, ws: Any, row: int, stt: int, line: Line, spec: Spec) -> None:
    f = line.field
    book.fit_row(ws, row, (f.label, 62))
    center = book.cell_fmt(align="center")
    ws.write_number(row, 0, stt, center)
    book.text(ws, row, 1, f.label, book.text_fmt())
    book.text(ws, row, 2, "%" if f.type == "ratio" else f.unit, center)
    number = book.cell_fmt(book.num_format(spec, f))
    for col, value in ((NOW, line.now), (THEN, line.then)):
        if is_number(value):
            ws.write_number(row, col, value, number)
        else:
            ws.write_blank(row, col, None, number)
    now, then = xl_rowcol_to_cell(row, NOW), xl_rowcol_to_cell(row, THEN)
    change = line.change
    ws.write_formula(
        row, CHANGE, f'=IF(OR({now}="",{then}=""),"",{now}-{then})', number, "" if change is None else change
    )
    percent = book.cell_fmt(PERCENT_FORMAT)
    if f.type == "ratio":
        ws.write_blank(row, RELATIVE, None, percent)
    else:
        relative = line.relative
        formula = f'=IF(OR({now}="",{then}="",{then}=0),"",({now}-{then})/{then})'
        ws.write_formula(row, RELATIVE, formula, percent, "" if relative is None else relative)
    book.text(ws, row, 7, str(line.reported_now), center)
    book.text(ws, row, 8, str(line.reported_then), center)
