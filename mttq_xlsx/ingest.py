"""Read an inbox of filled workbooks into one Consolidation: every file read in capped worker
processes, checked, its unit identified; of a unit's submissions of a report the newest wins;
late ones are marked. What the summary shows is computed from the result in consolidation.py."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from . import fieldmap, intake, mailboxes
from .checks import check_submission
from .codes import (
    ERROR,
    IGNORED,
    REJECTED,
    REJECTION_CODES,
    SUPERSEDED,
    SUPERSEDED_REASON,
    WARNING,
)
from .consolidation import Consolidation
from .container import SAVE_AGAIN, damaged, said
from .crosslevel import check_carried
from .envelope import envelope_issues
from .errors import Rejected, traced
from .intake import Entry
from .mailboxes import MailAccess
from .messages import parse
from .model import FileRecord, Issue, Submission
from .output import reason
from .periods import VIETNAM, Period, parse_period
from .reader import ReadOptions, read_bytes
from .roster import Unit, by_email, clean_text, name_key
from .spec import load_spec, report_ids
from .workers import Failed, Limits
from .workers import run as workers_run

BATCH_LIMIT = 64  # files per batch sent to a worker at most (fewer towards the end: workers.run)
Progress = Callable[[int, int], None]  # (files done, files in all)


@dataclass(frozen=True)
class Options:
    """How to read a run's files: the settings of `mttq_xlsx.consolidate` and `check`."""

    period: Period | None = None  # None: take each file's own period (for `check`)
    roster: tuple[Unit, ...] = ()
    deadline: date | None = None
    password: str | None = None
    workers: int | None = None  # None: as many as the machine has cores
    limits: Limits = field(default_factory=Limits)  # time and memory for reading one file
    strict_roster: bool = True  # reject units that are not on the roster (when one is given)


@dataclass
class _Outcome:
    record: FileRecord
    submission: Submission | None = None
    issues: list[Issue] = field(default_factory=list)


class _Lookups:
    """What every file of a run is checked against, worked out once per run (and per worker process)
    instead of once per file: the known reports, and the roster by code, by name and by address."""

    def __init__(self, roster: tuple[Unit, ...]) -> None:
        self.roster = roster
        self.reports = frozenset(report_ids())
        self.by_code = {u.code: u for u in roster}
        self._by_name: dict[str, list[Unit]] | None = None
        self.by_email = by_email(roster)

    def emailed(self, address: str) -> list[Unit]:
        """The roster's units that send from this address (lower case)."""
        return self.by_email.get(address, [])

    def named(self, key: str) -> list[Unit]:
        """The roster's units whose name has this key, in roster order."""
        if self._by_name is None:
            self._by_name = {}
            for u in self.roster:
                self._by_name.setdefault(name_key(u.name), []).append(u)
        return self._by_name.get(key, [])


