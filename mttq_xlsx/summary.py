"""Write the summary workbook of one consolidation run.

Sheets, in order: ``Tổng hợp`` (every total), ``Tiến độ`` (who has reported), ``Kiểm tra``
(every issue), one sheet per content with a row per unit and live ``SUM`` totals, the units'
own figures (a sheet per unit, or one ``Đơn vị`` sheet when there are many units), ``Nguồn``
(every file of the inbox).

Every sheet is written strictly top to bottom, so the many-units mode can use xlsxwriter's
``constant_memory``. Text that came from a submission is always written with ``write_string``
and the workbook is opened with ``strings_to_formulas`` off: a unit name such as
``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeGuard

import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_col_to_name

from . import __version__
from .codes import ACCEPTED, ERROR, IGNORED, REJECTED, SUPERSEDED, WARNING
from .errors import UsageError
from .model import Consolidation, Issue, Submission
from .numbers import PERCENT_FORMAT, format_ratio
from .output import atomic_path
from .spec import SUMMABLE_TYPES, Field, Section, Spec, load_spec
from .template import FONT, HEADER_TINT, LINE_HEIGHT, SECTION_TINT
from .xlsxrows import Cell, Link, write_cells

__all__ = ["PER_UNIT_MODES", "per_unit_sheets", "sheet_name", "write_summary"]

PER_UNIT_MODES = ("auto", "sheets", "rows")
SUMMARY_SHEET = "Tổng hợp"
PROGRESS_SHEET = "Tiến độ"
CHECKS_SHEET = "Kiểm tra"
UNITS_SHEET = "Đơn vị"
SOURCES_SHEET = "Nguồn"

SEVERITY_TEXT = {ERROR: "Lỗi", WARNING: "Cảnh báo"}
STATUS_TEXT = {
    ACCEPTED: "Đã nhận",
    REJECTED: "Bị loại",
    SUPERSEDED: "Bị thay thế",
    IGNORED: "Bỏ qua",
}
SUBMITTED, NOT_SUBMITTED = "Đã nộp", "Chưa nộp"
ON_TIME, LATE = "Đúng hạn", "Nộp muộn"

ERROR_FILL = "#FFC7CE"
WARNING_FILL = "#FFEB9C"
LATE_FILL = "#F8CBAD"
BORROWED_TINT = "#E2EFDA"  # header of a column repeated from another content for a ratio
TOTAL_TINT = "#FCE4D6"
LINK_COLOR = "#0563C1"

INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.00"
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"

NUMBER_WIDTH = 14
NAME_WIDTH = 30
HASH_WIDTH = 26
HASH_FONT_SIZE = 9
TEXT_WIDTH = 30
# A4 landscape holds about 128 columns of width 1 at 100%: wider tables are printed at 60%
# over several pages, the unit columns repeated, rather than shrunk to an unreadable size.
FIT_WIDTH_MAX = 230
WIDE_PRINT_SCALE = 60
MAX_ROW_HEIGHT = 409  # Excel's limit, in points
SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


@dataclass(frozen=True)
class Column:
    """One column of a table: its header text, its width and the tint of its header cell."""

    title: str
    width: float
    tint: str = HEADER_TINT


def per_unit_sheets(result: Consolidation, per_unit: str = "auto", unit_sheets_limit: int = 200) -> bool:
    """Whether the units' own figures get a sheet each (True) or rows on one `Đơn vị` sheet."""
    if per_unit not in PER_UNIT_MODES:
        raise UsageError(
            f"Cách trình bày số liệu từng đơn vị “{per_unit}” không hợp lệ; hãy chọn "
            "auto (tự chọn), sheets (mỗi đơn vị một trang) hoặc rows (một trang Đơn vị)."
        )
    if per_unit == "auto":
        return len({s.unit_code for s in result.submissions}) <= unit_sheets_limit
    return per_unit == "sheets"


def write_summary(
    result: Consolidation,
    target: Path,
    *,
    per_unit: str = "auto",
    unit_sheets_limit: int = 200,
) -> Path:
    """Write the summary workbook of `result` to `target` (atomically) and return `target`.

    `per_unit`: "sheets" gives every unit its own sheet, "rows" puts all units on one sheet
    `Đơn vị`, "auto" chooses sheets up to `unit_sheets_limit` units and rows above it.
    """
    with_sheets = per_unit_sheets(result, per_unit, unit_sheets_limit)
    with atomic_path(target) as tmp:
        _SummaryWriter(result, tmp, with_sheets).write()
    return target


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


# ---------------------------------------------------------------------------------- helpers


def _is_number(value: Any) -> TypeGuard[int | float]:
    kind = type(value)  # the exact types first: this runs for every value cell
    if kind is int:
        return True
    if kind is float:
        return math.isfinite(value)
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number_format(f: Field, index: dict[str, Field]) -> str:
    """Whole numbers for counts (and totals of counts), two decimals for amounts, % for ratios."""
    if f.type == "ratio":
        return PERCENT_FORMAT
    if f.type in {"count", "tally"}:
        return INTEGER_FORMAT
    if f.type == "total" and f.parts:
        parts = [index[p] for p in f.parts if p in index]
        if parts and all(_number_format(p, index) == INTEGER_FORMAT for p in parts):
            return INTEGER_FORMAT
    if f.type == "date":
        return DATE_FORMAT
    if f.is_numeric:
        return DECIMAL_FORMAT
    return "@"


