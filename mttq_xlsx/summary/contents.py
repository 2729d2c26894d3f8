"""A sheet per content (Biểu 1 … 5 of `phu-luc-1`; I. Số liệu chung, II.1 … II.5 of `bieu-so-lieu`):
a row per unit, a column per field, a totals row of live formulas, and the rows of the content's
tables below. The figures come computed in `Consolidation.content`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xlsxwriter.utility import xl_col_to_name

from .. import style
from ..consolidation import Content
from ..model import Submission, is_number
from ..spec import RECOMPUTE, SUM, Block, Section, Spec
from ..style import HEADER_TINT
from .book import NAME_WIDTH, Book, Column, comment
from .rows import Cell, write_cells
from .totals import NUMBER_WIDTH

TEXT_WIDTH = 30
BORROWED_TINT = "#E2EFDA"  # header of a column repeated from another content for a ratio
TOTAL_TINT = "#FCE4D6"


def write(book: Book, ws: Any, spec: Spec, section: Section) -> None:
    table = book.r.content(spec, section)
    numbers, texts = table.numbers, table.texts
    columns = [Column("STT", 6), Column("Mã đơn vị", 12), Column("Tên đơn vị", NAME_WIDTH)]
    for c in numbers:
        f = c.field
        title = f.titled
        if c.borrowed:
            title += " — nhắc lại để tính tỷ lệ"
        columns.append(Column(title, NUMBER_WIDTH, BORROWED_TINT if c.borrowed else HEADER_TINT))
    columns += [Column(f.label, TEXT_WIDTH) for f in texts]
    header = book.title_rows(ws, _title(book, spec, section), columns)
    subs = table.submissions
    first, last = header + 1, header + len(subs)
    place(book, spec, section)
    book.table(ws, header, columns, last_row=last, freeze_col=3)
    # Looked up once per column, not once per cell: the loop below makes most of the cells
    # of the workbook. A cell with issues, or not a plain number or text, goes through cell().
    number_cols = [(3 + i, c.field.id, book.num_format(spec, c.field)) for i, c in enumerate(numbers)]
    number_fmts = [book.cell_fmt(num_format) for _, _, num_format in number_cols]
    text_cols = list(enumerate(texts, 3 + len(numbers)))
    center, plain, wrapped = book.cell_fmt(align="center"), book.cell_fmt(), book.text_fmt()
    names = book.r.unit_names
    by_column = table.values
    for n, s in enumerate(subs):
        row = first + n
        values = s.values
        name = names.get(s.unit_code) or s.unit_name
        height = style.row_height(
            (name, NAME_WIDTH), *((str(values.get(f.id) or ""), TEXT_WIDTH) for f in texts)
        )
        cells: list[Cell] = [(0, n + 1, center), (1, s.unit_code, plain), (2, name, wrapped)]
        comments: list[tuple[int, str]] = []
        flagged = book.r.issue_index.get(s.file.path)
        for i, (col, field_id, num_format) in enumerate(number_cols):
            value = by_column[i][n]
            issues = flagged.get(field_id) if flagged else None
            if not issues and is_number(value):
                cells.append((col, value, number_fmts[i]))
                continue
            cells.append((col, *book.cell(value, num_format, issues or ())))
            if issues:
                comments.append((col, comment(issues)))
        for col, f in text_cols:
            value = values.get(f.id)
            issues = flagged.get(f.id) if flagged else None
            if isinstance(value, str) and not issues:
                cells.append((col, value, wrapped))
                continue
            cells.append((col, *book.cell(value, "", issues or ())))
            if issues:
                comments.append((col, comment(issues)))
        write_cells(ws, row, cells, height, comments)
    row = last + 1
    total_fmt = book.fmt(bold=True, border=1, bg_color=TOTAL_TINT)
    ws.write_blank(row, 0, None, total_fmt)
    ws.write_blank(row, 1, None, total_fmt)
    book.text(ws, row, 2, "Tổng cộng", total_fmt)
    for i in range(len(numbers)):
        _total_cell(book, ws, row, i, table, (first, last))
    for col in range(3 + len(numbers), len(columns)):
        ws.write_blank(row, col, None, total_fmt)
    tables = [b for b in section.blocks if b.kind == "table"]
    if tables:
        _table_listing(book, ws, row + 2, tables, subs)


def _title(book: Book, spec: Spec, section: Section) -> list[str]:
    return [section.title, f"{spec.title} — {book.r.period.label}"]


def place(book: Book, spec: Spec, section: Section) -> None:
    """Record where `write` puts each unit's row (`Book.content_rows`), without writing it."""
    first = len(_title(book, spec, section)) + 2  # the title lines, an empty row, the header row
    for n, s in enumerate(book.r.received(spec.id)):
        book.content_rows[(spec.id, section.id, s.unit_code)] = first + n


