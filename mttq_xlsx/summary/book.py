"""The summary workbook being written: its formats, sheet names, where things are, and the one table
helper every sheet uses (title rows, header row, widths, frozen panes, printing).

Formats are added to the workbook as they are first asked for, so the order in which the sheets
are written decides the bytes of the file (see `summary.write_summary`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from xlsxwriter.utility import quote_sheetname

from .. import __version__, style
from ..codes import ERROR, SEVERITY_WORDS
from ..consolidation import Consolidation
from ..model import Issue, is_number
from ..spec import Field, Spec, load_spec
from ..style import DATE_FORMAT, FONT, FONT_SIZE, HEADER_TINT, LINE_HEIGHT

SUMMARY_SHEET = "Tổng hợp"
PROGRESS_SHEET = "Tiến độ"
CHECKS_SHEET = "Kiểm tra"
NARRATIVE_SHEET = "Số liệu báo cáo"
COMPARISON_SHEET = "So sánh"
CHARTS_SHEET = "Biểu đồ"
UNITS_SHEET = "Đơn vị"
SOURCES_SHEET = "Nguồn"

ERROR_FILL = "#FFC7CE"
WARNING_FILL = "#FFEB9C"
LINK_COLOR = "#0563C1"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
NAME_WIDTH = 30
# A4 landscape holds about 128 columns of width 1 at 100%: wider tables are printed at 60%
# over several pages, the unit columns repeated, rather than shrunk to an unreadable size.
FIT_WIDTH_MAX = 230
WIDE_PRINT_SCALE = 60
SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


@dataclass(frozen=True)
class Column:
    """One column of a table: its header text, its width and the tint of its header cell."""

    title: str
    width: float
    tint: str = HEADER_TINT


def sheet_name(text: str, taken: set[str], fallback: str = "Trang") -> str:
    """A valid, unique sheet name for `text`; records it (case-folded) in `taken`.

    Drops the characters Excel forbids (``[]:*?/\\``), trims to 31 characters and appends
    " (2)", " (3)" … when the name is already used.
    """
    text = unicodedata.normalize("NFC", text)  # Excel counts UTF-16 units: no loose accents
    base = " ".join(_SHEET_NAME_BAD.sub(" ", text).split()).strip("'").strip()
    base = _cut(base, SHEET_NAME_MAX) or fallback
    name, n = base, 1
    while name.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        name = _cut(base, SHEET_NAME_MAX - len(suffix)) + suffix
    taken.add(name.casefold())
    return name


def _cut(text: str, limit: int) -> str:
    """`text` cut to `limit` UTF-16 code units (how Excel counts), without a trailing ' or space."""
    while len(text.encode("utf-16-le")) // 2 > limit:
        text = text[:-1]
    return text.rstrip().rstrip("'").rstrip()


def internal_link(sheet: str, cell: str = "A1") -> str:
    return f"internal:{quote_sheetname(sheet)}!{cell}"


def comment(issues: Sequence[Issue]) -> str:
    return "\n".join(f"{SEVERITY_WORDS.get(i.severity, i.severity)}: {i.message}" for i in issues)


def report_name(report_id: str) -> str:
    try:
        return load_spec(report_id).short_title
    except Exception:  # an unknown report id in a rejected file: show it as it is
        return report_id