def _unit_ratio(values: dict[str, Any], f: Field) -> float | None:
    """A unit's own ratio from its numerator and denominator; None when it cannot be computed."""
    num, den = values.get(f.numerator), values.get(f.denominator)
    if _is_number(num) and _is_number(den) and den != 0:
        return num / den
    return None


@lru_cache(maxsize=8192)  # labels and unit names repeat on every unit's rows
def _wrapped_lines(text: str, chars: int) -> int:
    """How many lines `text` takes when wrapped at word boundaries into lines of `chars`."""
    lines = 0
    for paragraph in text.split("\n"):
        used = -1  # no space before the first word
        lines += 1
        for word in paragraph.split():
            if used >= 0 and used + 1 + len(word) <= chars:
                used += 1 + len(word)
                continue
            if used >= 0:
                lines += 1
            lines += (len(word) - 1) // chars  # a word longer than a line is broken
            used = (len(word) - 1) % chars + 1
    return lines


def _row_height(*texts: tuple[str, float], bold: bool = False) -> float | None:
    """Height that shows each (text, column width) whole when wrapped; None for one line.

    Spreadsheet programs do not fit row heights on load, so the writer estimates them: a column
    of width w holds about 1.1·w characters of 12 pt Times New Roman (fewer in bold).
    """
    lines = 1
    for text, width in texts:
        if text:
            chars = max(int(width * (0.95 if bold else 1.1)) - 1, 1)
            lines = max(lines, _wrapped_lines(text, chars))
    if lines == 1:
        return None
    return min(LINE_HEIGHT * lines + 3, MAX_ROW_HEIGHT)


def _comment(issues: Sequence[Issue]) -> str:
    return "\n".join(f"{SEVERITY_TEXT.get(i.severity, i.severity)}: {i.message}" for i in issues)


def _cell_ref(cells: dict[str, tuple[str, str]], field_id: str) -> str:
    where = cells.get(field_id)
    return f"{where[0]}!{where[1]}" if where else ""


def _report_name(report_id: str) -> str:
    try:
        return load_spec(report_id).short_title
    except Exception:  # an unknown report id in a rejected file: show it as it is
        return report_id


def _internal_link(sheet: str, cell: str = "A1") -> str:
    return f"internal:{quote_sheetname(sheet)}!{cell}"


@dataclass
class _UnitBlock:
    """A unit's accepted submissions and where they go in the workbook."""

    code: str
    name: str
    submissions: list[Submission]
    sheet: str = ""  # its own sheet, in per-sheet mode
    first_row: int = 0  # its first row on the `Đơn vị` sheet, in rows mode


# ---------------------------------------------------------------------------------- writer


