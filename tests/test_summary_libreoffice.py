"""The live `SUM` totals of the summary of the sample inbox, checked two ways.

Every totals-row formula of every content sheet is parsed: its ranges cover exactly the unit rows
of the sheet, in its own column (a ratio: its numerator's and denominator's columns), and the
value the writer cached is the sum of those cells and the consolidated total. Then real
LibreOffice recalculates the workbook and must get the same value for every one of them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from mttq_xlsx import Options, consolidate, write_summary
from mttq_xlsx.consolidation import Consolidation
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import read_roster
from mttq_xlsx.spec import Field, load_spec
from tools import libreoffice as lo
from tools import sample_plan as plan

ROOT = Path(__file__).resolve().parents[1]
REPORT = load_spec(plan.REPORT_ID)
REPEATED = " — nhắc lại để tính tỷ lệ"  # the header of a ratio's part shown again in another content
RANGE = re.compile(r"\$?([A-Z]+)\$?(\d+):\$?([A-Z]+)\$?(\d+)")


@dataclass(frozen=True)
class Total:
    """One formula of a content sheet's totals row."""

    sheet: str
    cell: str
    formula: str
    field: Field
    units: tuple[int, int]  # the first and last unit row (1-based)
    columns: dict[str, str]  # field id -> column letter, for the sheet's number columns


@dataclass(frozen=True)
class Summary:
    path: Path
    result: Consolidation
    totals: list[Total]


def _field_of(title: str) -> Field | None:
    """The field a content sheet's column header names (label, then its unit or "(%)")."""
    title = title.removesuffix(REPEATED)
    for f in REPORT.fields:
        if title == f.label + (f" ({f.unit})" if f.unit else " (%)" if f.type == "ratio" else ""):
            return f
    return None


def _totals(path: Path) -> list[Total]:
    """Every formula of every content sheet's totals row (`Tổng cộng`)."""
    found = []
    for ws in openpyxl.load_workbook(path).worksheets:
        column_c = [ws.cell(r, 3).value for r in range(1, ws.max_row + 1)]
        if "Tổng cộng" not in column_c:
            continue
        header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "STT")
        total = column_c.index("Tổng cộng") + 1
        assert [ws.cell(header, c).value for c in (1, 2, 3)] == ["STT", "Mã đơn vị", "Tên đơn vị"]
        columns = {}
        for c in range(4, ws.max_column + 1):
            f = _field_of(str(ws.cell(header, c).value or ""))
            if f is not None and f.is_numeric:
                columns.setdefault(f.id, get_column_letter(c))
        for c in range(4, ws.max_column + 1):
            formula = ws.cell(total, c).value
            if isinstance(formula, str) and formula.startswith("="):
                field = _field_of(str(ws.cell(header, c).value))
                assert field is not None, (ws.title, ws.cell(header, c).value)
                cell = f"{get_column_letter(c)}{total}"
                found.append(Total(ws.title, cell, formula, field, (header + 1, total - 1), columns))
    return found


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> Summary:
    roster = tuple(read_roster(ROOT / "samples" / "don-vi.csv"))
    options = Options(period=parse_period(plan.PERIOD), roster=roster, deadline=plan.DEADLINE)
    result = consolidate(ROOT / "samples" / "inbox", options)
    path = write_summary(result, tmp_path_factory.mktemp("summary") / "tong-hop.xlsx")
    return Summary(path, result, _totals(path))


def _values(path: Path, totals: list[Total]) -> dict[str, Any]:
    """The cached value of each totals cell, and of each unit row of its column ("" and None: blank)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    out: dict[str, Any] = {}
    for t in totals:
        ws = wb[t.sheet]
        value = ws[t.cell].value
        out[f"{t.sheet}!{t.cell}"] = None if value == "" else value
        for letter in t.columns.values():
            for row in range(t.units[0], t.units[1] + 1):
                out[f"{t.sheet}!{letter}{row}"] = ws[f"{letter}{row}"].value
    return out


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def test_every_content_sheet_has_its_totals(summary: Summary) -> None:
    sheets = {t.sheet for t in summary.totals}
    assert len(sheets) == len(REPORT.sections)
    units = len(summary.result.submissions)
    assert units == len(plan.UNITS)
    assert {t.units[1] - t.units[0] + 1 for t in summary.totals} == {units}
    summed = {t.field.id for t in summary.totals}
    numeric = {f.id for f in REPORT.fields if f.is_numeric and not f.table}
    assert numeric - summed == set()  # every summable figure and ratio has a live total somewhere


def test_every_range_covers_exactly_the_unit_rows_of_its_column(summary: Summary) -> None:
    wrong = []
    for t in summary.totals:
        ranges = RANGE.findall(t.formula)
        first, last = t.units
        letters = {a for a, _, b, _ in ranges} | {b for _, _, b, _ in ranges}
        rows = {(int(r1), int(r2)) for _, r1, _, r2 in ranges}
        if t.field.type == "ratio":
            want = {t.columns[t.field.numerator], t.columns[t.field.denominator]}
        else:
            want = {t.cell.rstrip("0123456789")}
        if not ranges or letters != want or rows != {(first, last)}:
            wrong.append((t.sheet, t.cell, t.formula, sorted(want), (first, last)))
    assert wrong == []


def test_cached_totals_are_the_sums_of_the_unit_rows_and_the_consolidated_totals(summary: Summary) -> None:
    values = _values(summary.path, summary.totals)
    consolidated = summary.result.totals[plan.REPORT_ID]
    wrong = []
    for t in summary.totals:
        cached = values[f"{t.sheet}!{t.cell}"]

        def column_sum(field_id: str, t: Total = t) -> float | None:
            letter = t.columns[field_id]
            cells = [values[f"{t.sheet}!{letter}{r}"] for r in range(t.units[0], t.units[1] + 1)]
            numbers = [v for v in cells if isinstance(v, int | float)]
            return sum(numbers) if numbers else None

        if t.field.type == "ratio":
            num, den = column_sum(t.field.numerator), column_sum(t.field.denominator)
            resummed = num / den if num is not None and den else None
        else:
            resummed = column_sum(t.field.id)
        if not (_same(cached, resummed) and _same(cached, consolidated[t.field.id])):
            wrong.append((t.sheet, t.cell, t.formula, cached, resummed, consolidated[t.field.id]))
    assert wrong == []


@pytest.mark.libreoffice
def test_libreoffice_recalculates_every_total_to_the_cached_value(summary: Summary, tmp_path: Path) -> None:
    reason = lo.available()
    if reason is not None:
        pytest.skip(reason)
    (done,) = lo.run_jobs([{"src": summary.path, "dst": tmp_path / "tinh-lai.xlsx", "recalculate": True}])
    assert done["ok"], done
    cached = _values(summary.path, summary.totals)
    recalculated = _values(Path(done["dst"]), summary.totals)
    consolidated = summary.result.totals[plan.REPORT_ID]
    cells = [f"{t.sheet}!{t.cell}" for t in summary.totals]
    wrong = {
        cell: (recalculated[cell], cached[cell], consolidated[t.field.id])
        for cell, t in zip(cells, summary.totals, strict=True)
        if not (
            _same(recalculated[cell], cached[cell]) and _same(recalculated[cell], consolidated[t.field.id])
        )
    }
    assert wrong == {}
    assert len(cells) == len(summary.totals) > 0
    # the figures the province reported, as LibreOffice computes them from the unit rows
    by_field = {t.field.id: recalculated[f"{t.sheet}!{t.cell}"] for t in summary.totals}
    assert {k: by_field[k] for k in plan.PROVINCE_REPORT} == plan.PROVINCE_REPORT
