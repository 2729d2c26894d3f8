"""Read an inbox of filled workbooks into one Consolidation: every file read in capped worker
processes, checked, its unit identified; of a unit's submissions of a report the newest wins;
late ones are marked. What the summary shows is computed from the result in consolidation.py."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from . import intake, mailboxes
from .admission import Lookups, Options, Outcome, failure_reason, read_checked, reject
from .codes import SUPERSEDED, SUPERSEDED_REASON, WARNING
from .consolidation import Consolidation
from .errors import traced
from .intake import Entry
from .mailboxes import MailAccess
from .messages import parse
from .model import FileRecord, Issue, Submission
from .periods import VIETNAM, Period, parse_period
from .workers import Failed
from .workers import run as workers_run

BATCH_LIMIT = 64  # files per batch sent to a worker at most (fewer towards the end: workers.run)
Progress = Callable[[int, int], None]  # (files done, files in all)


_worker_lookups: tuple[Options, Lookups] | None = None


def _start_worker(options: Options) -> None:
    """Runs once in each worker process: the run's options and lookups, instead of with every task."""
    global _worker_lookups
    _worker_lookups = (options, Lookups(options.roster))


@dataclass
class _Mailed:
    """What a reading worker makes of one message: its label, and for each of its attachments (in
    the message's order) the path shown and the outcomes (a zip's: one per member); none when
    the message was received before `--since`."""

    label: str
    attachments: list[tuple[str, list[Outcome]]]


def _read_in_worker(entry: Entry) -> Outcome | _Mailed | None:
    assert _worker_lookups is not None
    options, lookups = _worker_lookups
    with traced():
        if not _is_message(entry):
            return read_checked(entry, options, lookups)
        # a message is parsed here, by the worker that reads its attachments: one task, one process
        assert entry.mail is not None
        parsed = parse(entry)
        if mailboxes.left_out(parsed, entry.mail.since):
            return None
        attachments = []
        for found in parsed.entries:
            members = intake.expand(found) if found.is_zip else [found]
            attachments.append((found.shown, [read_checked(m, options, lookups) for m in members]))
        return _Mailed(parsed.label, attachments)


def _is_message(entry: Entry) -> bool:
    return entry.mail is not None and not entry.rejected and not entry.ignored


def _expand_in_worker(entry: Entry) -> list[Entry]:
    with traced():
        return intake.expand(entry)


def _read_all(entries: list[Entry], options: Options, progress: Progress | None) -> list[Outcome]:
    """Read every entry in capped worker processes, even a single file: a damaged file can abort
    or hang the parser, and must not take the run with it. A message (`mail` set) is one task:
    its worker parses it and reads its attachments; a message that takes its worker down is
    parsed again on its own and its attachments read one by one, as files are. Outcomes come in
    the order of `entries`, each message's attachments in its place, by the path shown."""
    if not entries:
        return []
    workers = min(options.workers or os.cpu_count() or 1, len(entries))
    results: list[Outcome | _Mailed | None] = [None] * len(entries)
    done = workers_run(
        _read_in_worker,
        entries,
        workers=workers,
        limits=options.limits,
        setup=_start_worker,
        setup_args=(options,),
        batch_size=BATCH_LIMIT,
    )
    for n, (index, result) in enumerate(done, 1):
        entry = entries[index]
        if isinstance(result, Failed) and _is_message(entry):
            result = _read_message_alone(entry, options)
        elif isinstance(result, Failed):
            # a member that killed its worker is not inflated again here, outside the caps
            sha = entry.digest() if entry.member is None else ""
            record = FileRecord(path=entry.shown, sha256=sha, source=entry.source)
            result = reject(record, *failure_reason(result, options.limits))
        results[index] = result
        if progress:
            progress(n, len(entries))
    return _in_order(entries, results)


def _read_message_alone(entry: Entry, options: Options) -> _Mailed | None:
    """A message whose task took its worker down: parsed on its own (a message that kills the
    parser is listed as damaged), then each attachment read as a file is."""
    parsed = mailboxes.parsed_messages([entry], 1, options.limits)
    if not parsed:
        return None  # received before --since
    message = parsed[0]
    assert isinstance(message, mailboxes.Message)
    found = message.parsed.entries
    return _Mailed(
        message.parsed.label, [(e.shown, _read_all(_expand([e], options), options, None)) for e in found]
    )


def _in_order(entries: list[Entry], results: list[Outcome | _Mailed | None]) -> list[Outcome]:
    """The outcomes in the order of `entries`; messages that share a label (one sender, one
    minute) told apart as "label (2)" in mailbox order; the attachments of the messages of one
    mailbox (all shown alike until parsed) sorted by the path shown, as files are, in its place."""
    mailed = [
        (r, bool(e.mail and e.mail.named))
        for e, r in zip(entries, results, strict=True)
        if isinstance(r, _Mailed)
    ]
    for (message, _), label in zip(
        mailed, mailboxes.told_apart([(m.label, named) for m, named in mailed]), strict=True
    ):
        if label != message.label:
            _relabel(message, label)
    first: dict[
        str, int
    ] = {}  # a mailbox's messages share the path shown until parsed: they stay together, in place
    for i, entry in enumerate(entries):
        first.setdefault(entry.shown, i)
    out: list[Outcome] = []
    run: list[tuple[tuple[int, str], list[Outcome]]] = []
    for entry, result in zip(entries, results, strict=True):
        if isinstance(result, _Mailed):
            run += [((first[entry.shown], shown), outcomes) for shown, outcomes in result.attachments]
        elif isinstance(result, Outcome):
            out += [*_sorted_run(run), result]
            run = []
    return out + _sorted_run(run)


