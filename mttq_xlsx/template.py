"""Write locked report templates: one workbook per report, or one pre-filled per unit."""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from xlsxwriter.sharedstrings import SharedStrings
from xlsxwriter.utility import quote_sheetname, xl_col_to_name

from . import fieldmap, style
from .fieldmap import LISTS_SHEET, META_SHEET, UNITS_SHEET
from .layout import FIRST_BLOCK_ROW, SheetLayout, form_layout
from .model import SubUnit
from .output import atomic_path
from .periods import Period
from .roster import Unit, strip_diacritics
from .spec import Field, Spec
from .style import FONT, HEADER_TINT, INPUT_TINT, LINE_HEIGHT, SECTION_TINT
from .zipparts import ZipCopier

COL_WIDTHS = {0: 6, 1: 46}
VALUE_WIDTH = 16
ONE_LINE = LINE_HEIGHT + 2  # a template's rows are a little taller than the default
VALIDATION_TEXT = {
    "count": ("Số nguyên", "Nhập số nguyên không âm, ví dụ 1014 (không gõ dấu chấm, dấu phẩy)."),
    "amount": ("Số", "Nhập số không âm; phần thập phân dùng dấu phẩy theo máy, ví dụ 3797,118."),
    "date": ("Ngày", "Nhập ngày theo dạng ngày/tháng/năm, ví dụ 15/03/2024."),
    "list": ("Chọn trong danh sách", "Bấm mũi tên bên phải ô để chọn một mục."),
    "unit": ("Đơn vị", "Chọn tên đơn vị trong danh sách."),
    "text": ("Văn bản", "Nhập chữ, tối đa {max} ký tự."),
}
# Stand-ins for a unit's name and code in the workbook built once for all units (characters of
# Unicode's private use area, which no roster or spec holds), and the part that holds the texts.
_MARKS = Unit(code="\ue000unit_code\ue000", name="\ue000unit_name\ue000", parent_code="", kind="")
_STRINGS = "xl/sharedStrings.xml"
_UNITS_PER_WORKER = 200  # fewer, and starting another process costs more than it saves


@dataclass(frozen=True)
class TemplateRequest:
    spec: Spec
    period: Period
    unit: Unit | None = None  # None: a generic template
    roster: Sequence[Unit] = ()  # unit names for the dropdown of a generic template (not a unit's)
    generated_at: datetime | None = None
    # figures to fill in, e.g. a roll-up: an input's value, a derived cell's cached value, a table
    # column's list of values by row
    values: Mapping[str, Any] = field(default_factory=dict)
    sub_units: Sequence[SubUnit] = ()  # a roll-up's units, carried in a very hidden sheet


def template_filename(spec: Spec, period: Period, unit: Unit | None) -> str:
    """A name a person can read: report id, period, unit code, unit name without diacritics."""
    stem = f"{spec.id}_{period.id}"
    if unit:
        slug = re.sub(r"[^a-z0-9]+", "-", strip_diacritics(unit.name).lower()).strip("-")
        stem += f"_{unit.code}_{slug}"
    return f"{stem}.xlsx"


def write_template(request: TemplateRequest, target: Path) -> Path:
    with atomic_path(target) as tmp:
        _TemplateWriter(request, tmp).write()
    return target


