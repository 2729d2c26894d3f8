"""The figures of the narrative report, computed from a consolidation: each phrase of a spec with
its totals written in the notation of the province's reports (1.014; 3.797,118; 72,88%; parts in
brackets; "(n/N đơn vị báo cáo)" when not every unit gave the figures), under the headings of the
report's outline. The sheet `Số liệu báo cáo` and the Word draft lay out what is computed here.

A ratio is written rounded half up to two decimals, as the summary's 0,00% cells show it
(739/1.014 = 72,8797…% is “72,88%”; the province's report truncated it to 72,87%), and an exact
whole percent without decimals (“100%”), as the reports write it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import is_number
from .numbers import format_figure, format_percent
from .spec import Field, Heading, Phrase, Spec, fill, placeholders

if TYPE_CHECKING:
    from .consolidation import Consolidation, Number


@dataclass(frozen=True)
class Sentence:
    """One phrase of a spec, filled in."""

    text: str  # ready to paste, with its full stop; "" when a figure of it has no total
    fields: tuple[Field, ...]  # the figures its text quotes
    reported: int  # the fewest units that gave one of these figures
    expected: int  # the units that were to report
    missing: tuple[Field, ...] = ()  # figures nobody gave: then there is no text


@dataclass(frozen=True)
class Part:
    """A heading of the outline and the sentences under it."""

    heading: Heading
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class ReportText:
    """The narrative figures of one report: its title with the period, its outline."""

    spec: Spec
    title: str
    parts: tuple[Part, ...]

    @property
    def sentences(self) -> list[Sentence]:
        return [s for part in self.parts for s in part.sentences]


def report_texts(result: Consolidation) -> list[ReportText]:
    """The narrative figures of every report received, by report id."""
    texts = []
    for spec in result.specs:
        totals = result.totals.get(spec.id, {})
        reported = result.reported.get(spec.id, {})
        expected = len(result.roster) or len(result.received(spec.id))
        by_section = {s.id: s for s in spec.sections}
        parts = []
        for heading in spec.outline:
            phrases = [p for sid in heading.sections for p in by_section[sid].phrases]
            filled = (sentence(spec, p, totals, reported, expected) for p in phrases)
            parts.append(Part(heading, tuple(s for s in filled if s is not None)))
        title = f"{spec.narrative_title or spec.title} {result.period.label}"
        texts.append(ReportText(spec, title, tuple(parts)))
    return texts


def sentence(
    spec: Spec,
    phrase: Phrase,
    totals: dict[str, Number | None],
    reported: dict[str, int],
    expected: int,
) -> Sentence | None:
    """`phrase` with its totals; None when no unit gave any of its figures (it says nothing)."""
    fields = tuple(spec.field_index[fid] for fid in phrase.fields)
    missing = tuple(f for f in fields if not is_number(totals.get(f.id)))
    if len(missing) == len(fields):
        return None
    count = min(reported.get(f.id, 0) for f in fields)
    if missing:
        return Sentence("", fields, count, expected, missing)
    text = _fill(phrase.text, spec, totals)
    given = [_fill(part, spec, totals) for part in phrase.parts if _has_figures(part, totals)]
    if given:
        # "(94 tỉnh, 50 huyện, 245 xã)"; "; " when a part has a comma of its own (a decimal comma)
        text += " (" + ("; " if any("," in p for p in given) else ", ").join(given) + ")"
    if count < expected:
        text += f" ({count}/{expected} đơn vị báo cáo)"
    return Sentence(text + ".", fields, count, expected)


def written(f: Field, value: Number) -> str:
    """A total as a report writes it: a ratio as a percent, any other figure in full."""
    if f.type != "ratio":
        return format_figure(value)
    return format_percent(value).replace(",00%", "%")


def _fill(text: str, spec: Spec, totals: dict[str, Number | None]) -> str:
    def figure(field_id: str) -> str:
        value = totals[field_id]
        assert value is not None
        return written(spec.field_index[field_id], value)

    return fill(text, figure)


def _has_figures(text: str, totals: dict[str, Number | None]) -> bool:
    return all(is_number(totals.get(fid)) for fid in placeholders(text))
