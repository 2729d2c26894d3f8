"""Unit figures that stand out, found when last period's figures are given (`--previous`): an
`outlier` warning, never an error, on the unit's cell. Two rules (the README explains them):

- against the unit's own previous figure: an input count or amount that is at least `FACTOR`
  times, or at most 1/`FACTOR` of, last period's, and differs from it by at least `MIN_CHANGE`
  (so 0 → 3 is not flagged, 0 → 25 is);
- against the other units: a ratio of a unit (its own numerator over its own denominator, the
  denominator at least `MIN_DENOMINATOR`) whose modified z-score, 0,6745·(x − median)/MAD, is
  beyond `Z_LIMIT` and which is at least `MIN_GAP` (10 percentage points) from the median, among
  at least `MIN_PEERS` units. When MAD is 0 the mean absolute deviation stands in for it
  (z = (x − median)/(1,2533·meanAD)); when that is 0 too, every unit has the same ratio. A ratio
  that is 0 for more than half of the units (a rare event) is not compared.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from .checks import located
from .codes import WARNING
from .model import Issue, Submission, is_number
from .narrative import written
from .numbers import format_figure, format_number
from .spec import Field, Spec

if TYPE_CHECKING:
    from .consolidation import Consolidation
    from .previous import Previous

FACTOR = 3.0
MIN_CHANGE = 20
Z_LIMIT = 3.5
MIN_GAP = 0.10
MIN_PEERS = 5
MIN_DENOMINATOR = 10
_MAD_SCALE = 0.6745  # makes MAD comparable to a standard deviation for normal data
_MEAN_AD_SCALE = 1.253314  # the same for the mean absolute deviation
_CHECK = "hãy kiểm tra lại số liệu với đơn vị"


def find(result: Consolidation, previous: Previous) -> list[Issue]:
    """Every outlier of the accepted submissions, report by report, unit by unit."""
    issues: list[Issue] = []
    for spec in result.specs:
        subs = result.received(spec.id)
        issues += _against_previous(spec, subs, previous)
        issues += _against_peers(result, spec, subs)
    order = {s.file.path: n for n, s in enumerate(result.submissions)}
    fields = {f.id: n for spec in result.specs for n, f in enumerate(spec.fields)}
    return sorted(issues, key=lambda i: (order.get(i.path, 0), fields.get(i.field_id, 0)))


def _against_previous(spec: Spec, subs: list[Submission], previous: Previous) -> list[Issue]:
    then_units = previous.units.get(spec.id, {})
    issues = []
    for sub in subs:
        then = then_units.get(sub.unit_code)
        if not then:
            continue
        for f in spec.fields:
            if f.type not in ("count", "amount") or f.table:
                continue
            now, before = sub.values.get(f.id), then.get(f.id)
            if not (is_number(now) and is_number(before)) or abs(now - before) < MIN_CHANGE:
                continue
            then_was = f"kỳ trước ({previous.period}: {format_figure(before)})"
            if before == 0 or now == 0:
                how = f"kỳ trước ({previous.period}) là {format_figure(before)}"
            elif now >= before * FACTOR:
                how = f"gấp {format_number(now / before, 1)} lần {then_was}"
            elif now * FACTOR <= before:
                how = f"chỉ bằng {format_number(100 * now / before, 0)}% {then_was}"
            else:
                continue
            issues.append(_issue(sub, f, f"{format_figure(now)}, {how}; {_CHECK}."))
    return issues


def _against_peers(result: Consolidation, spec: Spec, subs: list[Submission]) -> list[Issue]:
    issues = []
    for f in spec.fields:
        if f.type != "ratio" or f.table:
            continue
        rates = []
        for sub in subs:
            den = sub.values.get(f.denominator)
            rate = result.unit_ratio(sub, f)
            if rate is not None and is_number(den) and den >= MIN_DENOMINATOR:
                rates.append((sub, rate))
        values = [rate for _, rate in rates]
        if len(values) < MIN_PEERS or 2 * values.count(0) > len(values):
            continue
        median = statistics.median(values)
        mad = statistics.median(abs(v - median) for v in values)
        spread = (
            mad / _MAD_SCALE if mad else _MEAN_AD_SCALE * statistics.fmean(abs(v - median) for v in values)
        )
        if not spread:
            continue
        for sub, rate in rates:
            if abs(rate - median) / spread > Z_LIMIT and abs(rate - median) >= MIN_GAP - 1e-9:
                side = "cao" if rate > median else "thấp"
                num, den = sub.values[f.numerator], sub.values[f.denominator]
                message = (
                    f"{written(f, rate)} ({format_figure(num)}/{format_figure(den)}), {side} hơn hẳn "  # type: ignore[arg-type]
                    f"các đơn vị khác (trung vị {written(f, median)} của {len(values)} đơn vị); {_CHECK}."
                )
                issues.append(_issue(sub, f, message))
    return issues


def _issue(sub: Submission, f: Field, message: str) -> Issue:
    sheet, cell, where = located(sub, f)
    return Issue(
        WARNING, sub.file.path, "outlier", f"{where}: {message}", sub.unit_code, f.form_id, f.id, sheet, cell
    )
