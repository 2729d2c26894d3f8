"""The result of one run, and everything the summary workbook and the JSON report show, computed
once from it: the totals and how many units reported each field, each unit's ratios, a table per
content (its rows, column sums and counts), the issues by file and field, the units' names, who
has reported and when their mail arrived, who sent each mailed file, and the exit status. The
writers only lay out what is here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .codes import NO_ATTACHMENT, REJECTED
from .model import ISSUE_KEYS, FileRecord, Issue, Submission, is_number, plain
from .numbers import format_ratio
from .periods import VIETNAM, Period, in_vietnam
from .roster import Unit, by_email
from .spec import RECOMPUTE, SUM, Field, Section, Spec, load_spec

if TYPE_CHECKING:
    import pandas

    from .charts import Chart
    from .comparison import ReportComparison
    from .narrative import ReportText
    from .previous import Previous

EXIT_CLEAN, EXIT_FINDINGS = 0, 1
Number = float | int


@dataclass
class Completeness:
    expected: int
    received: int
    missing: list[str]
    late: list[str]

    def as_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass(frozen=True)
class ProgressRow:
    """A line of the progress sheet: a unit, a report it sent (None: it sent none yet), and the
    mail: when it arrived (Vietnam time) and the file shown, the submission's or, for a unit
    that sent none, its latest message without a workbook (found by the roster's addresses)."""

    code: str
    name: str
    submission: Submission | None
    arrived: datetime | None = None
    path: str = ""


@dataclass(frozen=True)
class Envelope:
    """Who sent a mailed file, as the sources sheet shows it."""

    sender: str
    subject: str
    arrived: datetime | None  # Vietnam time
    # the names of the roster units that send from the sender's address, () for none of them;
    # None when the roster gives no addresses or the message none
    sender_units: tuple[str, ...] | None


@dataclass(frozen=True)
class UnitReports:
    """A unit with at least one accepted report: its name and submissions, by report id."""

    code: str
    name: str
    submissions: tuple[Submission, ...]


@dataclass(frozen=True)
class ContentColumn:
    field: Field
    # a ratio's numerator or denominator from another content, repeated beside the ratio so that
    # the ratio's total can be a formula of the sheet
    borrowed: bool = False


@dataclass(frozen=True)
class Content:
    """One content (a Biểu of `phu-luc-1`, a section of `bieu-so-lieu`) as a table, a row per unit."""

    spec: Spec
    section: Section
    numbers: tuple[ContentColumn, ...]  # the numeric columns
    texts: tuple[Field, ...]  # the text columns, after them
    submissions: tuple[Submission, ...]  # the rows, by unit code
    values: tuple[list[Any], ...]  # per numeric column, its value in each row (a ratio: the unit's own)
    sums: tuple[Number, ...]  # per numeric column, its numbers added in row order (0 when none)
    counts: tuple[int, ...]  # per numeric column, how many rows hold a number
    # per numeric column, the value of the totals row (None: blank): a sum, or a ratio of sums
    totals: tuple[Number | None, ...]

    @property
    def column_of(self) -> dict[str, int]:
        """Field id -> its index among the numeric columns."""
        return {c.field.id: i for i, c in enumerate(self.numbers)}


@dataclass(frozen=True)
class TotalLine:
    """A numeric field's total, as `Tổng hợp` and the Word draft's appendix show it."""

    field: Field
    value: Number | None  # None: no unit gave the field
    explain: str  # a ratio's parts and percent: "739/1.014 = 72,88%"
    reported: int  # the units that gave it
    units: int  # the units that sent the report


@dataclass
class Consolidation:
    """The whole result of one run: every file found, every issue, the accepted submissions."""

    period: Period
    files: list[FileRecord]
    issues: list[Issue]
    submissions: list[Submission]  # accepted ones, sorted by report, then unit code
    roster: list[Unit]
    deadline: date | None = None
    inbox: Path | None = None  # the folder read, never written into
    # reports checked against the run's units (`--against`), not counted in the totals
    against: list[Submission] = field(default_factory=list)
    previous: Previous | None = None  # last period's figures: see compare_with

    def compare_with(self, previous: Previous) -> None:
        """Set last period's figures (the `So sánh` sheet) and add the outliers they and the other
        units show to the issues; call it before anything is read from the result."""
        from . import outliers  # the summary's only, as below: `check` does not import them

        self.previous = previous
        self.issues.extend(outliers.find(self, previous))
        for name in ("issue_index", "issue_counts", "comparison"):
            self.__dict__.pop(name, None)  # cached from the issues before

    # ------------------------------------------------------------------ figures
    @cached_property
    def specs(self) -> list[Spec]:
        """The specs of the reports received, by report id."""
        return [load_spec(report_id) for report_id in sorted({s.report_id for s in self.submissions})]

    def received(self, report_id: str) -> list[Submission]:
        """The accepted submissions of one report, by unit code."""
        return self._by_report.get(report_id, [])

    @cached_property
    def _by_report(self) -> dict[str, list[Submission]]:
        grouped: dict[str, list[Submission]] = defaultdict(list)
        for s in self.submissions:
            grouped[s.report_id].append(s)
        return {rid: sorted(subs, key=lambda s: s.unit_code) for rid, subs in grouped.items()}

    def unit_ratio(self, sub: Submission, f: Field) -> float | None:
        """A unit's ratio from its own numerator and denominator; None when it cannot be computed."""
        return _ratio(sub.values.get(f.numerator), sub.values.get(f.denominator))

    def unit_ratios(self, spec: Spec, f: Field) -> list[float | None]:
        """Every unit's own ratio `f`, in the order of `received(spec.id)`: computed once."""
        computed = self._columns.get(spec.id, {}).get(f.id)
        if computed is None:
            computed = [self.unit_ratio(s, f) for s in self.received(spec.id)]
        return computed

    @cached_property
    def _columns(self) -> dict[str, dict[str, list[Any]]]:
        """Report id -> numeric field id (outside tables) -> its value for each unit, in unit
        order; a ratio's is the unit's own from its parts."""
        out: dict[str, dict[str, list[Any]]] = {}
        for spec in self.specs:
            subs = self.received(spec.id)
            fields = [f for f in spec.fields if f.is_numeric and not f.table]
            columns = {f.id: [s.values.get(f.id) for s in subs] for f in fields if f.type != "ratio"}
            for f in fields:
                if f.type == "ratio":
                    num, den = (
                        columns.get(p) or [s.values.get(p) for s in subs]
                        for p in (f.numerator, f.denominator)
                    )
                    columns[f.id] = [_ratio(n, d) for n, d in zip(num, den, strict=True)]
            out[spec.id] = columns
        return out

    @cached_property
    def _sums(self) -> dict[str, dict[str, tuple[Number, int]]]:
        """Report id -> field id -> (its numbers added in unit order, how many units gave one), for
        every numeric field outside tables; a ratio counts the units whose ratio can be computed."""
        out: dict[str, dict[str, tuple[Number, int]]] = {}
        for report_id, columns in self._columns.items():
            sums: dict[str, tuple[Number, int]] = {}
            for fid, column in columns.items():
                numbers = [v for v in column if v is not None and is_number(v)]
                sums[fid] = (sum(numbers), len(numbers))
            out[report_id] = sums
        return out

    @cached_property
    def totals(self) -> dict[str, dict[str, Number | None]]:
        """Report id -> field id -> total; a ratio is the total of its numerator over the total of
        its denominator, never an average of the units' ratios; None where nobody gave a figure."""
        out: dict[str, dict[str, Number | None]] = {}
        for spec in self.specs:
            sums = self._sums[spec.id]
            totals: dict[str, Number | None] = {}
            for f in spec.fields:
                if f.aggregate == SUM and f.id in sums:
                    total, count = sums[f.id]
                    totals[f.id] = (round(total, 9) if isinstance(total, float) else total) if count else None
            for f in spec.fields:
                if f.aggregate == RECOMPUTE and f.id in sums:
                    num, den = totals.get(f.numerator), totals.get(f.denominator)
                    totals[f.id] = num / den if num is not None and den else None
            out[spec.id] = totals
        return out

    @cached_property
    def reported(self) -> dict[str, dict[str, int]]:
        """Report id -> field id -> how many units reported it."""
        return {rid: {fid: count for fid, (_, count) in sums.items()} for rid, sums in self._sums.items()}

    def content(self, spec: Spec, section: Section) -> Content:
        """The table of one content: the numeric columns (a ratio's numerator and denominator from
        another content repeated after it), then the text columns; a row per unit."""
        own = [f for f in section.fields if not f.table]
        own_ids = {f.id for f in own}
        index = spec.field_index
        numbers: list[ContentColumn] = []
        seen: set[str] = set()
        for f in own:
            if not f.is_numeric or f.id in seen:
                continue
            numbers.append(ContentColumn(f))
            seen.add(f.id)
            if f.type == "ratio":
                for ref in (f.numerator, f.denominator):
                    if ref not in own_ids and ref not in seen and ref in index:
                        numbers.append(ContentColumn(index[ref], borrowed=True))
                        seen.add(ref)
        subs = self.received(spec.id)
        all_columns = self._columns.get(spec.id, {})
        values = tuple(all_columns[c.field.id] for c in numbers)
        field_sums = self._sums.get(spec.id, {})
        sums = tuple(field_sums.get(c.field.id, (0, 0))[0] for c in numbers)
        counts = tuple(field_sums.get(c.field.id, (0, 0))[1] for c in numbers)
        sum_of = {c.field.id: total for c, total in zip(numbers, sums, strict=True)}
        totals: list[Number | None] = []
        for c, total, count in zip(numbers, sums, counts, strict=True):
            f = c.field
            if f.type == "ratio" and f.aggregate != RECOMPUTE:
                totals.append(None)
            elif f.type == "ratio" and f.numerator in sum_of and f.denominator in sum_of:
                den = sum_of[f.denominator]
                totals.append(sum_of[f.numerator] / den if den else None)
            elif f.type == "ratio":  # a part that is not a column: the consolidated ratio
                totals.append(self.totals.get(spec.id, {}).get(f.id))
            else:
                totals.append(total if count and f.aggregate == SUM else None)
        texts = tuple(f for f in own if not f.is_numeric)
        return Content(spec, section, tuple(numbers), texts, tuple(subs), values, sums, counts, tuple(totals))

    def total_lines(self, spec: Spec) -> list[tuple[Section, list[TotalLine]]]:
        """Every numeric field outside tables with its total, content by content."""
        totals = self.totals.get(spec.id, {})
        reported = self.reported.get(spec.id, {})
        units = len(self.received(spec.id))
        out = []
        for section in spec.sections:
            lines = []
            for f in section.fields:
                if not f.is_numeric or f.table:
                    continue
                value = totals.get(f.id)
                explain = ""
                if f.type == "ratio" and is_number(value):
                    explain = format_ratio(totals[f.numerator], totals[f.denominator])  # type: ignore[arg-type]
                lines.append(TotalLine(f, value, explain, reported.get(f.id, 0), units))
            if lines:
                out.append((section, lines))
        return out

    @cached_property
    def narrative(self) -> list[ReportText]:
        """The figures of the narrative report: every phrase of the specs filled in, by heading."""
        from .narrative import report_texts

        return report_texts(self)

    @cached_property
    def charts(self) -> list[Chart]:
        """What the sheet `Biểu đồ` charts: completeness, then the ratios by unit."""
        from .charts import charts

        return charts(self)

    @cached_property
    def comparison(self) -> list[ReportComparison]:
        """Every total now and last period (empty without a previous period)."""
        from .comparison import compare

        return compare(self, self.previous) if self.previous else []

    # ------------------------------------------------------------------ units and issues
    @cached_property
    def unit_names(self) -> dict[str, str]:
        """Unit code -> name: the submission's own, else a file's, else the roster's."""
        names = {u.code: u.name for u in self.roster}
        names |= {s.unit_code: s.unit_name for s in self.against if s.unit_name}
        names |= {f.unit_code: f.unit_name for f in self.files if f.unit_code and f.unit_name}
        names |= {s.unit_code: s.unit_name for s in self.submissions if s.unit_name}
        return names

    @cached_property
    def units(self) -> list[UnitReports]:
        """Every unit with an accepted report, by code."""
        grouped: dict[str, list[Submission]] = defaultdict(list)
        for s in self.submissions:
            grouped[s.unit_code].append(s)
        return [
            UnitReports(code, self.unit_names.get(code, code), tuple(sorted(subs, key=lambda s: s.report_id)))
            for code, subs in sorted(grouped.items())
        ]

    @cached_property
    def progress(self) -> list[ProgressRow]:
        """A line for every roster unit, or every unit that reported when there is no roster: a
        line per report received, one line for a unit that sent none."""
        by_code = {u.code: u for u in self.units}
        emails = {u.code: u.emails for u in self.roster}
        rows: list[ProgressRow] = []
        for code, name in [(u.code, u.name) for u in (self.roster or self.units)]:
            unit = by_code.get(code)
            if unit:
                rows += [_progress_row(code, name, s.file, s) for s in unit.submissions]
                continue
            # a unit that wrote "xin gửi báo cáo" and forgot the file: when that mail came
            sent = [f for f in self._without_workbook if f.source.address in emails.get(code, ())]
            rows.append(_progress_row(code, name, sent[-1]) if sent else ProgressRow(code, name, None))
        return rows

    @cached_property
    def _without_workbook(self) -> list[FileRecord]:
        """The messages that came without a workbook, the latest last."""
        earliest = datetime.min.replace(tzinfo=VIETNAM)
        found = [f for f in self.files if f.reason == NO_ATTACHMENT]
        return sorted(found, key=lambda f: f.source.received_at or earliest)

    @cached_property
    def by_mail(self) -> bool:
        """Whether any file came by mail: then the summary shows arrivals and senders."""
        return any(f.source.kind == "mail" for f in self.files)

    @cached_property
    def envelopes(self) -> list[Envelope | None]:
        """For each file (in `files` order) that came by mail, who sent it; None for the others."""
        senders = by_email(self.roster)
        out: list[Envelope | None] = []
        for f in self.files:
            if f.source.kind != "mail":
                out.append(None)
                continue
            address = f.source.address if senders else ""  # parsed only when there is a roster's to match
            units = tuple(u.name for u in senders.get(address, [])) if address else None
            out.append(Envelope(f.source.sender, f.source.subject, in_vietnam(f.source.received_at), units))
        return out

    @cached_property
    def issue_index(self) -> dict[str, dict[str, list[Issue]]]:
        """File path -> field id -> issues, from the run's list and each submission's own, each once."""
        index: dict[str, dict[str, list[Issue]]] = defaultdict(lambda: defaultdict(list))
        seen: set[tuple[str, ...]] = set()
        paths_by_unit: dict[str, set[str]] = defaultdict(set)
        for s in self.submissions:
            paths_by_unit[s.unit_code].add(s.file.path)
        own = [(s.file.path, i) for s in self.submissions for i in s.issues]
        for path, issue in [*((i.path, i) for i in self.issues), *own]:
            if not issue.field_id:
                continue
            key = tuple(issue.as_dict().values())
            if key in seen:
                continue
            seen.add(key)
            paths = paths_by_unit.get(issue.unit_code, set())
            if path not in paths and len(paths) == 1:
                path = next(iter(paths))  # the unit's only file, whatever path the issue names
            index[path][issue.field_id].append(issue)
        return index

    def issues_of(self, sub: Submission, field_id: str) -> list[Issue]:
        return self.issue_index.get(sub.file.path, {}).get(field_id, [])

    @cached_property
    def issue_counts(self) -> Counter[tuple[str, str]]:
        """(file path, severity) -> how many issues."""
        return Counter((i.path, i.severity) for i in self.issues)

    @cached_property
    def completeness(self) -> Completeness:
        received = {s.unit_code for s in self.submissions}
        late = sorted({s.unit_code for s in self.submissions if s.file.late})
        expected = [u.code for u in self.roster]
        return Completeness(
            expected=len(expected),
            received=len(received & set(expected)) if self.roster else len(received),
            missing=[c for c in expected if c not in received],
            late=late,
        )

    @property
    def exit_status(self) -> int:
        """0 when the run is clean; 1 when there is anything to look at: an issue, a rejected file,
        no report at all, or (with a roster) a unit missing or late."""
        findings = bool(self.issues) or any(f.status == REJECTED for f in self.files) or not self.submissions
        if self.roster:
            findings = findings or bool(self.completeness.missing) or bool(self.completeness.late)
        return EXIT_FINDINGS if findings else EXIT_CLEAN

    # ------------------------------------------------------------------ tables for the library
    def to_frame(self) -> pandas.DataFrame:
        """One row per accepted unit and report: unit code and name, report id, file, then a
        column per field (a table column holds the list of its rows). Needs pandas."""
        import pandas

        fields = list(dict.fromkeys(f.id for spec in self.specs for f in spec.fields))
        rows = [
            {
                "unit_code": s.unit_code,
                "unit_name": self.unit_names.get(s.unit_code, s.unit_name),
                "report_id": s.report_id,
                "path": s.file.path,
                **{fid: s.values.get(fid) for fid in fields},
            }
            for s in self.submissions
        ]
        return pandas.DataFrame(rows, columns=["unit_code", "unit_name", "report_id", "path", *fields])

    def issues_frame(self) -> pandas.DataFrame:
        """One row per issue, with the JSON report's keys as columns. Needs pandas."""
        import pandas

        return pandas.DataFrame([i.as_dict() for i in self.issues], columns=list(ISSUE_KEYS))


def _progress_row(code: str, name: str, record: FileRecord, sub: Submission | None = None) -> ProgressRow:
    return ProgressRow(code, name, sub, in_vietnam(record.source.received_at), record.path)


def _ratio(num: Any, den: Any) -> float | None:
    """A unit's ratio from its numerator and denominator; None when it cannot be computed."""
    return num / den if is_number(num) and is_number(den) and den != 0 else None
