"""The units' own figures: a sheet per unit (its reports as sent, with each value's cell and
issues), or, for many units, one `Đơn vị` sheet with a row per unit and report linking to its
rows on the content sheets."""

from __future__ import annotations

from functools import cache
from typing import Any

from .. import style
from ..codes import ERROR, WARNING
from ..consolidation import UnitReports
from ..model import Submission
from ..periods import in_vietnam
from ..spec import Field, load_spec
from ..style import SECTION_TINT
from .book import LINK_COLOR, NAME_WIDTH, PROGRESS_SHEET, Book, Column, comment, internal_link
from .rows import Cell, Link, write_cells


@cache
def unit_rows(report_id: str) -> list[tuple[str, Field | None, str]]:
    """(kind, field, text) for a report in form order: a "section" row, then per block its
    "field" rows, or a "table" row followed by a "column" row per column."""
    spec = load_spec(report_id)
    rows: list[tuple[str, Field | None, str]] = []
    for section in [*spec.cover.sections, *spec.sections]:
        rows.append(("section", None, section.title))
        for block in section.blocks:
            if block.kind == "table":
                rows.append(("table", None, block.title))
                rows += [("column", f, f.label) for f in block.columns]
            else:
                rows += [("field", f, f.label) for f in block.fields]
    return rows


def _unit_value(book: Book, s: Submission, f: Field) -> Any:
    """A value as the unit sent it; a ratio left empty is the unit's own from its parts, a table
    column becomes its filled rows, one per line."""
    value = s.values.get(f.id)
    if f.type == "ratio" and value in (None, ""):
        value = book.r.unit_ratio(s, f)
    if isinstance(value, list):
        value = "\n".join(str(v) for v in value if v not in (None, "")) or None
    return value


def _cell_ref(cells: dict[str, tuple[str, str]], field_id: str) -> str:
    where = cells.get(field_id)
    return f"{where[0]}!{where[1]}" if where else ""


def write_sheet(book: Book, ws: Any, unit: UnitReports) -> None:
    """A unit's own sheet: each of its reports as sent."""
    columns = [
        Column("Nội dung", 56),
        Column("Đơn vị tính", 12),
        Column("Giá trị", 28),
        Column("Ô trong tệp", 16),
        Column("Ghi chú", 40),
    ]
    header = book.title_rows(
        ws,
        [unit.name, f"Mã đơn vị: {unit.code} — Kỳ báo cáo: {book.r.period.label}"],
        columns,
    )
    ws.write_url(
        header - 1,
        0,
        internal_link(PROGRESS_SHEET),
        book.fmt(font_color=LINK_COLOR, underline=1),
        "← Về trang Tiến độ",
    )
    book.table(ws, header, columns)
    row = header + 1
    last = len(columns) - 1
    for s in unit.submissions:
        spec = load_spec(s.report_id)
        saved = f", lưu lúc {in_vietnam(s.file.saved_at):%d/%m/%Y %H:%M}" if s.file.saved_at else ""
        heading = f"{spec.title}\nTệp: {s.file.path}{saved}"
        book.fit_row(ws, row, (heading, 150))
        ws.merge_range(row, 0, row, last, heading, book.fmt(bold=True, border=1, text_wrap=True))
        row += 1
        for kind, f, text in unit_rows(spec.id):
            if kind in {"section", "table"}:
                style_ = book.fmt(bold=True, border=1, bg_color=SECTION_TINT, text_wrap=True)
                if kind == "table":
                    style_ = book.fmt(bold=True, italic=True, border=1, text_wrap=True)
                ws.merge_range(row, 0, row, last, text, style_)
                row += 1
                continue
            assert f is not None
            value = _unit_value(book, s, f)
            issues = book.r.issues_of(s, f.id)
            note = "\n".join(i.message for i in issues)
            shown = value if isinstance(value, str) else ""
            cells: list[Cell] = [
                (0, text, book.text_fmt()),
                (1, "%" if f.type == "ratio" else f.unit, book.cell_fmt(align="center")),
                (2, *book.cell(value, book.num_format(spec, f), issues)),
                (3, _cell_ref(s.cells, f.id), book.cell_fmt()),
                (4, note, book.text_fmt(book.severity_fill(issues))),
            ]
            height = style.row_height((text, 56), (shown, 28), (note, 40))
            write_cells(ws, row, cells, height, [(2, comment(issues))] if issues else [])
            row += 1
        row += 1


def write_rows(book: Book, ws: Any) -> None:
    """A row per unit and report, with links to its row on every content sheet.

    Thousands of units: their figures are already rows of the content sheets, so this
    sheet only indexes them instead of repeating every value.
    """
    r = book.r
    sections = [(spec.id, section) for spec in r.specs for section in spec.sections]
    columns = [
        Column("Mã đơn vị", 12),
        Column("Tên đơn vị", NAME_WIDTH),
        Column("Báo cáo", 18),
        Column("Tệp", 40),
        Column("Lỗi", 8),
        Column("Cảnh báo", 10),
        *(Column(section.short, 12) for _, section in sections),
    ]
    rows = [(unit, s) for unit in r.units for s in unit.submissions]
    header = book.title_rows(
        ws,
        [
            "SỐ LIỆU TỪNG ĐƠN VỊ",
            f"Kỳ báo cáo: {r.period.label} — mỗi đơn vị một dòng; bấm “Xem” để tới "
            "dòng của đơn vị ở trang từng nội dung",
        ],
        columns,
    )
    book.table(ws, header, columns, last_row=header + len(rows), freeze_col=2)
    plain, wrapped = book.cell_fmt(), book.text_fmt()
    link = book.text_fmt(font_color=LINK_COLOR, underline=1)
    counts = r.issue_counts
    names = {spec.id: spec.short_title for spec in r.specs}
    links = [  # quoted once per sheet, not once per link
        (report_id, section.id, internal_link(book.content_names[(report_id, section.id)], "A"))
        for report_id, section in sections
    ]
    for row, (unit, s) in enumerate(rows, header + 1):
        book.unit_rows.setdefault(unit.code, row)
        cells: list[Cell] = [
            (0, unit.code, plain),
            (1, unit.name, wrapped),
            (2, names[s.report_id], wrapped),
            (3, s.file.path, wrapped),
            (4, counts[(s.file.path, ERROR)], plain),
            (5, counts[(s.file.path, WARNING)], plain),
        ]
        for col, (report_id, section_id, column_a) in enumerate(links, 6):
            target = book.content_rows.get((report_id, section_id, s.unit_code))
            if report_id == s.report_id and target is not None:
                cells.append((col, Link(f"{column_a}{target + 1}", "Xem"), link))
            else:
                cells.append((col, None, plain))
        write_cells(ws, row, cells)