class _SummaryWriter:
    def __init__(self, result: Consolidation, path: Path, with_unit_sheets: bool) -> None:
        self.r = result
        self.with_unit_sheets = with_unit_sheets
        self.wb = xlsxwriter.Workbook(
            str(path),
            {
                "default_format_properties": {"font_name": FONT, "font_size": 12},
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "remove_timezone": True,
                # Many units: every sheet is written top to bottom, so rows can be flushed.
                "constant_memory": not with_unit_sheets,
            },
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
        self.formats: dict[tuple[tuple[str, Any], ...], Any] = {}
        self.cell_formats: dict[tuple[Any, ...], Any] = {}
        self.fills: dict[str, Any] = {}
        report_ids = sorted(set(result.totals) | {s.report_id for s in result.submissions})
        self.reports: list[Spec] = [load_spec(rid) for rid in report_ids]
        self.indexes = {r.id: r.field_index for r in self.reports}
        self.report_names = {r.id: r.short_title for r in self.reports}
        self.num_formats: dict[tuple[str, str], str] = {}
        self.layouts: dict[str, list[tuple[str, Field | None, str]]] = {}
        self.by_report: dict[str, list[Submission]] = {
            rid: sorted((s for s in result.submissions if s.report_id == rid), key=lambda s: s.unit_code)
            for rid in report_ids
        }
        self.unit_names = self._unit_names()
        self.issue_index = self._issue_index()
        self.units = self._unit_blocks()
        self.taken: set[str] = {"history"}  # Excel reserves it
        fixed = [SUMMARY_SHEET, PROGRESS_SHEET, CHECKS_SHEET, SOURCES_SHEET]
        if not with_unit_sheets:
            fixed.append(UNITS_SHEET)
        for name in fixed:
            sheet_name(name, self.taken)
        self.content_names = self._content_names()
        self.content_rows: dict[tuple[str, str, str], int] = {}  # (report, section, unit) -> row
        if with_unit_sheets:
            for unit in self.units:
                unit.sheet = sheet_name(unit.name, self.taken, fallback=unit.code or "Đơn vị")

    # ------------------------------------------------------------------ lookups
    def _unit_names(self) -> dict[str, str]:
        """Unit code -> name: the submission's own, else a file's, else the roster's."""
        names = {u.code: u.name for u in self.r.roster}
        names |= {f.unit_code: f.unit_name for f in self.r.files if f.unit_code and f.unit_name}
        names |= {s.unit_code: s.unit_name for s in self.r.submissions if s.unit_name}
        return names

    def _issue_index(self) -> dict[str, dict[str, list[Issue]]]:
        """File path -> field id -> issues, from the run's list and each submission's own."""
        index: dict[str, dict[str, list[Issue]]] = defaultdict(lambda: defaultdict(list))
        seen: set[tuple[str, ...]] = set()
        paths_by_unit: dict[str, set[str]] = defaultdict(set)
        for s in self.r.submissions:
            paths_by_unit[s.unit_code].add(s.file.path)
        own = [(s.file.path, i) for s in self.r.submissions for i in s.issues]
        for path, issue in [*((i.path, i) for i in self.r.issues), *own]:
            if not issue.field_id:
                continue
            key = tuple(issue.as_dict().values())
            if key in seen:
                continue
            seen.add(key)
            paths = paths_by_unit.get(issue.unit_code, set())
            if path not in paths and len(paths) == 1:
                path = next(iter(paths))  # the unit's only file, whatever path the issue names
            index[path][issue.field_id].append(issue)
        return index

    def _issues(self, s: Submission, field_id: str) -> list[Issue]:
        return self.issue_index.get(s.file.path, {}).get(field_id, [])

    def _unit_blocks(self) -> list[_UnitBlock]:
        grouped: dict[str, list[Submission]] = defaultdict(list)
        for s in self.r.submissions:
            grouped[s.unit_code].append(s)
        return [
            _UnitBlock(code, self.unit_names.get(code, code), sorted(subs, key=lambda s: s.report_id))
            for code, subs in sorted(grouped.items())
        ]

    def _content_names(self) -> dict[tuple[str, str], str]:
        shorts = [s.short.casefold() for r in self.reports for s in r.sections]
        names = {}
        for report in self.reports:
            for section in report.sections:
                text = section.short
                if shorts.count(text.casefold()) > 1 or text.casefold() in self.taken:
                    text = f"{report.short_title} - {section.short}"
                names[(report.id, section.id)] = sheet_name(text, self.taken)
        return names

    # ------------------------------------------------------------------ formats
    def fmt(self, **props: Any) -> Any:
        key = tuple(sorted(props.items()))
        if key not in self.formats:
            self.formats[key] = self.wb.add_format({"font_name": FONT, "font_size": 12, **props})
        return self.formats[key]

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

    @staticmethod
    def fit_row(ws: Any, row: int, *texts: tuple[str, float], bold: bool = False) -> None:
        """Make `row` tall enough for its wrapped texts; a one-line row keeps the default."""
        height = _row_height(*texts, bold=bold)
        if height:
            ws.set_row(row, height)

    @staticmethod
    def text(ws: Any, row: int, col: int, text: str, fmt: Any) -> None:
        """A text, always as a string cell (never a formula); an empty text is a blank cell."""
        if text:
            ws.write_string(row, col, text, fmt)
        else:
            ws.write_blank(row, col, None, fmt)

    @staticmethod
    def severity_fill(issues: Sequence[Issue]) -> str:
        if not issues:
            return ""
        return ERROR_FILL if any(i.severity == ERROR for i in issues) else WARNING_FILL

    # ------------------------------------------------------------------ the one table helper
    def header_cells(self, ws: Any, row: int, columns: Sequence[Column]) -> None:
        """A bold, tinted, bordered header row, tall enough for its wrapped titles."""
        height = _row_height(*((c.title, c.width) for c in columns), bold=True)
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
            ws.set_row(r, _row_height((line, width * (0.85 if r == 0 else 1)), bold=r == 0))
            if last:
                ws.merge_range(r, 0, r, last, line, self.fmt(**props))
            else:
                self.text(ws, r, 0, line, self.fmt(**props))
        return len(lines) + 1

    # ------------------------------------------------------------------ write
    def write(self) -> None:
        sheets: dict[str, Any] = {}
        for name in (SUMMARY_SHEET, PROGRESS_SHEET, CHECKS_SHEET):
            sheets[name] = self.wb.add_worksheet(name)
        content = {key: self.wb.add_worksheet(name) for key, name in self.content_names.items()}
        if self.with_unit_sheets:
            unit_sheets = [(u, self.wb.add_worksheet(u.sheet)) for u in self.units]
        else:
            sheets[UNITS_SHEET] = self.wb.add_worksheet(UNITS_SHEET)
        sheets[SOURCES_SHEET] = self.wb.add_worksheet(SOURCES_SHEET)

        self.write_totals(sheets[SUMMARY_SHEET])
        for report in self.reports:
            for section in report.sections:
                self.write_content(content[(report.id, section.id)], report, section)
        if self.with_unit_sheets:
            for unit, ws in unit_sheets:
                self.write_unit_sheet(ws, unit)
        else:
            self.write_units_rows(sheets[UNITS_SHEET])  # before Tiến độ: it sets the link rows
        self.write_progress(sheets[PROGRESS_SHEET])
        self.write_checks(sheets[CHECKS_SHEET])
        self.write_sources(sheets[SOURCES_SHEET])
        sheets[SUMMARY_SHEET].activate()
        self.wb.close()

    # ------------------------------------------------------------------ Tổng hợp
    def write_totals(self, ws: Any) -> None:
        columns = [
            Column("STT", 6),
            Column("Nội dung", 62),
            Column("Đơn vị tính", 13),
            Column("Tổng số", NUMBER_WIDTH),
            Column("Tỷ lệ / diễn giải", 24),
            Column("Số đơn vị báo cáo", 13),
        ]
        period = self.r.period
        deadline = self.r.deadline or period.deadline
        accepted = len(self.r.submissions)
        lines = [
            "BẢNG TỔNG HỢP SỐ LIỆU",
            f"Kỳ báo cáo: {period.label} (số liệu từ {period.start:%d/%m/%Y} đến "
            f"{period.end:%d/%m/%Y}; hạn nộp {deadline:%d/%m/%Y})",
            f"Tổng hợp tự động từ {accepted} báo cáo đã nhận của {len(self.units)} đơn vị "
            f"({len(self.r.files)} tệp); tỷ lệ chung = tổng tử số / tổng mẫu số, không lấy "
            f"trung bình. Lập bằng mttq-xlsx {__version__}.",
        ]
        if not self.with_unit_sheets:
            lines.append(
                f"Có {len(self.units)} đơn vị: thay vì mỗi đơn vị một trang, số liệu từng đơn vị là "
                f"một dòng ở trang từng nội dung; trang {UNITS_SHEET} liệt kê các đơn vị kèm liên kết."
            )
        header = self.title_rows(ws, lines, columns)
        self.table(ws, header, columns)
        last = len(columns) - 1
        row = header + 1
        for report in self.reports:
            n_units = len({s.unit_code for s in self.by_report[report.id]})
            ws.set_row(row, _row_height((report.title, 120)) or LINE_HEIGHT + 6)
            ws.merge_range(row, 0, row, last, report.title, self.fmt(bold=True, border=1, text_wrap=True))
            row += 1
            for section in report.sections:
                fields = [f for f in section.fields if f.is_numeric and not f.table]
                if not fields:
                    continue
                ws.merge_range(
                    row,
                    0,
                    row,
                    last,
                    section.title,
                    self.fmt(bold=True, border=1, bg_color=SECTION_TINT),
                )
                row += 1
                for stt, f in enumerate(fields, 1):
                    self._total_row(ws, row, stt, f, report.id, n_units)
                    row += 1

    def _total_row(
        self,
        ws: Any,
        row: int,
        stt: int,
        f: Field,
        report_id: str,
        n_units: int,
    ) -> None:
        totals = self.r.totals.get(report_id, {})
        reported = self.r.reported.get(report_id, {})
        self.fit_row(ws, row, (f.label, 62))
        ws.write_number(row, 0, stt, self.cell_fmt(align="center"))
        self.text(ws, row, 1, f.label, self.text_fmt())
        self.text(ws, row, 2, "%" if f.type == "ratio" else f.unit, self.cell_fmt(align="center"))
        explain = ""
        if f.type == "ratio":
            num, den = totals.get(f.numerator), totals.get(f.denominator)
            value = None
            if _is_number(num) and _is_number(den) and den != 0:
                value, explain = num / den, format_ratio(num, den)
            count = reported.get(f.id)
            if count is None:  # not counted upstream: units that gave both parts at most
                count = min(reported.get(f.numerator, 0), reported.get(f.denominator, 0))
        else:
            value = totals.get(f.id)
            count = reported.get(f.id, 0)
        number = self.cell_fmt(self.num_format(report_id, f))
        if _is_number(value):
            ws.write_number(row, 3, value, number)
        else:
            ws.write_blank(row, 3, None, number)
        self.text(ws, row, 4, explain, self.cell_fmt(align="center"))
        self.text(ws, row, 5, f"{count}/{n_units}", self.cell_fmt(align="center"))

    # ------------------------------------------------------------------ content sheets
    @staticmethod
    def content_fields(report: Spec, section: Section) -> tuple[list[tuple[Field, bool]], list[Field]]:
        """The numeric columns (field, borrowed from another content) and the text columns.

        A ratio's numerator and denominator are columns of the sheet, so its total can be a
        formula on the sheet: a part that belongs to another content is repeated right after
        the ratio.
        """
        index = report.field_index
        own = [f for f in section.fields if not f.table]
        own_ids = {f.id for f in own}
        numeric: list[tuple[Field, bool]] = []
        seen: set[str] = set()
        for f in own:
            if not f.is_numeric or f.id in seen:
                continue
            numeric.append((f, False))
            seen.add(f.id)
            if f.type == "ratio":
                for ref in (f.numerator, f.denominator):
                    if ref not in own_ids and ref not in seen and ref in index:
                        numeric.append((index[ref], True))
                        seen.add(ref)
        texts = [f for f in own if not f.is_numeric]
        return numeric, texts

    def write_content(self, ws: Any, report: Spec, section: Section) -> None:
        numeric, texts = self.content_fields(report, section)
        subs = self.by_report[report.id]
        columns = [Column("STT", 6), Column("Mã đơn vị", 12), Column("Tên đơn vị", NAME_WIDTH)]
        for f, borrowed in numeric:
            title = f.label + (f" ({f.unit})" if f.unit else " (%)" if f.type == "ratio" else "")
            if borrowed:
                title += " — nhắc lại để tính tỷ lệ"
            columns.append(Column(title, NUMBER_WIDTH, BORROWED_TINT if borrowed else HEADER_TINT))
        columns += [Column(f.label, TEXT_WIDTH) for f in texts]
        header = self.title_rows(
            ws,
            [section.title, f"{report.title} — {self.r.period.label}"],
            columns,
        )
        first, last = header + 1, header + len(subs)
        self.table(ws, header, columns, last_row=last, freeze_col=3)
        col_of = {f.id: 3 + i for i, (f, _) in enumerate(numeric)}
        # Looked up once per column, not once per cell: the loop below makes most of the cells
        # of the workbook. A cell with issues, or not a plain number or text, goes through cell().
        number_cols = [
            (col_of[f.id], f, f.type == "ratio", self.num_format(report.id, f)) for f, _ in numeric
        ]
        number_fmts = [self.cell_fmt(num_format) for _, _, _, num_format in number_cols]
        text_cols = list(enumerate(texts, 3 + len(numeric)))
        sums: list[float] = [0] * len(numeric)  # added in row order, as the totals always were
        counted = [0] * len(numeric)
        center, plain, wrapped = self.cell_fmt(align="center"), self.cell_fmt(), self.text_fmt()
        for n, s in enumerate(subs):
            row = first + n
            values = s.values
            self.content_rows[(report.id, section.id, s.unit_code)] = row
            name = self.unit_names.get(s.unit_code) or s.unit_name
            height = _row_height(
                (name, NAME_WIDTH), *((str(values.get(f.id) or ""), TEXT_WIDTH) for f in texts)
            )
            cells: list[Cell] = [(0, n + 1, center), (1, s.unit_code, plain), (2, name, wrapped)]
            comments: list[tuple[int, str]] = []
            flagged = self.issue_index.get(s.file.path)
            for i, (col, f, ratio, num_format) in enumerate(number_cols):
                value = _unit_ratio(values, f) if ratio else values.get(f.id)
                issues = flagged.get(f.id) if flagged else None
                if _is_number(value):
                    if not ratio:
                        sums[i] += value
                        counted[i] += 1
                    if not issues:
                        cells.append((col, value, number_fmts[i]))
                        continue
                cells.append((col, *self.cell(value, num_format, issues or ())))
                if issues:
                    comments.append((col, _comment(issues)))
            for col, f in text_cols:
                value = values.get(f.id)
                issues = flagged.get(f.id) if flagged else None
                if isinstance(value, str) and not issues:
                    cells.append((col, value, wrapped))
                    continue
                cells.append((col, *self.cell(value, "", issues or ())))
                if issues:
                    comments.append((col, _comment(issues)))
            write_cells(ws, row, cells, height, comments)
        row = last + 1
        total_fmt = self.fmt(bold=True, border=1, bg_color=TOTAL_TINT)
        ws.write_blank(row, 0, None, total_fmt)
        ws.write_blank(row, 1, None, total_fmt)
        self.text(ws, row, 2, "Tổng cộng", total_fmt)
        sum_of = {f.id: total for (f, _), total in zip(numeric, sums, strict=True)}
        count_of = {f.id: count for (f, _), count in zip(numeric, counted, strict=True)}
        for f, _ in numeric:
            self._total_formula(ws, row, f, col_of, sum_of, count_of, (first, last), report.id)
        for c in range(3 + len(numeric), len(columns)):
            ws.write_blank(row, c, None, total_fmt)
        tables = [b for b in section.blocks if b.kind == "table"]
        if tables:
            self.write_table_listing(ws, row + 2, tables, subs)

    def _total_formula(
        self,
        ws: Any,
        row: int,
        f: Field,
        col_of: dict[str, int],
        sums: dict[str, float],
        counted: dict[str, int],
        rows: tuple[int, int],
        report_id: str,
    ) -> None:
        num_format = self.num_format(report_id, f)
        total_fmt = self.fmt(bold=True, border=1, bg_color=TOTAL_TINT, num_format=num_format)
        col = col_of[f.id]
        first, last = rows
        if last < first:  # no unit sent this report
            ws.write_blank(row, col, None, total_fmt)
            return

        def span(field_id: str) -> str:
            letter = xl_col_to_name(col_of[field_id])
            return f"{letter}{first + 1}:{letter}{last + 1}"

        if f.type == "ratio":
            if f.numerator in col_of and f.denominator in col_of:
                num, den = span(f.numerator), span(f.denominator)
                den_sum = sums.get(f.denominator, 0)
                cached: Any = sums.get(f.numerator, 0) / den_sum if den_sum else ""
                formula = f'=IF(SUM({den})=0,"",SUM({num})/SUM({den}))'
                ws.write_formula(row, col, formula, total_fmt, cached)
            else:  # a part that is not a number column: the consolidated value only
                value = self.r.totals.get(report_id, {}).get(f.id)
                if _is_number(value):
                    ws.write_number(row, col, value, total_fmt)
                else:
                    ws.write_blank(row, col, None, total_fmt)
        elif f.type in SUMMABLE_TYPES:
            if counted.get(f.id):
                ws.write_formula(row, col, f"=SUM({span(f.id)})", total_fmt, sums[f.id])
            else:  # nobody reported it: blank, not 0
                rng = span(f.id)
                ws.write_formula(row, col, f'=IF(COUNT({rng})=0,"",SUM({rng}))', total_fmt, "")
        else:
            ws.write_blank(row, col, None, total_fmt)

    def write_table_listing(
        self, ws: Any, row: int, tables: Sequence[Any], subs: Sequence[Submission]
    ) -> None:
        """Below the totals: every filled row of the section's tables, unit by unit."""
        for block in tables:
            self.text(ws, row, 0, block.title, self.fmt(bold=True, italic=True))
            row += 1
            columns = [Column("STT", 6), Column("Mã đơn vị", 12), Column("Tên đơn vị", NAME_WIDTH)]
            columns += [Column(c.label, NUMBER_WIDTH) for c in block.columns]
            self.header_cells(ws, row, columns)
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
                    name = self.unit_names.get(s.unit_code, s.unit_name)
                    written: list[Cell] = [
                        (0, n, self.cell_fmt(align="center")),
                        (1, s.unit_code, self.cell_fmt()),
                        (2, name, self.text_fmt()),
                    ]
                    for c, (col, value) in enumerate(zip(block.columns, cells, strict=True), 3):
                        written.append((c, *self.cell(value, _number_format(col, {}))))
                    write_cells(ws, row, written, _row_height((name, NAME_WIDTH), *texts))
                    row += 1
            if not n:
                self.text(ws, row, 0, "Không đơn vị nào ghi dòng nào.", self.fmt(italic=True))
                row += 1
            row += 1

    def cell(self, value: Any, num_format: str, issues: Sequence[Issue] = ()) -> tuple[Any, Any]:
        """One value as a unit reported it, as written, and its format, tinted when it has issues.

        None is a blank cell (not 0); a text that is not a number stays text.
        """
        fill = self.severity_fill(issues)
        if _is_number(value):
            return value, self.cell_fmt(num_format, fill)
        if isinstance(value, date):
            return value, self.cell_fmt(DATETIME_FORMAT if isinstance(value, datetime) else DATE_FORMAT, fill)
        if value is None:
            return None, self.cell_fmt(num_format, fill)
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value if v is not None)
        return str(value), self.text_fmt(fill)

    # ------------------------------------------------------------------ the units' own figures
    def unit_rows(self, report_id: str) -> list[tuple[str, Field | None, str]]:
        """(kind, field, text) for a report in form order: a "section" row, then per block its
        "field" rows, or a "table" row followed by a "column" row per column."""
        if report_id not in self.layouts:
            report = load_spec(report_id)
            rows: list[tuple[str, Field | None, str]] = []
            for section in [*report.cover.sections, *report.sections]:
                rows.append(("section", None, section.title))
                for block in section.blocks:
                    if block.kind == "table":
                        rows.append(("table", None, block.title))
                        rows += [("column", f, f.label) for f in block.columns]
                    else:
                        rows += [("field", f, f.label) for f in block.fields]
            self.layouts[report_id] = rows
        return self.layouts[report_id]

    def num_format(self, report_id: str, f: Field) -> str:
        key = (report_id, f.id)
        if key not in self.num_formats:
            self.num_formats[key] = _number_format(f, self.indexes[report_id])
        return self.num_formats[key]

    @staticmethod
    def unit_value(s: Submission, f: Field) -> Any:
        """A value as the unit sent it; a ratio left empty is computed from its parts, a
        table column becomes its filled rows, one per line."""
        value = s.values.get(f.id)
        if f.type == "ratio" and value in (None, ""):
            value = _unit_ratio(s.values, f)
        if isinstance(value, list):
            value = "\n".join(str(v) for v in value if v not in (None, "")) or None
        return value

    def write_unit_sheet(self, ws: Any, unit: _UnitBlock) -> None:
        columns = [
            Column("Nội dung", 56),
            Column("Đơn vị tính", 12),
            Column("Giá trị", 28),
            Column("Ô trong tệp", 16),
            Column("Ghi chú", 40),
        ]
        header = self.title_rows(
            ws,
            [unit.name, f"Mã đơn vị: {unit.code} — Kỳ báo cáo: {self.r.period.label}"],
            columns,
        )
        ws.write_url(
            header - 1,
            0,
            _internal_link(PROGRESS_SHEET),
            self.fmt(font_color=LINK_COLOR, underline=1),
            "← Về trang Tiến độ",
        )
        self.table(ws, header, columns)
        row = header + 1
        last = len(columns) - 1
        for s in unit.submissions:
            report = load_spec(s.report_id)
            saved = f", lưu lúc {s.file.saved_at:%d/%m/%Y %H:%M}" if s.file.saved_at else ""
            heading = f"{report.title}\nTệp: {s.file.path}{saved}"
            self.fit_row(ws, row, (heading, 150))
            ws.merge_range(row, 0, row, last, heading, self.fmt(bold=True, border=1, text_wrap=True))
            row += 1
            for kind, f, text in self.unit_rows(s.report_id):
                if kind in {"section", "table"}:
                    style = self.fmt(bold=True, border=1, bg_color=SECTION_TINT, text_wrap=True)
                    if kind == "table":
                        style = self.fmt(bold=True, italic=True, border=1, text_wrap=True)
                    ws.merge_range(row, 0, row, last, text, style)
                    row += 1
                    continue
                assert f is not None
                value = self.unit_value(s, f)
                issues = self._issues(s, f.id)
                note = "\n".join(i.message for i in issues)
                shown = value if isinstance(value, str) else ""
                cells: list[Cell] = [
                    (0, text, self.text_fmt()),
                    (1, "%" if f.type == "ratio" else f.unit, self.cell_fmt(align="center")),
                    (2, *self.cell(value, self.num_format(s.report_id, f), issues)),
                    (3, _cell_ref(s.cells, f.id), self.cell_fmt()),
                    (4, note, self.text_fmt(self.severity_fill(issues))),
                ]
                height = _row_height((text, 56), (shown, 28), (note, 40))
                write_cells(ws, row, cells, height, [(2, _comment(issues))] if issues else [])
                row += 1
            row += 1

    def write_units_rows(self, ws: Any) -> None:
        """A row per unit and report, with links to its row on every content sheet.

        Thousands of units: their figures are already rows of the content sheets, so this
        sheet only indexes them instead of repeating every value.
        """
        sections = [(r.id, s) for r in self.reports for s in r.sections]
        columns = [
            Column("Mã đơn vị", 12),
            Column("Tên đơn vị", NAME_WIDTH),
            Column("Báo cáo", 18),
            Column("Tệp", 40),
            Column("Lỗi", 8),
            Column("Cảnh báo", 10),
            *(Column(section.short, 12) for _, section in sections),
        ]
        rows = [(unit, s) for unit in self.units for s in unit.submissions]
        header = self.title_rows(
            ws,
            [
                "SỐ LIỆU TỪNG ĐƠN VỊ",
                f"Kỳ báo cáo: {self.r.period.label} — mỗi đơn vị một dòng; bấm “Xem” để tới "
                "dòng của đơn vị ở trang từng nội dung",
            ],
            columns,
        )
        self.table(ws, header, columns, last_row=header + len(rows), freeze_col=2)
        plain, wrapped = self.cell_fmt(), self.text_fmt()
        link = self.text_fmt(font_color=LINK_COLOR, underline=1)
        counts = Counter((i.path, i.severity) for i in self.r.issues)
        links = [  # quoted once per sheet, not once per link
            (report_id, section.id, _internal_link(self.content_names[(report_id, section.id)], "A"))
            for report_id, section in sections
        ]
        for row, (unit, s) in enumerate(rows, header + 1):
            if not unit.first_row:
                unit.first_row = row
            cells: list[Cell] = [
                (0, unit.code, plain),
                (1, unit.name, wrapped),
                (2, self.report_names[s.report_id], wrapped),
                (3, s.file.path, wrapped),
                (4, counts[(s.file.path, ERROR)], plain),
                (5, counts[(s.file.path, WARNING)], plain),
            ]
            for col, (report_id, section_id, column_a) in enumerate(links, 6):
                target = self.content_rows.get((report_id, section_id, s.unit_code))
                if report_id == s.report_id and target is not None:
                    cells.append((col, Link(f"{column_a}{target + 1}", "Xem"), link))
                else:
                    cells.append((col, None, plain))
            write_cells(ws, row, cells)

    # ------------------------------------------------------------------ Tiến độ
    def write_progress(self, ws: Any) -> None:
        columns = [
            Column("STT", 6),
            Column("Mã đơn vị", 12),
            Column("Tên đơn vị", NAME_WIDTH),
            Column("Báo cáo", 20),
            Column("Tình trạng", 13),
            Column("Đúng hạn", 13),
            Column("Tệp", 40),
            Column("Thời điểm lưu", 18),
        ]
        by_code = {u.code: u for u in self.units}
        if self.r.roster:
            wanted = [(u.code, u.name) for u in self.r.roster]
        else:
            wanted = [(u.code, u.name) for u in self.units]
        rows: list[tuple[str, str, Submission | None]] = []
        for code, name in wanted:
            unit = by_code.get(code)
            if unit is None:
                rows.append((code, name, None))
            else:
                rows += [(code, name, s) for s in unit.submissions]
        c = self.r.completeness
        header = self.title_rows(
            ws,
            [
                "TIẾN ĐỘ NỘP BÁO CÁO",
                f"Đã nhận {c.received}/{c.expected} đơn vị; chưa nộp: {len(c.missing)}; "
                f"nộp muộn: {len(c.late)}",
            ],
            columns,
        )
        first, last = header + 1, header + len(rows)
        self.table(ws, header, columns, last_row=last, freeze_col=3)
        link = self.text_fmt(font_color=LINK_COLOR, underline=1)
        center, plain, wrapped = self.cell_fmt(align="center"), self.cell_fmt(), self.text_fmt()
        saved_fmt = self.cell_fmt(DATETIME_FORMAT)
        for n, (code, name, s) in enumerate(rows, 1):
            path = s.file.path if s else ""
            target = self._unit_target(by_code.get(code)) if s else ""
            cells: list[Cell] = [
                (0, n, center),
                (1, code, plain),
                (2, Link(target, name or code), link) if target else (2, name, wrapped),
                (3, _report_name(s.report_id) if s else "", wrapped),
                (4, SUBMITTED if s else NOT_SUBMITTED, plain),
                (5, "" if not s else LATE if s.file.late else ON_TIME, plain),
                (6, path, wrapped),
                (7, s.file.saved_at, saved_fmt) if s and s.file.saved_at else (7, None, plain),
            ]
            write_cells(ws, header + n, cells, _row_height((name, NAME_WIDTH), (path, 40)))
        if rows:
            span = (first, 0, last, len(columns) - 1)
            self._tint_rows(ws, span, f'=${xl_col_to_name(4)}{first + 1}="{NOT_SUBMITTED}"', ERROR_FILL)
            self._tint_rows(ws, span, f'=${xl_col_to_name(5)}{first + 1}="{LATE}"', LATE_FILL)

    def _unit_target(self, unit: _UnitBlock | None) -> str:
        if unit is None:
            return ""
        if self.with_unit_sheets:
            return _internal_link(unit.sheet)
        return _internal_link(UNITS_SHEET, f"A{unit.first_row + 1}")

    def _tint_rows(self, ws: Any, span: tuple[int, int, int, int], formula: str, fill: str) -> None:
        """Tint the rows of `span` where `formula` (written for its first row) holds."""
        if fill not in self.fills:
            self.fills[fill] = self.wb.add_format({"bg_color": fill})
        ws.conditional_format(*span, {"type": "formula", "criteria": formula, "format": self.fills[fill]})

    # ------------------------------------------------------------------ Kiểm tra
    def write_checks(self, ws: Any) -> None:
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
        issues = self.r.issues
        header = self.title_rows(
            ws,
            [
                "KIỂM TRA SỐ LIỆU",
                f"{sum(i.severity == ERROR for i in issues)} lỗi, "
                f"{sum(i.severity != ERROR for i in issues)} cảnh báo",
            ],
            columns,
        )
        first, last = header + 1, header + len(issues)
        self.table(ws, header, columns, last_row=last if issues else None, freeze_col=2)
        if not issues:
            ws.merge_range(first, 0, first, len(columns) - 1, "Không có lỗi", self.cell_fmt(italic=True))
            return
        center, wrapped = self.cell_fmt(align="center"), self.text_fmt()
        for n, issue in enumerate(issues, 1):
            row = header + n
            name = self.unit_names.get(issue.unit_code, "") if issue.unit_code else ""
            texts = (
                SEVERITY_TEXT.get(issue.severity, issue.severity),
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
            height = _row_height((issue.message, 60), (issue.path, 30), (name, 24))
            write_cells(ws, row, cells, height)
        span = (first, 0, last, len(columns) - 1)
        self._tint_rows(ws, span, f'=$B{first + 1}="{SEVERITY_TEXT[ERROR]}"', ERROR_FILL)
        self._tint_rows(ws, span, f'=$B{first + 1}="{SEVERITY_TEXT[WARNING]}"', WARNING_FILL)

    # ------------------------------------------------------------------ Nguồn
    def write_sources(self, ws: Any) -> None:
        columns = [
            Column("STT", 6),
            Column("Tệp", 36),
            Column("SHA-256", HASH_WIDTH),
            Column("Tình trạng", 13),
            Column("Mã lý do", 21),
            Column("Lý do", 36),
            Column("Báo cáo", 18),
            Column("Mã đơn vị", 12),
            Column("Tên đơn vị", 24),
            Column("Kỳ", 10),
            Column("Thời điểm lưu", 18),
        ]
        files = self.r.files
        header = self.title_rows(
            ws,
            ["NGUỒN SỐ LIỆU", f"{len(files)} tệp trong hộp thư; mỗi tệp một dòng, kèm mã SHA-256"],
            columns,
        )
        self.table(ws, header, columns, last_row=header + len(files), freeze_col=2)
        hash_room = HASH_WIDTH * 12 / HASH_FONT_SIZE  # the hash is written smaller
        center, plain, saved_fmt = (
            self.cell_fmt(align="center"),
            self.cell_fmt(),
            self.cell_fmt(DATETIME_FORMAT),
        )
        wrapped, hash_fmt = self.text_fmt(), self.text_fmt(font_size=HASH_FONT_SIZE)
        for n, f in enumerate(files, 1):
            row = header + n
            name = f.unit_name or self.unit_names.get(f.unit_code, "")
            texts = (
                f.path,
                f.sha256,
                STATUS_TEXT.get(f.status, f.status),
                f.reason,
                f.message,
                _report_name(f.report_id) if f.report_id else "",
                f.unit_code,
                name,
                f.period,
            )
            cells: list[Cell] = [(0, n, center)]
            cells += [(c, text, hash_fmt if c == 2 else wrapped) for c, text in enumerate(texts, 1)]
            cells.append((10, f.saved_at, saved_fmt) if f.saved_at else (10, None, plain))
            height = _row_height((f.path, 36), (f.sha256, hash_room), (f.message, 36), (name, 24))
            write_cells(ws, row, cells, height)