class Book:
    """The workbook of one summary, and where its sheets and rows are."""

    def __init__(self, result: Consolidation, path: Path, with_unit_sheets: bool) -> None:
        self.r = result
        self.with_unit_sheets = with_unit_sheets
        self.wb = style.workbook(
            path,
            strings_to_numbers=False,
            remove_timezone=True,
            # Many units: every sheet is written top to bottom, so rows can be flushed.
            constant_memory=not with_unit_sheets,
        )
        self.wb.set_properties(
            {
                "title": "Bảng tổng hợp số liệu",
                "subject": result.period.label,
                "author": "mttq-xlsx",
                "comments": f"mttq-xlsx {__version__}",
                "created": datetime.combine(result.period.end, time()),
            }
        )
        self.fmt = style.Formats(self.wb, font_size=FONT_SIZE)
        self.cell_formats: dict[tuple[Any, ...], Any] = {}
        self.fills: dict[str, Any] = {}
        self.num_formats: dict[tuple[str, str], str] = {}
        self.taken: set[str] = {"history"}  # Excel reserves it
        fixed = [SUMMARY_SHEET, PROGRESS_SHEET, CHECKS_SHEET, SOURCES_SHEET]
        fixed += [NARRATIVE_SHEET, COMPARISON_SHEET, CHARTS_SHEET]
        if not with_unit_sheets:
            fixed.append(UNITS_SHEET)
        for name in fixed:
            sheet_name(name, self.taken)
        self.content_names = self._content_names()
        self.content_rows: dict[tuple[str, str, str], int] = {}  # (report, section, unit) -> row
        self.unit_sheets: dict[str, str] = {}  # unit code -> its sheet, in per-sheet mode
        self.unit_rows: dict[str, int] = {}  # unit code -> its first row on `Đơn vị`, in rows mode
        if with_unit_sheets:
            for unit in result.units:
                self.unit_sheets[unit.code] = sheet_name(
                    unit.name, self.taken, fallback=unit.code or "Đơn vị"
                )

    def _content_names(self) -> dict[tuple[str, str], str]:
        shorts = [s.short.casefold() for spec in self.r.specs for s in spec.sections]
        names = {}
        for spec in self.r.specs:
            for section in spec.sections:
                text = section.short
                if shorts.count(text.casefold()) > 1 or text.casefold() in self.taken:
                    text = f"{spec.short_title} - {section.short}"
                names[(spec.id, section.id)] = sheet_name(text, self.taken)
        return names

    def unit_target(self, code: str) -> str:
        """The link to a unit's own figures: its sheet, or its first row on `Đơn vị`."""
        if self.with_unit_sheets:
            return internal_link(self.unit_sheets[code])
        return internal_link(UNITS_SHEET, f"A{self.unit_rows[code] + 1}")

    # ------------------------------------------------------------------ formats
    def cell_fmt(self, num_format: str = "", fill: str = "", **props: Any) -> Any:
        key = (num_format, fill, *props.items())
        found = self.cell_formats.get(key)  # looked up once per value cell: keep it cheap
        if found is None:
            extra: dict[str, Any] = {"border": 1, "valign": "top", **props}
            if num_format:
                extra["num_format"] = num_format
            if fill:
                extra["bg_color"] = fill
            found = self.cell_formats[key] = self.fmt(**extra)
        return found

    def text_fmt(self, fill: str = "", **props: Any) -> Any:
        return self.cell_fmt(fill=fill, text_wrap=True, **props)

    def num_format(self, spec: Spec, f: Field) -> str:
        key = (spec.id, f.id)
        if key not in self.num_formats:
            self.num_formats[key] = style.number_format(f, spec.field_index)
        return self.num_formats[key]

    @staticmethod
    def severity_fill(issues: Sequence[Issue]) -> str:
        if not issues:
            return ""
        return ERROR_FILL if any(i.severity == ERROR for i in issues) else WARNING_FILL

    def cell(self, value: Any, num_format: str, issues: Sequence[Issue] = ()) -> tuple[Any, Any]:
        """One value as a unit reported it, as written, and its format, tinted when it has issues.

        None is a blank cell (not 0); a text that is not a number stays text.
        """
        fill = self.severity_fill(issues)
        if is_number(value):
            return value, self.cell_fmt(num_format, fill)
        if isinstance(value, date):
            return value, self.cell_fmt(DATETIME_FORMAT if isinstance(value, datetime) else DATE_FORMAT, fill)
        if value is None:
            return None, self.cell_fmt(num_format, fill)
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value if v is not None)
        return str(value), self.text_fmt(fill)

    def tint_rows(self, ws: Any, span: tuple[int, int, int, int], formula: str, fill: str) -> None:
        """Tint the rows of `span` where `formula` (written for its first row) holds."""
        if fill not in self.fills:
            self.fills[fill] = self.wb.add_format({"bg_color": fill})
        ws.conditional_format(*span, {"type": "formula", "criteria": formula, "format": self.fills[fill]})

    # ------------------------------------------------------------------ cells and rows
    @staticmethod
    def fit_row(ws: Any, row: int, *texts: tuple[str, float], bold: bool = False) -> None:
        """Make `row` tall enough for its wrapped texts; a one-line row keeps the default."""
        height = style.row_height(*texts, bold=bold)
        if height:
            ws.set_row(row, height)

    @staticmethod
    def text(ws: Any, row: int, col: int, text: str, fmt: Any) -> None:
        """A text, always as a string cell (never a formula); an empty text is a blank cell."""
        if text:
            ws.write_string(row, col, text, fmt)
        else:
            ws.write_blank(row, col, None, fmt)

    # ------------------------------------------------------------------ the one table helper
    def header_cells(self, ws: Any, row: int, columns: Sequence[Column]) -> None:
        """A bold, tinted, bordered header row, tall enough for its wrapped titles."""
        height = style.row_height(*((c.title, c.width) for c in columns), bold=True)
        ws.set_row(row, height or LINE_HEIGHT + 4)
        for c, col in enumerate(columns):
            header = self.fmt(
                bold=True,
                border=1,
                text_wrap=True,
                align="center",
                valign="vcenter",
                bg_color=col.tint,
            )
            self.text(ws, row, c, col.title, header)

    def table(
        self,
        ws: Any,
        header_row: int,
        columns: Sequence[Column],
        *,
        last_row: int | None = None,
        freeze_col: int = 0,
    ) -> None:
        """Header row, column widths, frozen header, autofilter down to `last_row`, printing."""
        for c, col in enumerate(columns):
            ws.set_column(c, c, col.width)
        self.header_cells(ws, header_row, columns)
        ws.freeze_panes(header_row + 1, freeze_col)
        if last_row is not None and last_row > header_row:
            ws.autofilter(header_row, 0, last_row, len(columns) - 1)
        ws.repeat_rows(header_row)
        ws.set_paper(9)  # A4
        ws.set_landscape()
        if sum(c.width for c in columns) <= FIT_WIDTH_MAX:
            ws.fit_to_pages(1, 0)
        else:  # fitting it would shrink the print below legibility: go on over pages instead
            ws.set_print_scale(WIDE_PRINT_SCALE)
            if freeze_col:
                ws.repeat_columns(0, freeze_col - 1)
        ws.set_margins(left=0.5, right=0.4, top=0.6, bottom=0.6)
        ws.set_footer(f'&L&"{FONT}"&9&A&R&"{FONT}"&9Trang &P/&N')

    def title_rows(self, ws: Any, lines: Sequence[str], columns: Sequence[Column]) -> int:
        """A bold title and italic lines under it, each across the table; returns the header row.

        One empty row is left between the lines and the header row.
        """
        width = sum(c.width for c in columns)
        last = len(columns) - 1
        for r, line in enumerate(lines):
            props: dict[str, Any] = {"text_wrap": True, "valign": "top"}
            props |= {"bold": True, "font_size": 14} if r == 0 else {"italic": True}
            ws.set_row(r, style.row_height((line, width * (0.85 if r == 0 else 1)), bold=r == 0))
            if last:
                ws.merge_range(r, 0, r, last, line, self.fmt(**props))
            else:
                self.text(ws, r, 0, line, self.fmt(**props))
        return len(lines) + 1
