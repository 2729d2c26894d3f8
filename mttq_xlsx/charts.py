"""What the sheet `Biểu đồ` charts, computed from a consolidation: how many units reported on
time, late or not at all, and each ratio a spec names (`[charts] ratios`) unit by unit, highest
first; with many units only the highest and the lowest `SHOWN` of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .narrative import written
from .numbers import format_figure

if TYPE_CHECKING:
    from .consolidation import Consolidation

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
        for fid in spec.chart_ratios:
            f = index[fid]
            ranked = []
            for sub in result.received(spec.id):
                rate = result.unit_ratio(sub, f)
                if rate is not None:
                    note = (
                        f"{format_figure(sub.values[f.numerator])}/{format_figure(sub.values[f.denominator])}"  # type: ignore[arg-type]
                    )
                    ranked.append(Bar(names.get(sub.unit_code, sub.unit_code), rate, note))
            if not ranked:
                continue
            ranked.sort(key=lambda b: -b.value)
            total = totals.get(fid)
            overall = f" (chung: {written(f, total)})" if total is not None else ""
            title = f"{f.label}{overall}"
            if len(ranked) <= 2 * SHOWN:
                out.append(Chart(title, tuple(ranked), True, (RATIO_COLOR,) * len(ranked)))
                continue
            of = f" trên {format_figure(len(ranked))} đơn vị"
            for which, bars_shown in (("cao nhất", ranked[:SHOWN]), ("thấp nhất", ranked[-SHOWN:])):
                heading = f"{title}: {SHOWN} đơn vị {which}{of}"
                out.append(Chart(heading, tuple(bars_shown), True, (RATIO_COLOR,) * SHOWN))
    return out
