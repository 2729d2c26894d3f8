"""The cross-level check: a unit's own report against the reports of the units below it, field by
field by each field's aggregation (spec.py).

A summed count, amount or tally of the unit must equal the sum of its units' figures
(`rollup_mismatch`); a total or a ratio follows from the figures it is made of, which are compared,
and texts are the unit's own words. The units below are, for a roll-up, the units it carries in its
hidden sheet (checked as each file is read, by `check` too); in a run, the roster's units whose
`parent_code` is the unit, or, for a report given with `--against` of a unit the roster names as
nobody's parent, every unit of the inbox. A unit counted under two parents — carried by two
roll-ups, or carried by a roll-up and also counted by another parent or directly — makes the
figures count twice (`rollup_double_counted`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .checks import show_value
from .codes import ERROR
from .model import FileRecord, Issue, Submission, SubUnit, Value, is_number
from .periods import Period
from .spec import SUM, Field, Spec, load_spec

if TYPE_CHECKING:
    from .consolidation import Consolidation

COMPARED_TYPES = frozenset({"count", "amount", "tally"})  # totals and ratios follow from these
CARRIED = "theo số liệu từng đơn vị lưu kèm trong tệp tổng hợp"
INBOX = "theo báo cáo của các đơn vị trong hộp thư"
NAMES_SHOWN = 3
# Who counts a unit: (the parent's code, "" for the run itself; the parent's file; whether the parent
# carries the unit in its roll-up, rather than counting it by the roster or directly)
Claim = tuple[str, Submission, bool]


def compared_fields(spec: Spec) -> list[Field]:
    return [f for f in spec.fields if f.aggregate == SUM and f.type in COMPARED_TYPES and not f.table]


def compare(
    spec: Spec, parent: Submission, name: str, units: Sequence[SubUnit], where: str, period: Period
) -> list[Issue]:
    """A `rollup_mismatch` for every compared field where `parent`'s figure is not its units' sum."""
    expected = _totals(spec, units, period)
    shown = ", ".join(u.name or u.code for u in units[:NAMES_SHOWN]) + (
        ", …" if len(units) > NAMES_SHOWN else ""
    )
    issues = []
    for f in compared_fields(spec):
        held, want = parent.values.get(f.id), expected.get(f.id)
        if held is not None and not is_number(held):
            continue  # not a figure: the checks said so
        if _same(held, want):
            continue
        sheet, cell = parent.cells.get(f.id, ("", ""))
        place = f"Ô {sheet}!{cell}" if cell else f"Trường {f.id}"
        their = "không đơn vị nào ghi số liệu" if want is None else f"cộng lại được {show_value(want)}"
        issues.append(
            Issue(
                ERROR,
                parent.file.path,
                "rollup_mismatch",
                f"{place} ({f.label}): {name} ghi {_shown(held)} nhưng {len(units)} đơn vị trực thuộc "
                f"({shown}) {their}, {where}. Hãy sửa số liệu tổng hợp cho khớp, hoặc kiểm tra lại "
                "báo cáo của các đơn vị.",
                parent.unit_code,
                f.form_id,
                f.id,
                sheet,
                cell,
            )
        )
    return issues


def check_carried(sub: Submission, spec: Spec, period: Period) -> list[Issue]:
    """A roll-up against the units it carries."""
    if not sub.sub_units:
        return []
    return compare(spec, sub, sub.unit_name or sub.unit_code, sub.sub_units, CARRIED, period)


def check_levels(result: Consolidation, against: Sequence[Submission] = ()) -> list[Issue]:
    """Every unit of the run (or given with `--against`) that has units below it, against them; and
    every unit counted under two parents."""
    parent_of = {u.code: u.parent_code for u in result.roster if u.parent_code}
    parents_named = set(parent_of.values())
    listed = Counter(parent_of.values())  # parent code -> how many units the roster puts under it
    names = {**{s.unit_code: s.unit_name for s in against}, **result.unit_names}
    issues: list[Issue] = []
    for report_id in sorted({s.report_id for s in (*result.submissions, *against)}):
        spec = load_spec(report_id)
        run = result.received(report_id)
        given = [s for s in against if s.report_id == report_id]
        claims: dict[str, list[Claim]] = defaultdict(list)  # unit code -> who counts it
        for parent in [s for s in run if s.unit_code in parents_named] + given:
            if parent.unit_code in parents_named:
                units = [s for s in run if parent_of.get(s.unit_code) == parent.unit_code]
            else:
                units = [s for s in run if s is not parent]
            for s in units:
                claims[s.unit_code].append((parent.unit_code, parent, False))
            below = [SubUnit(s.unit_code, names.get(s.unit_code, s.unit_name), s.values) for s in units]
            if below and not _carried_alike(spec, parent.sub_units, below):
                name = names.get(parent.unit_code, parent.unit_name)
                where = INBOX
                if len(below) < listed[parent.unit_code]:
                    where += f" ({len(below)}/{listed[parent.unit_code]} đơn vị trực thuộc đã có báo cáo)"
                issues += compare(spec, parent, name, below, where, result.period)
        for s in (*run, *given):
            for u in s.sub_units:
                claims[u.code].append((s.unit_code, s, True))
        for s in run:
            if not any(not carried for _, _, carried in claims.get(s.unit_code, [])):
                claims[s.unit_code].append(("", s, False))  # counted directly in the run's totals
        carried_names = {u.code: u.name for s in (*run, *given) for u in s.sub_units}
        for code, holders in claims.items():
            if len({p for p, _, _ in holders}) > 1:
                issues.append(_double(code, holders, {**carried_names, **names}))
    return issues


def _double(code: str, holders: list[Claim], names: dict[str, str]) -> Issue:
    """A unit counted under more than one parent, on its own file when it is counted directly."""
    seen: set[str] = set()
    ways = []
    for parent, _, carried in holders:
        if parent in seen:
            continue
        seen.add(parent)
        if not parent:
            ways.append("báo cáo riêng của đơn vị, được cộng thẳng vào số liệu tổng hợp")
        elif carried:
            ways.append(f"báo cáo tổng hợp của {names.get(parent, parent)}")
        else:
            ways.append(f"số liệu của {names.get(parent, parent)} (theo danh sách đơn vị)")
    name = names.get(code, code)
    direct = next((s for p, s, carried in holders if not p), None)
    where = direct or holders[-1][1]
    return Issue(
        ERROR,
        where.file.path,
        "rollup_double_counted",
        f"Đơn vị {name} (mã {code}) được tính {len(ways)} lần: trong " + "; trong ".join(ways) + ". "
        "Số liệu của đơn vị bị cộng trùng; mỗi đơn vị chỉ được tính trong một đơn vị cấp trên. Hãy kiểm "
        "tra lại cột parent_code của danh sách đơn vị và các báo cáo tổng hợp.",
        code,
    )


def _carried_alike(spec: Spec, carried: list[SubUnit], units: list[SubUnit]) -> bool:
    """Whether a roll-up carries exactly these units with these figures (then it was compared
    with them when read, and comparing again would say the same twice)."""
    if [u.code for u in carried] != [u.code for u in units]:
        return False
    fields = compared_fields(spec)
    return all(
        _same(a.values.get(f.id), b.values.get(f.id))
        for a, b in zip(carried, units, strict=True)
        for f in fields
    )


def _totals(spec: Spec, units: Sequence[SubUnit], period: Period) -> dict[str, float | int | None]:
    """The units' totals, as a consolidation of their reports computes them."""
    from .consolidation import Consolidation

    subs = [
        Submission(FileRecord(u.code, ""), spec.id, spec.version, period.id, u.code, u.name, dict(u.values))
        for u in units
    ]
    return Consolidation(period, [], [], subs, []).totals.get(spec.id, {})


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if not (is_number(a) and is_number(b)):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _shown(value: Value) -> str:
    return "để trống" if value is None else show_value(value)