def _read_one(entry: Entry, options: Options, lookups: _Lookups) -> _Outcome:
    """Read and check one file; never raises for a bad file."""
    record = FileRecord(path=entry.shown, sha256="", source=entry.source)  # the hash once read
    if entry.ignored:
        record.sha256, record.status, record.reason = entry.digest(), IGNORED, entry.reason
        record.message = entry.ignored
        return _Outcome(record)
    if entry.rejected:
        record.sha256 = entry.digest()
        return _reject(record, *entry.rejected)
    try:
        data = entry.read()
        record.sha256 = hashlib.sha256(data).hexdigest()
        sub = read_bytes(record, data, entry.fallback_time, ReadOptions(options.password))
    except Rejected as exc:
        return _reject(record, exc.code, exc.message, exc.detail)
    except OSError as exc:
        return _reject(record, "unreadable", f"Không đọc được tệp: {reason(exc)}.", said(exc))
    except MemoryError:
        return _reject(record, "file_too_large", _too_much_memory(options.limits), "MemoryError")
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust panic in calamine arrives as a BaseException
        rejected = damaged(exc)
        return _reject(record, rejected.code, rejected.message, rejected.detail)
    if sub.report_id not in lookups.reports:
        return _reject(record, "unknown_report", f"Báo cáo “{sub.report_id}” không có trong phiên bản này.")
    spec = load_spec(sub.report_id)
    try:
        fieldmap.check_version(sub.meta, spec)
    except Rejected as exc:
        return _reject(record, exc.code, exc.message)
    try:
        own = parse_period(sub.period, _day(sub.meta.get("period_start")), _day(sub.meta.get("period_end")))
    except Exception:
        return _reject(record, "wrong_period", f"Kỳ báo cáo “{sub.period}” trong tệp không hợp lệ.")
    period = options.period or own
    if options.period and sub.period != options.period.id:
        return _reject(
            record,
            "wrong_period",
            f"Tệp là báo cáo kỳ {own.label} ({sub.period}), không phải kỳ {period.label} "
            f"({period.id}) đang tổng hợp.",
        )
    sub.unit_code, sub.unit_name = clean_text(sub.unit_code), clean_text(sub.unit_name)
    _identify_unit(sub, spec.cover.fields, lookups)
    record.unit_code, record.unit_name = sub.unit_code, sub.unit_name
    if options.roster and options.strict_roster and sub.unit_code not in lookups.by_code:
        return _reject(
            record,
            "unknown_unit",
            f"Đơn vị “{sub.unit_name or sub.unit_code or '(chưa ghi)'}” không có trong danh sách "
            "đơn vị. Hãy kiểm tra ô Đơn vị báo cáo ở trang Thông tin.",
        )
    if not sub.unit_code:
        return _reject(
            record,
            "unknown_unit",
            "Tệp chưa ghi đơn vị báo cáo (trang Thông tin). Hãy chọn tên đơn vị rồi gửi lại.",
        )
    check_submission(sub, spec, period)
    sub.issues += check_carried(sub, spec, period)
    return _Outcome(record, sub, sub.issues)


def _reject(record: FileRecord, code: str, message: str, detail: str = "") -> _Outcome:
    assert code in REJECTION_CODES, code
    record.status, record.reason, record.message, record.detail = REJECTED, code, message, detail
    issue = Issue(ERROR, record.path, code, message, record.unit_code)
    return _Outcome(record, None, [issue])


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _identify_unit(sub: Submission, cover_fields: Iterable, lookups: _Lookups) -> None:
    """A pre-filled workbook names its unit in `_mttq`; a generic one on its cover sheet."""
    by_prefill = {f.prefill: f.id for f in cover_fields if f.prefill}
    typed_name = sub.values.get(by_prefill.get("unit_name", ""))
    typed_code = sub.values.get(by_prefill.get("unit_code", ""))
    if not sub.unit_code and isinstance(typed_code, str | int | float) and typed_code != "":
        sub.unit_code = clean_text(str(typed_code).removesuffix(".0"))
    if not sub.unit_name and isinstance(typed_name, str):
        sub.unit_name = clean_text(typed_name)
    by_code = lookups.by_code
    if sub.unit_code in by_code:
        sub.unit_name = sub.unit_name or by_code[sub.unit_code].name
        return
    if sub.unit_name:
        key = name_key(sub.unit_name)
        matches = lookups.named(key)
        if len(matches) == 1:
            sub.unit_code, sub.unit_name = matches[0].code, matches[0].name
        elif not lookups.roster and not sub.unit_code:
            sub.unit_code = "-".join(key.split())  # no roster: the name is the identity


_worker_lookups: tuple[Options, _Lookups] | None = None


def _start_worker(options: Options) -> None:
    """Runs once in each worker process: the run's options and lookups, instead of with every task."""
    global _worker_lookups
    _worker_lookups = (options, _Lookups(options.roster))


@dataclass
class _Mailed:
    """What a reading worker makes of one message: its label, and for each of its attachments (in
    the message's order) the path shown and the outcomes (a zip's: one per member); none when
    the message was received before `--since`."""

    label: str
    attachments: list[tuple[str, list[_Outcome]]]


def _read_in_worker(entry: Entry) -> _Outcome | _Mailed | None:
    assert _worker_lookups is not None
    options, lookups = _worker_lookups
    with traced():
        if not _is_message(entry):
            return _read_checked(entry, options, lookups)
        # a message is parsed here, by the worker that reads its attachments: one task, one process
        assert entry.mail is not None
        parsed = parse(entry)
        if mailboxes.left_out(parsed, entry.mail.since):
            return None
        attachments = []
        for found in parsed.entries:
            members = intake.expand(found) if found.is_zip else [found]
            attachments.append((found.shown, [_read_checked(m, options, lookups) for m in members]))
        return _Mailed(parsed.label, attachments)


