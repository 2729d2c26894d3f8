"""What the sheet `Biểu đồ` charts, computed from a consolidation: how many units reported on
time, late or not at all, and each ratio a spec names (`[charts] ratios`) unit by unit, highest
first; with many units only the highest and the lowest `SHOWN` of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .narrative import written
from .numbers import format_figure

if TYPE_CHECKING:
    from .consolidation import Consolidation
    from .model import Submission
    from .spec import Field

SHOWN = 15  # units per chart of the highest (and of the lowest) when there are more than 2·SHOWN
ON_TIME_COLOR, LATE_COLOR, MISSING_COLOR = "#70AD47", "#ED7D31", "#C00000"
RATIO_COLOR = "#4472C4"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | int
    note: str = ""  # how the value came about: "118/142"


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    percent: bool  # values are fractions shown as percents (else counts)
    colors: tuple[str, ...]  # one per bar


def charts(result: Consolidation) -> list[Chart]:
    """The completeness chart, then every charted ratio of every report received."""
    done = result.completeness
    units = done.received if result.roster else len(result.units)
    late = len(done.late)
    bars = [Bar("Đúng hạn", units - late), Bar("Nộp muộn", late)]
    colors = [ON_TIME_COLOR, LATE_COLOR]
    title = f"Tiến độ nộp báo cáo: đã nhận {units} đơn vị"
    if result.roster:
        bars.append(Bar("Chưa nộp", len(done.missing)))
        colors.append(MISSING_COLOR)
        title = f"Tiến độ nộp báo cáo: đã nhận {done.received}/{done.expected} đơn vị"
    out = [Chart(title, tuple(bars), False, tuple(colors))]
    names = result.unit_names
    for spec in result.specs:
        totals = result.totals.get(spec.id, {})
        index = spec.field_index
        subs = result.received(spec.id)
        for fid in spec.chart_ratios:
            f = index[fid]
            rates = result.unit_ratios(spec, f)  # in the order of subs
            ranked = sorted(((r, s) for r, s in zip(rates, subs, strict=True) if r is not None), key=_highest)
            if not ranked:
                continue
            total = totals.get(fid)
            overall = f" (chung: {written(f, total)})" if total is not None else ""
            title = f"{f.label}{overall}"
            if len(ranked) <= 2 * SHOWN:
                out.append(Chart(title, _bars(ranked, f, names), True, (RATIO_COLOR,) * len(ranked)))
                continue
            of = f" trên {format_figure(len(ranked))} đơn vị"
            for which, shown in (("cao nhất", ranked[:SHOWN]), ("thấp nhất", ranked[-SHOWN:])):
                heading = f"{title}: {SHOWN} đơn vị {which}{of}"
                out.append(Chart(heading, _bars(shown, f, names), True, (RATIO_COLOR,) * SHOWN))
    return out


def _highest(ranked: tuple[float, Submission]) -> float:
    return -ranked[0]


def _bars(ranked: Sequence[tuple[float, Submission]], f: Field, names: dict[str, str]) -> tuple[Bar, ...]:
    """The bars of units' ratios, each noted with its numerator and denominator ("118/142"); made
    for the bars shown only, as thousands of units are ranked for thirty bars."""
    return tuple(
        Bar(
            names.get(sub.unit_code, sub.unit_code),
            rate,
            f"{format_figure(sub.values[f.numerator])}/{format_figure(sub.values[f.denominator])}",  # type: ignore[arg-type]
        )
        for rate, sub in ranked
    )
