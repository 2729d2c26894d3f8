"""The roll-up: the consolidating unit's own report for the level above, made from its units'
reports by each field's aggregation (spec.py): sums in the input cells, live ratio formulas, texts
and table rows gathered unit by unit with the unit named. The workbook is a template of the report
(`template.write_template`) filled with these values, the consolidating unit in `_mttq`, and its
units' own figures carried in a very hidden sheet (`fieldmap.units_rows`), so the level above reads
it like any unit's file and can verify it against them (`crosslevel`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .model import SubUnit, Value, is_number
from .roster import Unit, clean_text, official_unit
from .spec import LIST, RECOMPUTE, SUM, Block, Spec

if TYPE_CHECKING:
    from .consolidation import Consolidation

CELL_LIMIT = 32767  # characters a spreadsheet cell holds


def rollup_unit(code: str, name: str | None = None, roster: Sequence[Unit] = ()) -> Unit:
    """The unit a roll-up is made for: the roster's unit with this code, else the official list's
    province or commune; `name` given overrides the name. Raises UsageError when neither knows it
    and no name is given."""
    code = clean_text(code)
    found = next((u for u in roster if u.code == code), None) or official_unit(code)
    if name:
        return (
            dataclasses.replace(found, name=clean_text(name))
            if found
            else Unit(code, clean_text(name), "", "")
        )
    if found is None:
        raise UsageError(
            f"Không tìm thấy đơn vị mã “{code}” trong danh sách đơn vị và danh sách tỉnh, xã chính thức. "
            "Hãy ghi tên đơn vị bằng --as-unit-name."
        )
    return found


def units_of(result: Consolidation, spec: Spec) -> list[SubUnit]:
    """The units whose accepted reports a roll-up of this report is made of, by code."""
    names = result.unit_names
    return [
        SubUnit(s.unit_code, names.get(s.unit_code, s.unit_name), s.values) for s in result.received(spec.id)
    ]


def rollup_values(result: Consolidation, spec: Spec) -> dict[str, Any]:
    """Field id -> the roll-up's value: the run's totals for summed and recomputed fields (a total
    as the sum of its parts, as its formula will give), texts and table rows gathered."""
    totals = result.totals.get(spec.id, {})
    units = units_of(result, spec)
    values: dict[str, Any] = {}
    for f in spec.fields:
        if f.table or f.aggregate not in (SUM, RECOMPUTE, LIST):
            continue
        if f.aggregate == LIST:
            values[f.id] = _gathered_text([(u.name, u.values.get(f.id)) for u in units])
        elif f.type == "total":
            parts = [values.get(p) for p in f.parts]
            present = [p for p in parts if is_number(p)]
            values[f.id] = _rounded(sum(present)) if present else None
        else:
            values[f.id] = totals.get(f.id)
    for block in (b for s in spec.sections for b in s.blocks if b.kind == "table"):
        if block.columns[0].aggregate == LIST:
            values |= _gathered_rows(block, units)
    return values


def rollup_spec(spec: Spec, values: dict[str, Any]) -> Spec:
    """The spec with each gathered table grown to hold its rows, when they are more than it has:
    the roll-up's field map then says where they are, and every reader follows it."""
    tables = [b for s in spec.sections for b in s.blocks if b.kind == "table"]
    need = {b.table_id: len(values.get(b.columns[0].id) or ()) for b in tables}
    if all(need[b.table_id] <= b.rows for b in tables):
        return spec

    def grown(block: Block) -> Block:
        rows = need.get(block.table_id, 0)
        if rows <= block.rows:
            return block
        columns = tuple(dataclasses.replace(c, rows=rows) for c in block.columns)
        return dataclasses.replace(block, fields=columns, columns=columns, rows=rows)

    forms = tuple(
        dataclasses.replace(
            form,
            sections=tuple(
                dataclasses.replace(s, blocks=tuple(grown(b) for b in s.blocks)) for s in form.sections
            ),
        )
        for form in spec.forms
    )
    return dataclasses.replace(spec, forms=forms)


def write_rollup(
    result: Consolidation,
    spec: Spec,
    unit: Unit,
    target: Path,
    generated_at: datetime | None = None,
) -> Path:
    """Write `unit`'s roll-up of one report of `result` to `target` (atomically)."""
    from .template import TemplateRequest, write_template  # imports xlsxwriter

    values = rollup_values(result, spec)
    request = TemplateRequest(
        rollup_spec(spec, values),
        result.period,
        unit,
        generated_at=generated_at,
        values=values,
        sub_units=units_of(result, spec),
    )
    return write_template(request, target)


def _rounded(total: float | int) -> float | int:
    return round(total, 9) if isinstance(total, float) else total


def _named(name: str, value: Any) -> str:
    text = "" if value is None else str(value)
    return f"{name}: {text}" if text else name


def _gathered_text(parts: list[tuple[str, Any]]) -> str | None:
    """Each unit's text on a line of its own, after its name; None when no unit wrote one."""
    lines = [_named(name, value) for name, value in parts if value is not None and str(value).strip()]
    text = "\n".join(lines)
    if len(text) > CELL_LIMIT:
        text = text[: CELL_LIMIT - 1] + "…"
    return text or None


def _gathered_rows(block: Block, units: list[SubUnit]) -> dict[str, list[Value]]:
    """Every filled row of each unit's table, in unit order, the unit named in the table's unit
    column."""
    ids = [c.id for c in block.columns]
    named = ids.index(block.unit_column)
    rows: list[list[Value]] = []
    for u in units:
        columns = [u.values.get(i) for i in ids]
        length = max((len(c) for c in columns if isinstance(c, list)), default=0)
        for i in range(length):
            row: list[Value] = [c[i] if isinstance(c, list) and i < len(c) else None for c in columns]
            if any(v is not None for v in row):
                row[named] = _named(u.name, row[named])
                rows.append(row)
    return {fid: [row[j] for row in rows] for j, fid in enumerate(ids)}
