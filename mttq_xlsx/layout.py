"""Where every field of a form goes on its sheet. Pure: the template writer and the field map use it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .cells import cell_name
from .spec import Block, Field, Form

FIRST_BLOCK_ROW = 4  # rows 0-3: title, report title, unit and period line, note
COVER_VALUE_COL = 2
FIELD_HEADERS = ("STT", "Nội dung", "Đơn vị tính", "Số liệu", "Tỷ lệ")
VALUE_COL = 3
RATIO_COL = 4


@dataclass
class Row:
    """One sheet row: what its label columns say and which field sits in which column."""

    kind: str  # "section" | "block" | "header" | "field"
    text: str = ""
    headers: tuple[str, ...] = ()
    stt: str = ""
    label: str = ""
    unit: str = ""
    cells: dict[int, Field] = field(default_factory=dict)


@dataclass
class Position:
    row: int  # first row, 0-based
    col: int
    last_row: int
    label_row: int
    label_col: int
    label: str  # the text in the label cell, which the reader checks to find moved rows

    @property
    def ref(self) -> str:
        first = cell_name(self.row, self.col)
        if self.last_row == self.row:
            return first
        return f"{first}:{cell_name(self.last_row, self.col)}"

    @property
    def label_ref(self) -> str:
        return cell_name(self.label_row, self.label_col)


@dataclass
class SheetLayout:
    form: Form
    rows: dict[int, Row]
    positions: dict[str, Position]
    width: int  # number of columns used
    header_rows: tuple[int, int] | None  # rows to repeat on every printed page


def _field_rows(block: Block, start: int, rows: dict[int, Row], pos: dict[str, Position]) -> int:
    r = start
    numerator_rows: dict[str, int] = {}
    stt = 0
    for f in block.fields:
        if f.type == "ratio" and f.numerator in numerator_rows:
            row_index = numerator_rows[f.numerator]
            rows[row_index].cells[RATIO_COL] = f
            pos[f.id] = Position(row_index, RATIO_COL, row_index, row_index, 1, rows[row_index].label)
            continue
        stt += 1
        col = RATIO_COL if f.type == "ratio" else VALUE_COL
        rows[r] = Row("field", stt=str(stt), label=f.label, unit=f.unit, cells={col: f})
        pos[f.id] = Position(r, col, r, r, 1, f.label)
        numerator_rows[f.id] = r
        r += 1
    return r


def _table_rows(block: Block, start: int, rows: dict[int, Row], pos: dict[str, Position]) -> int:
    rows[start] = Row("header", headers=("STT", *(c.label for c in block.columns)))
    first = start + 1
    for i in range(block.rows):
        cells = {1 + j: c for j, c in enumerate(block.columns)}
        rows[first + i] = Row("field", stt=str(i + 1), cells=cells)
    last = first + block.rows - 1
    for j, c in enumerate(block.columns):
        pos[c.id] = Position(first, 1 + j, last, start, 1 + j, c.label)
    return last + 1


def _grid_rows(block: Block, start: int, rows: dict[int, Row], pos: dict[str, Position]) -> int:
    index = {f.id: f for f in block.fields}
    headers = tuple(f"{c.label} ({c.unit})" if c.unit else c.label for c in block.columns)
    rows[start] = Row("header", headers=("STT", "Nội dung", *headers))
    r = start + 1
    for i, grid_row in enumerate(block.grid_rows):
        cells = {}
        for j, fid in enumerate(grid_row.cells):
            if fid is not None:
                cells[2 + j] = index[fid]
                pos[fid] = Position(r, 2 + j, r, r, 1, grid_row.label)
        stt = "" if grid_row.is_total else str(i + 1)
        rows[r] = Row("field", stt=stt, label=grid_row.label, cells=cells)
        r += 1
    return r


def form_layout(form: Form, cover: bool = False) -> SheetLayout:
    rows: dict[int, Row] = {}
    pos: dict[str, Position] = {}
    if cover:
        for i, f in enumerate(form.fields):
            r = FIRST_BLOCK_ROW + i
            rows[r] = Row("field", label=f.label, cells={COVER_VALUE_COL: f})
            pos[f.id] = Position(r, COVER_VALUE_COL, r, r, 1, f.label)
        return SheetLayout(form, rows, pos, 3, None)
    r = FIRST_BLOCK_ROW
    header_rows: tuple[int, int] | None = None
    need_field_header = True
    first = form.sections[0].blocks[0]
    if len(form.sections) > 1 and first.kind == "fields" and not first.title:
        # one column header above every section, so printed pages repeat no section title
        rows[r] = Row("header", headers=FIELD_HEADERS)
        header_rows = (0, r)
        need_field_header = False
        r += 1
    for section in form.sections:
        if len(form.sections) > 1:
            rows[r] = Row("section", text=section.title)
            r += 1
        for block in section.blocks:
            if block.title:
                rows[r] = Row("block", text=block.title)
                r += 1
            if block.kind == "fields" and need_field_header:
                rows[r] = Row("header", headers=FIELD_HEADERS)
                header_rows = header_rows or (0, r)
                need_field_header = False
                r += 1
            if block.kind == "fields":
                r = _field_rows(block, r, rows, pos)
            else:
                header_rows = header_rows or (0, r)
                r = (_table_rows if block.kind == "table" else _grid_rows)(block, r, rows, pos)
                need_field_header = True
    width = (
        max(
            max([*row.cells, len(row.headers) - 1, RATIO_COL if row.kind == "field" else 0])
            for row in rows.values()
        )
        + 1
    )
    return SheetLayout(form, rows, pos, width, header_rows)