def _sorted_run(run: list[tuple[tuple[int, str], list[Outcome]]]) -> list[Outcome]:
    run.sort(key=lambda attachment: attachment[0])
    return [o for _, outcomes in run for o in outcomes]


def _relabel(message: _Mailed, label: str) -> None:
    """Show `message` and what was found in it under `label` instead of its own."""
    old = message.label

    def renamed(path: str) -> str:
        return label + path[len(old) :] if path.startswith(old) else path

    message.label = label
    message.attachments = [(renamed(shown), outcomes) for shown, outcomes in message.attachments]
    for _, outcomes in message.attachments:
        for o in outcomes:
            o.record.path = renamed(o.record.path)  # the submission's too: it holds this record
            own = o.submission.issues if o.submission else []
            for issue in {id(i): i for i in [*o.issues, *own]}.values():
                issue.path = renamed(issue.path)


def _expand(entries: list[Entry], options: Options) -> list[Entry]:
    """Each zip replaced by its members, listed in capped worker processes (a hostile zip's
    directory may ask for anything); a zip that cannot be listed stays, rejected."""
    at = [i for i, entry in enumerate(entries) if entry.is_zip]
    if not at:
        return entries
    zips = [entries[i] for i in at]
    found: dict[int, list[Entry]] = {}
    workers = min(options.workers or os.cpu_count() or 1, len(zips))
    for index, members in workers_run(_expand_in_worker, zips, workers=workers, limits=options.limits):
        if isinstance(members, Failed):
            members = [replace(zips[index], rejected=failure_reason(members, options.limits))]
        found[at[index]] = members
    return [member for i, entry in enumerate(entries) for member in found.get(i, [entry])]


def _deadline_end(deadline: date) -> datetime:
    """The end of the deadline day, Vietnam time."""
    return datetime.combine(deadline + timedelta(days=1), time(0), VIETNAM)


@contextlib.contextmanager
def collected(
    inboxes: Sequence[Path | str], options: Options, mail: MailAccess | None = None, one_by_one: bool = False
) -> Iterator[list[Entry]]:
    """Every file of the inboxes (folders, mailboxes: see `mailboxes`), each message's attachments
    and each zip's members in its place, in the order they are listed; the attachments live in a
    temporary folder until the `with` ends. `one_by_one`: each inbox shown by its name (`check`)."""
    access = mail or MailAccess()
    with mailboxes.opened(
        inboxes, access, workers=options.workers, limits=options.limits, given_one_by_one=one_by_one
    ) as found:
        yield _expand(found, options)


def read_inbox(
    inbox: Path | str, options: Options, progress: Progress | None = None, mail: MailAccess | None = None
) -> Consolidation:
    """Read every file of `inbox` (a folder, an mbox, a Maildir, an IMAP folder); it is only read."""
    with collected([inbox], options, mail) as entries:
        folder = None if mailboxes.kind(inbox) == "imap" else Path(inbox)
        return read_entries(entries, options, progress, folder)


def read_entries(
    entries: list[Entry], options: Options, progress: Progress | None = None, inbox: Path | None = None
) -> Consolidation:
    """Read what `collect` (or another intake) found; `progress(done, total)` after each entry."""
    return _combine(_read_all(entries, options, progress), options, inbox)


def read_files(
    paths: Sequence[Path | str], options: Options, mail: MailAccess | None = None
) -> Consolidation:
    """Read and check single workbooks (or zips of them, messages, mailboxes), as a unit does
    before sending."""
    with collected(paths, options, mail, one_by_one=True) as entries:
        return _combine(_read_all(entries, options, None), options, None)


def _combine(outcomes: list[Outcome], options: Options, inbox: Path | None) -> Consolidation:
    accepted = [o for o in outcomes if o.submission is not None]
    newest: dict[tuple[str, str], Outcome] = {}
    for o in accepted:
        key = (o.submission.report_id, o.submission.unit_code)  # type: ignore[union-attr]
        best = newest.get(key)
        if best is None or _saved(o) > _saved(best):
            newest[key] = o
    for o in accepted:
        sub = o.submission
        assert sub is not None
        winner = newest[(sub.report_id, sub.unit_code)]
        if winner is not o:
            o.record.status, o.record.reason = SUPERSEDED, SUPERSEDED_REASON
            o.record.message = f"Đơn vị đã gửi bản mới hơn: {winner.record.path}."
            o.issues = [Issue(WARNING, o.record.path, SUPERSEDED_REASON, o.record.message, sub.unit_code)]
    if options.deadline:
        limit = _deadline_end(options.deadline)
        for o in newest.values():
            arrived = _arrived(o.record)
            o.record.late = bool(arrived and arrived >= limit)
    winners = sorted(newest.values(), key=lambda o: (o.submission.report_id, o.submission.unit_code))  # type: ignore[union-attr]
    submissions = [o.submission for o in winners if o.submission]
    issues = [i for o in outcomes for i in o.issues]
    return Consolidation(
        period=options.period or _single_period(submissions),
        files=[o.record for o in outcomes],
        issues=issues,
        submissions=submissions,
        roster=list(options.roster),
        deadline=options.deadline,
        inbox=inbox,
    )


def _arrived(record: FileRecord) -> datetime | None:
    """When a file counts as sent: the mail's arrival where there is one, else the workbook's own
    saved time (else the file's modification time, which the reader put there)."""
    return record.source.received_at or record.saved_at


def _saved(o: Outcome) -> tuple[datetime, str]:
    moment = _arrived(o.record) or datetime.min.replace(tzinfo=VIETNAM)
    return moment, o.record.path


def _single_period(submissions: list[Submission]) -> Period:
    periods = sorted({s.period for s in submissions})
    return parse_period(periods[-1] if periods else str(date.today().year))
