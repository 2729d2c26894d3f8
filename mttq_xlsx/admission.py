"""One file of a run: read, its report, version, period and unit made sure of, checked; accepted
with its findings, or rejected with its reason (also when it took its reading worker down).
Runs in the reading workers; `ingest` schedules the files and combines the outcomes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from . import fieldmap
from .checks import check_submission
from .codes import ERROR, IGNORED, REJECTED, REJECTION_CODES
from .container import SAVE_AGAIN, damaged, said
from .crosslevel import check_carried
from .envelope import envelope_issues
from .errors import Rejected
from .intake import Entry
from .model import FileRecord, Issue, Submission
from .output import reason
from .periods import Period, parse_period
from .reader import ReadOptions, read_bytes
from .roster import Unit, by_email, clean_text, name_key
from .spec import load_spec, report_ids
from .workers import Failed, Limits


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
class Outcome:
    record: FileRecord
    submission: Submission | None = None
    issues: list[Issue] = field(default_factory=list)


class Lookups:
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


def read_one(entry: Entry, options: Options, lookups: Lookups) -> Outcome:
    """Read and check one file; never raises for a bad file."""
    record = FileRecord(path=entry.shown, sha256="", source=entry.source)  # the hash once read
    if entry.ignored:
        record.sha256, record.status, record.reason = entry.digest(), IGNORED, entry.reason
        record.message = entry.ignored
        return Outcome(record)
    if entry.rejected:
        record.sha256 = entry.digest()
        return reject(record, *entry.rejected)
    try:
        data = entry.read()
        record.sha256 = hashlib.sha256(data).hexdigest()
        sub = read_bytes(record, data, entry.fallback_time, ReadOptions(options.password))
    except Rejected as exc:
        return reject(record, exc.code, exc.message, exc.detail)
    except OSError as exc:
        return reject(record, "unreadable", f"Không đọc được tệp: {reason(exc)}.", said(exc))
    except MemoryError:
        return reject(record, "file_too_large", too_much_memory(options.limits), "MemoryError")
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust panic in calamine arrives as a BaseException
        rejected = damaged(exc)
        return reject(record, rejected.code, rejected.message, rejected.detail)
    if sub.report_id not in lookups.reports:
        return reject(record, "unknown_report", f"Báo cáo “{sub.report_id}” không có trong phiên bản này.")
    spec = load_spec(sub.report_id)
    try:
        fieldmap.check_version(sub.meta, spec)
    except Rejected as exc:
        return reject(record, exc.code, exc.message)
    try:
        own = parse_period(sub.period, _day(sub.meta.get("period_start")), _day(sub.meta.get("period_end")))
    except Exception:
        return reject(record, "wrong_period", f"Kỳ báo cáo “{sub.period}” trong tệp không hợp lệ.")
    period = options.period or own
    if options.period and sub.period != options.period.id:
        return reject(
            record,
            "wrong_period",
            f"Tệp là báo cáo kỳ {own.label} ({sub.period}), không phải kỳ {period.label} "
            f"({period.id}) đang tổng hợp.",
        )
    sub.unit_code, sub.unit_name = clean_text(sub.unit_code), clean_text(sub.unit_name)
    _identify_unit(sub, spec.cover.fields, lookups)
    record.unit_code, record.unit_name = sub.unit_code, sub.unit_name
    if options.roster and options.strict_roster and sub.unit_code not in lookups.by_code:
        return reject(
            record,
            "unknown_unit",
            f"Đơn vị “{sub.unit_name or sub.unit_code or '(chưa ghi)'}” không có trong danh sách "
            "đơn vị. Hãy kiểm tra ô Đơn vị báo cáo ở trang Thông tin.",
        )
    if not sub.unit_code:
        return reject(
            record,
            "unknown_unit",
            "Tệp chưa ghi đơn vị báo cáo (trang Thông tin). Hãy chọn tên đơn vị rồi gửi lại.",
        )
    check_submission(sub, spec, period)
    sub.issues += check_carried(sub, spec, period)
    return Outcome(record, sub, sub.issues)


def reject(record: FileRecord, code: str, message: str, detail: str = "") -> Outcome:
    assert code in REJECTION_CODES, code
    record.status, record.reason, record.message, record.detail = REJECTED, code, message, detail
    issue = Issue(ERROR, record.path, code, message, record.unit_code)
    return Outcome(record, None, [issue])


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _identify_unit(sub: Submission, cover_fields: Iterable, lookups: Lookups) -> None:
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


def read_checked(entry: Entry, options: Options, lookups: Lookups) -> Outcome:
    outcome = read_one(entry, options, lookups)
    # what the mail says: an arrival time from Date: only, a sender of another unit
    emailed = lookups.emailed if lookups.by_email else None
    found = envelope_issues(entry, outcome.record, outcome.submission, emailed)
    outcome.issues = outcome.issues + found
    return outcome


def failure_reason(failure: Failed, limits: Limits) -> tuple[str, str, str]:
    """Why a file that killed or stalled its worker is rejected: (code, message, detail)."""
    if failure.kind == "timeout":
        return (
            "corrupt_file",
            f"Đọc tệp quá {limits.seconds:g} giây vẫn chưa xong nên đã dừng: tệp có thể bị hỏng. "
            + SAVE_AGAIN,
            failure.detail,
        )
    if failure.kind == "memory":
        return "file_too_large", too_much_memory(limits), failure.detail
    return (
        "corrupt_file",
        f"Tệp bị hỏng: bộ đọc bảng tính dừng đột ngột khi mở tệp. {SAVE_AGAIN}",
        failure.detail,
    )


def too_much_memory(limits: Limits) -> str:
    limit = f"{limits.memory >> 20} MB" if limits.memory else "giới hạn"
    return (
        f"Đọc tệp cần nhiều bộ nhớ hơn mức cho phép ({limit}): tệp quá lớn hoặc bị hỏng "
        "(có thể có ô bị gõ nhầm ở rất xa); tệp không được đọc."
    )