def _total_cell(book: Book, ws: Any, row: int, i: int, table: Content, rows: tuple[int, int]) -> None:
    """The totals row's cell of numeric column `i`: a live formula with its value cached."""
    f = table.numbers[i].field
    num_format = book.num_format(table.spec, f)
    total_fmt = book.fmt(bold=True, border=1, bg_color=TOTAL_TINT, num_format=num_format)
    column_of = table.column_of
    col = 3 + i
    first, last = rows
    if last < first:  # no unit sent this report
        ws.write_blank(row, col, None, total_fmt)
        return

    def span(field_id: str) -> str:
        letter = xl_col_to_name(3 + column_of[field_id])
        return f"{letter}{first + 1}:{letter}{last + 1}"

    total = table.totals[i]
    if f.type == "ratio" and f.aggregate == RECOMPUTE:
        if f.numerator in column_of and f.denominator in column_of:
            num, den = span(f.numerator), span(f.denominator)
            formula = f'=IF(SUM({den})=0,"",SUM({num})/SUM({den}))'
            ws.write_formula(row, col, formula, total_fmt, "" if total is None else total)
        elif is_number(total):  # a part that is not a number column: the consolidated value only
            ws.write_number(row, col, total, total_fmt)
        else:
            ws.write_blank(row, col, None, total_fmt)
    elif f.aggregate == SUM:
        if total is not None:
            ws.write_formula(row, col, f"=SUM({span(f.id)})", total_fmt, total)
        else:  # nobody reported it: blank, not 0
            rng = span(f.id)
            ws.write_formula(row, col, f'=IF(COUNT({rng})=0,"",SUM({rng}))', total_fmt, "")
    else:
        ws.write_blank(row, col, None, total_fmt)


def _table_listing(
    book: Book, ws: Any, row: int, tables: Sequence[Block], subs: Sequence[Submission]
) -> None:
    """Below the totals: every filled row of the section's tables, unit by unit."""
    names = book.r.unit_names
    for block in tables:
        book.text(ws, row, 0, block.title, book.fmt(bold=True, italic=True))
        row += 1
        columns = [Column("STT", 6), Column("Mã đơn vị", 12), Column("Tên đơn vị", NAME_WIDTH)]
        columns += [Column(c.label, NUMBER_WIDTH) for c in block.columns]
        book.header_cells(ws, row, columns)
        row += 1
        n = 0
        for s in subs:
            lists: list[list[Any]] = []
            for c in block.columns:
                v = s.values.get(c.id)
                lists.append(v if isinstance(v, list) else [v])
            for k in range(max((len(v) for v in lists), default=0)):
                cells = [v[k] if k < len(v) else None for v in lists]
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                    continue
                n += 1
                texts = [(str(c), NUMBER_WIDTH) for c in cells if isinstance(c, str)]
                name = names.get(s.unit_code, s.unit_name)
                written: list[Cell] = [
                    (0, n, book.cell_fmt(align="center")),
                    (1, s.unit_code, book.cell_fmt()),
                    (2, name, book.text_fmt()),
                ]
                for at, (column, value) in enumerate(zip(block.columns, cells, strict=True), 3):
                    written.append((at, *book.cell(value, style.number_format(column, {}))))
                write_cells(ws, row, written, style.row_height((name, NAME_WIDTH), *texts))
                row += 1
        if not n:
            book.text(ws, row, 0, "Không đơn vị nào ghi dòng nào.", book.fmt(italic=True))
            row += 1
        row += 1
