"""Last period's figures (`--previous`), read from what mttq-xlsx wrote for that period: its JSON
report (`--report`) or its summary workbook (the content sheets: a row per unit, a column per
field, the `Tổng cộng` row). Only numbers are kept; the units are matched by their codes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import MttqError, UsageError
from .intake import readable
from .json_report import SCHEMA
from .model import is_number
from .periods import parse_period
from .spec import Field, Spec, load_spec, report_ids

Number = float | int
TOTALS_ROW = "Tổng cộng"  # the label of a content sheet's totals row (column C)
_HEADER = ("STT", "Mã đơn vị", "Tên đơn vị")  # a content sheet's first three columns
_WHAT_TO_GIVE = (
    "Hãy chỉ ra báo cáo JSON (tệp ghi bằng --report) hoặc bảng tổng hợp .xlsx do mttq-xlsx lập ở kỳ trước."
)


@dataclass(frozen=True)
class Previous:
    """The figures of last period: totals and each unit's, by report."""

    source: str  # the file, as users see its name
    period: str  # its label: "6 tháng đầu năm 2023"
    totals: dict[str, dict[str, Number]]  # report id -> field id -> total (only those with one)
    units: dict[str, dict[str, dict[str, Number]]]  # report id -> unit code -> field id -> figure

    def reported(self, report_id: str, field_id: str) -> int:
        """How many units gave the field last period."""
        return sum(field_id in values for values in self.units.get(report_id, {}).values())


def read_previous(path: str | Path) -> Previous:
    """Last period's figures from its JSON report (.json) or its summary workbook; UsageError,
    with what to give instead, when the file is neither."""
    path = Path(path)
    shown = readable(path)
    if not path.is_file():
        raise UsageError(f"Không thấy tệp kỳ trước “{shown}”. {_WHAT_TO_GIVE}")
    try:
        if path.suffix.lower() == ".json":
            return _from_json(path, shown)
        return _from_summary(path, shown)
    except MttqError:
        raise
    except Exception as exc:  # a file of another kind, or damaged: the user chose the wrong file
        raise UsageError(f"Không đọc được số liệu kỳ trước từ tệp “{shown}”. {_WHAT_TO_GIVE}") from exc


def _from_json(path: Path, shown: str) -> Previous:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"Tệp “{shown}” không phải báo cáo JSON của mttq-xlsx ({SCHEMA}). {_WHAT_TO_GIVE}")
    totals = {
        rid: {fid: v for fid, v in fields.items() if is_number(v)} for rid, fields in data["totals"].items()
    }
    units: dict[str, dict[str, dict[str, Number]]] = {}
    for code, reports in data["units"].items():
        for rid, values in reports.items():
            figures = {fid: v for fid, v in values.items() if is_number(v)}
            units.setdefault(rid, {})[code] = figures
    return Previous(shown, parse_period(data["period"]).label, totals, units)


def _from_summary(path: Path, shown: str) -> Previous:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    titles = {load_spec(rid).title: load_spec(rid) for rid in report_ids()}
    period = ""
    totals: dict[str, dict[str, Number]] = {}
    units: dict[str, dict[str, dict[str, Number]]] = {}
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        found = _content_sheet(rows, titles)
        if found is None:
            continue
        spec, period, header = found
        columns = _columns(spec, rows[header])
        report_totals = totals.setdefault(spec.id, {})
        report_units = units.setdefault(spec.id, {})
        for row in rows[header + 1 :]:
            if len(row) < 3 or not str(row[1]).strip():  # the totals row has no unit code
                if row and row[2:3] == [TOTALS_ROW]:
                    for fid, value in _figures(row, columns).items():
                        report_totals.setdefault(fid, value)
                break
            unit = report_units.setdefault(str(row[1]).strip(), {})
            for fid, value in _figures(row, columns).items():
                unit.setdefault(fid, value)
    if not units:
        raise UsageError(
            f"Tệp “{shown}” không có trang số liệu nào của bảng tổng hợp mttq-xlsx. {_WHAT_TO_GIVE}"
        )
    return Previous(shown, period, totals, units)


def _content_sheet(rows: list[list[Any]], titles: dict[str, Spec]) -> tuple[Spec, str, int] | None:
    """(spec, period label, header row) of a content sheet, whose second row reads
    "<report title> — <period>"; None for any other sheet."""
    if len(rows) < 2 or not rows[1] or not isinstance(rows[1][0], str):
        return None
    title, _, period = rows[1][0].rpartition(" — ")
    spec = titles.get(title)
    header = next((n for n, row in enumerate(rows[:10]) if tuple(row[:3]) == _HEADER), None)
    if spec is None or header is None:
        return None
    return spec, period, header


def _columns(spec: Spec, header: list[Any]) -> list[tuple[int, Field]]:
    """(column, field) for every header that is a numeric field's title (a ratio's part repeated
    from another content has a longer title, and is read on its own sheet)."""
    by_title = {f.titled: f for f in spec.fields if f.is_numeric and not f.table}
    return [(c, by_title[str(t)]) for c, t in enumerate(header) if str(t) in by_title]


def _figures(row: list[Any], columns: list[tuple[int, Field]]) -> dict[str, Number]:
    """Field id -> the number in its column of `row` (blanks and texts left out)."""
    figures: dict[str, Number] = {}
    for c, f in columns:
        value = row[c] if c < len(row) else None
        if is_number(value):
            figures[f.id] = value
    return figures