def _is_message(entry: Entry) -> bool:
    return entry.mail is not None and not entry.rejected and not entry.ignored


def _read_checked(entry: Entry, options: Options, lookups: _Lookups) -> _Outcome:
    outcome = _read_one(entry, options, lookups)
    # what the mail says: an arrival time from Date: only, a sender of another unit
    emailed = lookups.emailed if lookups.by_email else None
    found = envelope_issues(entry, outcome.record, outcome.submission, emailed)
    outcome.issues = outcome.issues + found
    return outcome


def _expand_in_worker(entry: Entry) -> list[Entry]:
    with traced():
        return intake.expand(entry)


def _read_all(entries: list[Entry], options: Options, progress: Progress | None) -> list[_Outcome]:
    """Read every entry in capped worker processes, even a single file: a damaged file can abort
    or hang the parser, and must not take the run with it. A message (`mail` set) is one task:
    its worker parses it and reads its attachments; a message that takes its worker down is
    parsed again on its own and its attachments read one by one, as files are. Outcomes come in
    the order of `entries`, each message's attachments in its place, by the path shown."""
    if not entries:
        return []
    workers = min(options.workers or os.cpu_count() or 1, len(entries))
    results: list[_Outcome | _Mailed | None] = [None] * len(entries)
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
            result = _reject(record, *_failure(result, options.limits))
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


def _in_order(entries: list[Entry], results: list[_Outcome | _Mailed | None]) -> list[_Outcome]:
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
    out: list[_Outcome] = []
    run: list[tuple[tuple[int, str], list[_Outcome]]] = []
    for entry, result in zip(entries, results, strict=True):
        if isinstance(result, _Mailed):
            run += [((first[entry.shown], shown), outcomes) for shown, outcomes in result.attachments]
        elif isinstance(result, _Outcome):
            out += [*_sorted_run(run), result]
            run = []
    return out + _sorted_run(run)


def _sorted_run(run: list[tuple[tuple[int, str], list[_Outcome]]]) -> list[_Outcome]:
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
            members = [replace(zips[index], rejected=_failure(members, options.limits))]
        found[at[index]] = members
    return [member for i, entry in enumerate(entries) for member in found.get(i, [entry])]


def _failure(failure: Failed, limits: Limits) -> tuple[str, str, str]:
    """Why a file that killed or stalled its worker is rejected: (code, message, detail)."""
    if failure.kind == "timeout":
        return (
            "corrupt_file",
            f"Đọc tệp quá {limits.seconds:g} giây vẫn chưa xong nên đã dừng: tệp có thể bị hỏng. "
            + SAVE_AGAIN,
            failure.detail,
        )
    if failure.kind == "memory":
        return "file_too_large", _too_much_memory(limits), failure.detail
    return (
        "corrupt_file",
        f"Tệp bị hỏng: bộ đọc bảng tính dừng đột ngột khi mở tệp. {SAVE_AGAIN}",
        failure.detail,
    )


def _too_much_memory(limits: Limits) -> str:
    limit = f"{limits.memory >> 20} MB" if limits.memory else "giới hạn"
    return (
        f"Đọc tệp cần nhiều bộ nhớ hơn mức cho phép ({limit}): tệp quá lớn hoặc bị hỏng "
        "(có thể có ô bị gõ nhầm ở rất xa); tệp không được đọc."
    )


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


def _combine(outcomes: list[_Outcome], options: Options, inbox: Path | None) -> Consolidation:
    accepted = [o for o in outcomes if o.submission is not None]
    newest: dict[tuple[str, str], _Outcome] = {}
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


def _saved(o: _Outcome) -> tuple[datetime, str]:
    moment = _arrived(o.record) or datetime.min.replace(tzinfo=VIETNAM)
    return moment, o.record.path


def _single_period(submissions: list[Submission]) -> Period:
    periods = sorted({s.period for s in submissions})
    return parse_period(periods[-1] if periods else str(date.today().year))
