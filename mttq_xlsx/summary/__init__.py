"""Write the summary workbook of one consolidation run: one module per kind of sheet, each laying
out what `Consolidation` computed.

Every sheet is written strictly top to bottom, so the many-units mode can use xlsxwriter's
``constant_memory``. Text that came from a submission is always written with ``write_string``
and the workbook is opened with ``strings_to_formulas`` off: a unit name such as
``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xlsxwriter.workbook

from .. import zipparts
from ..consolidation import Consolidation
from ..errors import UsageError
from ..output import atomic_path
from . import (
    charts,
    comparison,
    contents,
    issues,
    narrative,
    parallel,
    progress,
    rows,
    sources,
    totals,
    units,
)
from .book import (
    CHARTS_SHEET,
    CHECKS_SHEET,
    COMPARISON_SHEET,
    NARRATIVE_SHEET,
    PROGRESS_SHEET,
    SOURCES_SHEET,
    SUMMARY_SHEET,
    UNITS_SHEET,
    Book,
    sheet_name,
)

__all__ = ["PER_UNIT_MODES", "SHEETS", "per_unit_sheets", "sheet_name", "write_summary"]

PER_UNIT_MODES = ("auto", "sheets", "rows")
# From how many submissions the content sheets are written by a second process (forking costs
# some milliseconds; below this the whole summary takes a fraction of a second).
PARALLEL_FROM = 500
# The kinds of sheet, in their order in the workbook (design.md); "comparison" only with a previous
# period.
SHEETS = ("totals", "progress", "checks", "narrative", "comparison", "charts", "contents", "units", "sources")
# The kinds with one sheet of a fixed name.
SHEET_NAMES = {
    "totals": SUMMARY_SHEET,
    "progress": PROGRESS_SHEET,
    "checks": CHECKS_SHEET,
    "narrative": NARRATIVE_SHEET,
    "comparison": COMPARISON_SHEET,
    "charts": CHARTS_SHEET,
    "sources": SOURCES_SHEET,
}


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
        _write(Book(result, tmp, with_sheets))
    return target


def _write(book: Book) -> None:
    r, wb = book.r, book.wb
    sheets: dict[str, list[tuple[Any, Any]]] = {}  # kind -> (worksheet, what it shows)
    for kind in SHEETS:
        if kind == "contents":
            sheets[kind] = [
                (wb.add_worksheet(book.content_names[(spec.id, section.id)]), (spec, section))
                for spec in r.specs
                for section in spec.sections
            ]
        elif kind == "units":
            if book.with_unit_sheets:
                sheets[kind] = [(wb.add_worksheet(book.unit_sheets[u.code]), u) for u in r.units]
            else:
                sheets[kind] = [(wb.add_worksheet(UNITS_SHEET), None)]
        elif kind != "comparison" or r.previous is not None:
            sheets[kind] = [(wb.add_worksheet(SHEET_NAMES[kind]), None)]
    # Written in this order, not the sheets' (formats are added as first used, so this order
    # makes the bytes): the units' rows before Tiến độ, which links to them; the sheets of the
    # narrative, the comparison and the charts last, so that the others are written as before.
    (ws, _), *_ = sheets["totals"]
    totals.write(book, ws)

    def write_contents() -> None:
        for ws, (spec, section) in sheets["contents"]:
            contents.write(book, ws, spec, section)

    if parallel.usable(wb) and len(r.submissions) >= PARALLEL_FROM:
        # the content sheets, most of the cells, in a child process meanwhile: the same bytes
        with parallel.child_writes(wb, [ws for ws, _ in sheets["contents"]], write_contents):
            for _, (spec, section) in sheets["contents"]:
                contents.place(book, spec, section)
            _write_rest(book, sheets)
            for ws in wb.worksheets():  # while the child may still be writing
                if all(ws is not other for other, _ in sheets["contents"]):
                    rows.write_links_now(ws)
    else:
        write_contents()
        _write_rest(book, sheets)
    sheets["totals"][0][0].activate()
    with zipparts.deflating_in_parallel(xlsxwriter.workbook):  # the same bytes, on both cores
        wb.close()


def _write_rest(book: Book, sheets: dict[str, list[tuple[Any, Any]]]) -> None:
    """The sheets after the content sheets, in the order that makes the bytes."""
    for ws, unit in sheets["units"]:
        if unit is None:
            units.write_rows(book, ws)
        else:
            units.write_sheet(book, ws, unit)
    progress.write(book, sheets["progress"][0][0])
    issues.write(book, sheets["checks"][0][0])
    sources.write(book, sheets["sources"][0][0])
    narrative.write(book, sheets["narrative"][0][0])
    for ws, _ in sheets.get("comparison", ()):
        comparison.write(book, ws)
    charts.write(book, sheets["charts"][0][0])