def write_unit_templates(
    spec: Spec,
    period: Period,
    units: Sequence[Unit],
    folder: Path,
    generated_at: datetime | None = None,
    *,
    workers: int | None = None,
) -> list[Path]:
    """One pre-filled workbook per unit in `folder`, each what `write_template` writes for that unit
    alone (no roster: the unit's name is locked, nothing to choose from), in `workers` processes
    (default: as many as the machine has cores) when there are many units.

    The workbook is built once, with stand-ins for the unit's name and code; each unit's file is a
    copy of it whose shared-strings part carries the unit's own texts, the other parts copied as
    they were compressed.
    """
    if not units:
        return []
    copies = _UnitCopies(TemplateRequest(spec, period, _MARKS, generated_at=generated_at or datetime.now()))
    workers = min(workers or os.cpu_count() or 1, len(units) // _UNITS_PER_WORKER)
    if workers < 2:
        return [copies.write(unit, folder) for unit in units]
    chunks = [units[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers, initializer=_start_copies, initargs=(copies,)) as pool:
        written = list(pool.map(_write_copies, chunks, [folder] * workers))
    return [written[k % workers][k // workers] for k in range(len(units))]  # unit k is in chunk k % workers


class _UnitCopies:
    """The workbook of a report and period built once, with stand-ins for the unit's name and code."""

    def __init__(self, request: TemplateRequest) -> None:
        self.request = request
        with tempfile.TemporaryDirectory() as scratch:
            built = Path(scratch) / "mau.xlsx"
            _TemplateWriter(request, built).write()
            self.copier = ZipCopier(built.read_bytes())
        self.strings = self.copier.read(_STRINGS).decode()
        self.marks = (_shared_string(_MARKS.name), _shared_string(_MARKS.code))

    def write(self, unit: Unit, folder: Path) -> Path:
        """The unit's own workbook; written by the writer itself when the unit's name or code is a
        text the workbook already holds (the writer would share one string between them)."""
        spec, period = self.request.spec, self.request.period
        target = folder / template_filename(spec, period, unit)
        name, code = _shared_string(unit.name), _shared_string(unit.code)
        if name == code or name in self.strings or code in self.strings:
            return write_template(replace(self.request, unit=unit), target)
        own = self.strings.replace(self.marks[0], name).replace(self.marks[1], code)
        with atomic_path(target) as tmp:
            tmp.write_bytes(self.copier.copy({_STRINGS: own.encode()}))
        return target


_copies: _UnitCopies | None = None


def _start_copies(copies: _UnitCopies) -> None:
    global _copies
    _copies = copies


def _write_copies(units: Sequence[Unit], folder: Path) -> list[Path]:
    assert _copies is not None
    return [_copies.write(unit, folder) for unit in units]


def _shared_string(text: str) -> str:
    """The `<si>` element xlsxwriter writes for a text in the shared-strings part."""
    part = SharedStrings()
    out = io.StringIO()
    part._set_filehandle(out)
    part._write_si(text)
    return out.getvalue()


class _TemplateWriter:
    def __init__(self, request: TemplateRequest, path: Path) -> None:
        self.req = request
        self.spec = request.spec
        self.generated_at = (request.generated_at or datetime.now()).replace(microsecond=0)
        self.wb = style.workbook(path)
        self.wb.set_properties(
            {
                "title": self.spec.title,
                "subject": request.period.label,
                "author": "mttq-xlsx",
                "created": self.generated_at,
            }
        )
        self.fmt = style.Formats(self.wb)
        self.layouts = [form_layout(self.spec.cover, cover=True)] + [form_layout(f) for f in self.spec.forms]
        self.list_ranges: dict[str, str] = {}

    def write(self) -> None:
        sheets = [self.wb.add_worksheet(layout.form.sheet) for layout in self.layouts]
        if self.req.sub_units:
            self._write_units(self.wb.add_worksheet(UNITS_SHEET))
        lists_sheet = self.wb.add_worksheet(LISTS_SHEET)
        meta = self.wb.add_worksheet(META_SHEET)
        self._write_lists(lists_sheet)
        for ws, layout in zip(sheets, self.layouts, strict=True):
            if layout.form is self.spec.cover:
                self._write_cover(ws, layout)
            else:
                self._write_form(ws, layout)
        self._write_meta(meta)
        lists_sheet.very_hidden()
        meta.very_hidden()
        sheets[0].activate()
        self.wb.close()

    # ------------------------------------------------------------------ lists and metadata
    def _write_lists(self, ws: Any) -> None:
        lists = dict(self.spec.lists)
        if self.req.roster and not self.req.unit:  # a unit's own workbook has its name locked
            lists["_units"] = tuple(u.name for u in self.req.roster)
        for col, (name, items) in enumerate(sorted(lists.items())):
            ws.write_string(0, col, name)
            for i, item in enumerate(items):
                ws.write_string(i + 1, col, item)
            letter = xl_col_to_name(col)
            self.list_ranges[name] = f"={LISTS_SHEET}!${letter}$2:${letter}${len(items) + 1}"

    def _write_meta(self, ws: Any) -> None:
        req = self.req
        rows = fieldmap.sheet_rows(
            self.spec, self.layouts, req.period, req.unit, self.generated_at, bool(req.sub_units)
        )
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                ws.write_string(r, c, value)

    def _write_units(self, ws: Any) -> None:
        """A roll-up's units, a row each, in a very hidden, protected sheet: texts stay texts."""
        for r, row in enumerate(fieldmap.units_rows(self.spec, self.req.sub_units)):
            for c, value in enumerate(row):
                if isinstance(value, str):
                    ws.write_string(r, c, value)
                elif value is not None:
                    ws.write_number(r, c, value)
        ws.protect("")
        ws.very_hidden()

    # ------------------------------------------------------------------ sheets
    def _sheet_setup(self, ws: Any, layout: SheetLayout, landscape: bool) -> None:
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        if landscape:
            ws.set_landscape()
        ws.set_margins(left=0.6, right=0.4, top=0.6, bottom=0.6)
        ws.center_horizontally()
        ws.set_footer(f'&L&"{FONT}"&9{layout.form.title}&R&"{FONT}"&9Trang &P/&N')
        if layout.header_rows:
            ws.repeat_rows(*layout.header_rows)
        ws.protect("", {"format_columns": True, "format_rows": True})
        ws.hide_gridlines(2)

    def _title_rows(self, ws: Any, layout: SheetLayout) -> None:
        last = layout.width - 1
        title = self.fmt(bold=True, font_size=14, align="center", valign="vcenter", text_wrap=True)
        sub = self.fmt(italic=True, align="center", text_wrap=True)
        ws.merge_range(0, 0, 0, last, layout.form.title, title)
        ws.set_row(0, 36)
        ws.merge_range(1, 0, 1, last, self.spec.title, sub)
        ws.set_row(1, 32)
        unit_cell, period_cell = (self._cover_ref(fid) for fid in ("unit_name", "period_label"))
        formula = f'="Đơn vị: "&{unit_cell}&"     Kỳ báo cáo: "&{period_cell}'
        ws.merge_range(2, 0, 2, last, "", self.fmt(align="center"))
        ws.write_formula(2, 0, formula, self.fmt(align="center"), "")
        if layout.form.note:
            ws.merge_range(3, 0, 3, last, layout.form.note, self.fmt(italic=True, font_size=11))

    def _cover_ref(self, prefill: str) -> str:
        cover = self.layouts[0]
        f = next(f for f in cover.form.fields if f.prefill == prefill)
        return f"{quote_sheetname(cover.form.sheet)}!{cover.positions[f.id].ref}"

    def _write_cover(self, ws: Any, layout: SheetLayout) -> None:
        ws.set_column(0, 0, 4)
        ws.set_column(1, 1, 28)
        ws.set_column(2, 2, 50)
        title = self.fmt(bold=True, font_size=14, align="center")
        ws.merge_range(0, 0, 0, 2, layout.form.title, title)
        ws.merge_range(1, 0, 1, 2, self.spec.title, self.fmt(italic=True, align="center", text_wrap=True))
        ws.set_row(1, 32)
        ws.merge_range(
            2,
            0,
            2,
            2,
            "Điền các ô màu vàng; các ô khác đã khóa.",
            self.fmt(italic=True, font_size=11, align="center"),
        )
        label = self.fmt(bold=True, border=1, text_wrap=True, valign="vcenter")
        for r, row in layout.rows.items():
            ws.set_row(r, 22)
            ws.write_string(r, 1, row.label, label)
            for col, f in row.cells.items():
                self._write_value_cell(ws, r, col, f, layout)
        self._sheet_setup(ws, layout, landscape=False)

    def _write_form(self, ws: Any, layout: SheetLayout) -> None:
        for col in range(layout.width):
            ws.set_column(col, col, COL_WIDTHS.get(col, VALUE_WIDTH))
        self._title_rows(ws, layout)
        last = layout.width - 1
        header = self.fmt(
            bold=True,
            border=1,
            align="center",
            valign="vcenter",
            text_wrap=True,
            bg_color=HEADER_TINT,
        )
        section = self.fmt(bold=True, border=1, bg_color=SECTION_TINT, text_wrap=True)
        block = self.fmt(bold=True, italic=True, text_wrap=True)
        plain = self.fmt(border=1, text_wrap=True, valign="vcenter")
        centered = self.fmt(border=1, align="center", valign="vcenter")
        for r, row in sorted(layout.rows.items()):
            if row.kind == "section":
                ws.merge_range(r, 0, r, last, row.text, section)
                ws.set_row(r, _height((row.text, 100), bold=True))
            elif row.kind == "block":
                ws.merge_range(r, 0, r, last, row.text, block)
            elif row.kind == "header":
                for c in range(layout.width):
                    ws.write_string(r, c, row.headers[c] if c < len(row.headers) else "", header)
                widths = ((h, COL_WIDTHS.get(c, VALUE_WIDTH)) for c, h in enumerate(row.headers))
                ws.set_row(r, _height(*widths, bold=True))
            else:
                given = ((self._value(f, r, layout), c) for c, f in row.cells.items())  # a roll-up's
                texts = [(v, float(COL_WIDTHS.get(c, VALUE_WIDTH))) for v, c in given if isinstance(v, str)]
                ws.set_row(r, _height((row.label, COL_WIDTHS[1]), *texts))
                ws.write_string(r, 0, row.stt, centered)
                if 1 not in row.cells:
                    ws.write_string(r, 1, row.label, plain)
                if row.unit and 2 not in row.cells:
                    ws.write_string(r, 2, row.unit, centered)
                for c in range(layout.width):
                    if c in row.cells:
                        self._write_value_cell(ws, r, c, row.cells[c], layout)
                    elif c > 1 and not (c == 2 and row.unit):
                        ws.write_blank(r, c, None, plain)
        wide = layout.width > 6
        self._sheet_setup(ws, layout, landscape=wide)
        ws.freeze_panes(layout.header_rows[1] + 1 if layout.header_rows else FIRST_BLOCK_ROW, 0)

    # ------------------------------------------------------------------ cells
    def _ref(self, field_id: str, layout: SheetLayout) -> str:
        for other in self.layouts:
            if field_id in other.positions:
                ref = other.positions[field_id].ref
                return ref if other is layout else f"{quote_sheetname(other.form.sheet)}!{ref}"
        raise KeyError(field_id)

    def _formula(self, f: Field, layout: SheetLayout) -> str:
        if f.type == "total":
            parts = ",".join(self._ref(p, layout) for p in f.parts)
            return f'=IF(COUNT({parts})=0,"",SUM({parts}))'
        if f.type == "ratio":
            num, den = self._ref(f.numerator, layout), self._ref(f.denominator, layout)
            return f'=IF(OR({num}="",{den}="",{den}=0),"",{num}/{den})'
        # tally: how many table rows carry this value
        match = f.match.replace('"', '""')
        return f'=COUNTIF({self._ref(f.of, layout)},"{match}")'

    def _write_value_cell(self, ws: Any, r: int, c: int, f: Field, layout: SheetLayout) -> None:
        num_format = style.number_format(f, self.spec.field_index)
        value = self._value(f, r, layout)
        lines = isinstance(value, str) and "\n" in value  # a roll-up's gathered text: read from its top
        border = {
            "border": 1,
            "valign": "top" if lines else "vcenter",
            "num_format": num_format,
            "text_wrap": f.type in {"text", "list", "unit"},
        }
        if not f.is_input:  # cached: empty unless the figure is known (a roll-up's)
            cached = "" if value is None else value
            ws.write_formula(r, c, self._formula(f, layout), self.fmt(**border, bold=True), cached)
            return
        prefilled = self._prefill(f)
        if prefilled is not None:
            ws.write_string(r, c, prefilled, self.fmt(**border, bold=True))
            return
        ws.write(r, c, value, self.fmt(**border, locked=False, bg_color=INPUT_TINT))
        ws.data_validation(r, c, r, c, self._validation(f, value))

    def _value(self, f: Field, r: int, layout: SheetLayout) -> Any:
        """The figure given for the cell at row `r` (a table column's: that row's), else None."""
        value = self.req.values.get(f.id)
        if f.table and isinstance(value, list | tuple):
            i = r - layout.positions[f.id].row
            return value[i] if 0 <= i < len(value) else None
        return value

    def _prefill(self, f: Field) -> str | None:
        """The value of a cover field filled in by the office, or None when the unit fills it."""
        unit = self.req.unit
        if f.prefill == "period_label":
            return self.req.period.label
        if f.prefill == "unit_name" and unit:
            return unit.name
        if f.prefill == "unit_code":
            return unit.code if unit else ""
        return None

    def _validation(self, f: Field, value: Any = None) -> dict[str, Any]:
        title, message = VALIDATION_TEXT["text" if f.type == "unit" and not self.req.roster else f.type]
        v: dict[str, Any] = {
            "input_title": title,
            "error_type": "stop",
            "error_title": "Giá trị không hợp lệ",
        }
        period = self.req.period
        if f.type == "count":
            v |= {"validate": "integer", "criteria": ">=", "value": 0}
            error = "Ô này chỉ nhận số nguyên không âm."
        elif f.type == "amount":
            v |= {"validate": "decimal", "criteria": ">=", "value": 0}
            error = "Ô này chỉ nhận số không âm."
        elif f.type == "date":
            low, high = (period.start, period.end) if f.in_period else (date(2000, 1, 1), date(2100, 12, 31))
            v |= {"validate": "date", "criteria": "between", "minimum": low, "maximum": high}
            error = f"Ô này chỉ nhận ngày từ {low:%d/%m/%Y} đến {high:%d/%m/%Y}."
            message += f" Từ {low:%d/%m/%Y} đến {high:%d/%m/%Y}."
        elif f.type == "list" or (f.type == "unit" and self.req.roster):
            name = f.list_name or "_units"
            v |= {"validate": "list", "source": self.list_ranges[name]}
            error = "Hãy chọn một mục có trong danh sách."
        else:
            # a text given longer than the limit (gathered from units) stays editable
            limit = max(f.max_length or 255, len(value) if isinstance(value, str) else 0)
            v |= {"validate": "length", "criteria": "<=", "value": limit}
            message = message.format(max=limit)
            error = f"Tối đa {limit} ký tự."
        v["input_message"] = message[:255]
        v["error_message"] = f"{f.label}: {error}"[:255]
        return v


def _height(*texts: tuple[str, float], bold: bool = False) -> float:
    """A row tall enough for its wrapped texts: spreadsheet programs do not fit it on load."""
    return style.row_height(*texts, bold=bold) or ONE_LINE
