"""This period's totals against last period's (`--previous`), field by field: the sheet `So sánh`
lays out what is computed here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .spec import Field, Section, Spec

if TYPE_CHECKING:
    from .consolidation import Consolidation, Number
    from .previous import Previous


@dataclass(frozen=True)
class Line:
    """One numeric field: its total now and then, and how it changed."""

    field: Field
    now: Number | None
    then: Number | None
    reported_now: int
    reported_then: int

    @property
    def change(self) -> Number | None:
        """Now minus then (a ratio's in fraction points: 0.05 is 5 percentage points)."""
        if self.now is None or self.then is None:
            return None
        change = self.now - self.then
        return round(change, 9) if isinstance(change, float) else change

    @property
    def relative(self) -> float | None:
        """The change as a fraction of then; None for a ratio (its change is in points) or from 0."""
        change = self.change
        if change is None or self.field.type == "ratio" or not self.then:
            return None
        return change / self.then


@dataclass(frozen=True)
class ReportComparison:
    spec: Spec
    sections: tuple[tuple[Section, tuple[Line, ...]], ...]


def compare(result: Consolidation, previous: Previous) -> list[ReportComparison]:
    """Every numeric field outside tables of every report received, now and then."""
    out = []
    for spec in result.specs:
        then = previous.totals.get(spec.id, {})
        sections = tuple(
            (
                section,
                tuple(
                    Line(
                        line.field,
                        line.value,
                        then.get(line.field.id),
                        line.reported,
                        previous.reported(spec.id, line.field.id),
                    )
                    for line in lines
                ),
            )
            for section, lines in result.total_lines(spec)
        )
        out.append(ReportComparison(spec, sections))
    return out
