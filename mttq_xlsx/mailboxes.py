"""Where an inbox's files come from: a folder (saved `.eml` messages in it too), an mbox file, a
Maildir, a folder of an IMAP mailbox, or a folder written by `mttq-xlsx fetch` (its manifest).

`opened` lists every entry of the sources for `consolidate` and `check`, each message unparsed:
the worker that reads its attachments parses it (`ingest`), in a capped process, as zips are
opened: a message may be anything. `parsed_messages` parses messages on their own (for `fetch`,
and for a message that took its reading worker down). Attachments written out (zips, parts of
a forwarded message) go to a temporary folder that lives as long as the `with`. Nothing in a
source is changed: files are only read, an IMAP folder only examined.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

from . import mailserver, manifest
from .errors import UsageError, traced
from .intake import MAIL_SUFFIX, Entry, MailRef, given, readable, walk
from .messages import Parsed, parse
from .model import Source
from .periods import VIETNAM
from .workers import Failed, Limits
from .workers import run as workers_run

MAILDIR = ("cur", "new")  # a folder with these is a Maildir (tmp/ holds mail still being delivered)
MBOX_START = b"From "
BATCH_LIMIT = 64  # messages per batch sent to a worker
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FROM_TIME = re.compile(
    rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+(?P<month>[A-Z][a-z]{2})\s+(?P<day>\d{1,2})\s+"
    rb"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s+"
    rb"(?:(?P<zone>[+-]\d{4}|[A-Z]{2,5})\s+)?(?P<year>\d{4})"
)


@dataclass(frozen=True)
class MailAccess:
    """How to reach a mailbox: the IMAP folder, since when, plain connections, and the password."""

    folder: str | None = None  # None: the folder in the address, else INBOX
    since: date | None = None  # messages received before this day (Vietnam time) are left out
    insecure: bool = False  # allow imap:// without TLS (a test server on this computer)
    password: Callable[[str], str] | None = None  # (account) -> password; None: MTTQ_MAIL_PASSWORD


@dataclass(frozen=True)
class Message:
    """A message of a source, parsed: its entry (where it is), and what it holds."""

    entry: Entry
    parsed: Parsed


def kind(source: str | Path) -> str:
    """ "imap" | "maildir" | "folder" | "mbox" | "file" (a workbook, a zip, a saved message, or
    something missing)."""
    if isinstance(source, str) and mailserver.is_address(source):
        return "imap"
    path = Path(source)
    if path.is_dir():
        return "maildir" if all((path / sub).is_dir() for sub in MAILDIR) else "folder"
    with contextlib.suppress(OSError), open(path, "rb") as f:
        if f.read(len(MBOX_START)) == MBOX_START:
            return "mbox"
    return "file"


@contextlib.contextmanager
def opened(
    sources: Sequence[str | Path],
    access: MailAccess,
    *,
    workers: int | None,
    limits: Limits,
    given_one_by_one: bool = False,
) -> Iterator[list[Entry]]:
    """Every entry of `sources`, sorted by the path shown, each message still to parse (`mail`
    set, with `access.since`); zips are left to the caller. `given_one_by_one`: each source is
    shown by its own name (`check`), else entries are shown relative to the one source
    (`consolidate`). `workers` and `limits` are the reading's: nothing is parsed here."""
    since = datetime.combine(access.since, time(0), VIETNAM) if access.since else None
    with tempfile.TemporaryDirectory(prefix="mttq-thu-") as tmp:
        entries: list[Entry] = []
        for number, source in enumerate(sources):
            spool = Path(tmp) / str(number)
            spool.mkdir()
            found = listed(source, access, spool, given_one_by_one)
            if since is not None:
                found = [replace(e, mail=replace(e.mail, since=since)) if e.mail else e for e in found]
            found.sort(key=lambda e: e.shown)  # a mailbox's messages, all shown alike, stay in its order
            entries += found
        yield entries


def listed(source: str | Path, access: MailAccess, spool: Path, named: bool = False) -> list[Entry]:
    """The entries of one source, its messages not parsed yet; `named`: shown under the source's name."""
    what = kind(source)
    if what == "imap":
        return _imap(str(source), access, spool)
    path = Path(source)
    name = readable(path.name or str(path))
    if what == "maildir":
        return _maildir(path, spool, name)
    if what == "mbox":
        return _mbox(path, spool, name)
    if what == "folder":
        found = manifest.applied(walk(path), path)
        if named:
            found = [replace(e, shown=f"{name}/{e.shown}") for e in found]
        return [_saved_message(e, spool, i) for i, e in enumerate(found)]
    if not named and not path.exists():
        raise UsageError(f"Không thấy thư mục hay hộp thư “{readable(path)}”. Hãy kiểm tra lại đường dẫn.")
    return [_saved_message(e, spool, i) for i, e in enumerate(given([path]))]


def _saved_message(entry: Entry, spool: Path, number: int) -> Entry:
    """A saved .eml as a message to parse (its path shown names it); any other entry as it is."""
    if entry.ignored or entry.rejected or entry.member or entry.path.suffix.lower() != MAIL_SUFFIX:
        return entry
    return replace(entry, mail=MailRef(spool=spool / f"{number:06d}", named=True))


def _mbox(path: Path, spool: Path, shown: str) -> list[Entry]:
    """Every message of an mbox file: from a From_ line to the next (the rule of Python's mailbox)."""
    found: list[Entry] = []
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return []
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            starts = [0] if data[: len(MBOX_START)] == MBOX_START else []
            at = data.find(b"\n" + MBOX_START)
            while at >= 0:  # find, not a regular expression: 5 times faster over a big mbox
                starts.append(at + 1)
                at = data.find(b"\n" + MBOX_START, at + 1)
            for number, start in enumerate(starts):
                body = data.find(b"\n", start) + 1 or size
                stop = starts[number + 1] if number + 1 < len(starts) else size
                while stop > body and data[stop - 1 : stop] in (b"\n", b"\r"):  # the blank line between
                    stop -= 1
                received = from_line_time(data[start:body])
                ref = MailRef(
                    spool=spool / f"{number:06d}",
                    start=body,
                    size=stop - body,
                    received=received,
                    received_from="mbox" if received else "",
                    key=str(start),
                )
                found.append(Entry(shown, path, Source(kind="mail"), mail=ref))
    return found


def from_line_time(line: bytes) -> datetime | None:
    """The time on an mbox From_ line: "From a@b.vn Mon Jun 10 20:35:07 2024", in the local time of
    the computer that wrote it (Vietnam, as for zip times), or with its zone, as Gmail writes it
    ("… 13:35:07 +0000 2024")."""
    match = _FROM_TIME.search(line)
    if not match or match["month"].decode() not in _MONTHS:
        return None
    zone = (match["zone"] or b"").decode()
    if zone[:1] in "+-" and zone:
        minutes = int(zone[1:3]) * 60 + int(zone[3:5])
        tz = timezone(timedelta(minutes=minutes if zone[0] == "+" else -minutes))
    else:
        tz = UTC if zone in ("UT", "UTC", "GMT") else VIETNAM
    try:
        return datetime(
            int(match["year"]),
            _MONTHS.index(match["month"].decode()) + 1,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            tzinfo=tz,
        )
    except ValueError:  # day 31 of June, hour 25
        return None


def _maildir(path: Path, spool: Path, shown: str) -> list[Entry]:
    """Every message of a Maildir (new/ and cur/), with its delivery time: the file's modification
    time, as Dovecot and Python's mailbox take it."""
    found: list[tuple[float, str, Path]] = []
    for sub in ("new", "cur"):
        with os.scandir(path / sub) as listing:
            for item in listing:
                if item.name.startswith(".") or not item.is_file(follow_symlinks=False):
                    continue  # a link is not followed out of the mailbox
                found.append((item.stat(follow_symlinks=False).st_mtime, item.name, Path(item.path)))
    found.sort()
    entries = []
    for number, (mtime, name, file) in enumerate(found):
        received = datetime.fromtimestamp(mtime, UTC)
        ref = MailRef(
            spool=spool / f"{number:06d}",
            received=received,
            received_from="maildir",
            key=name.split(":2,")[0],
        )
        entries.append(Entry(shown, file, Source(kind="mail"), mail=ref))
    return entries


def _imap(source: str, access: MailAccess, spool: Path, known: Collection[str] = ()) -> list[Entry]:
    from . import imap  # imapclient: only for a run that reads an IMAP folder, never in a worker

    server = mailserver.parse_server(source, ("imaps", "imap"), access.insecure)
    folder = access.folder or server.path or "INBOX"
    account = f"{server.user}@{server.host}" if "@" not in server.user else server.user
    ask = access.password or (lambda who: mailserver.password(account=who))
    return imap.download(server, lambda: ask(account), folder, spool, access.since, known)[1]


def mailbox_id(source: str | Path, access: MailAccess) -> str:
    """How a source is named in a fetch manifest: an IMAP folder as imaps://user@host:port/FOLDER
    (no password), a file or folder by its name."""
    if kind(source) == "imap":
        server = mailserver.parse_server(str(source), ("imaps", "imap"), access.insecure)
        return str(replace(server, path=access.folder or server.path or "INBOX"))
    return readable(Path(source).name)


def fetched(
    source: str | Path,
    access: MailAccess,
    spool: Path,
    known: Collection[str],
    workers: int | None,
    limits: Limits,
) -> tuple[list[Message], list[Entry]]:
    """For `fetch`: (the source's messages, parsed, but for IMAP the ones whose "UIDVALIDITY:UID"
    is in `known`, which are not downloaded; the source's other entries (files lying in a folder))."""
    imap_source = kind(source) == "imap"
    found = _imap(str(source), access, spool, known) if imap_source else listed(source, access, spool)
    items = parsed_messages(found, workers, limits, access.since)
    return [m for m in items if isinstance(m, Message)], [e for e in items if isinstance(e, Entry)]


def parsed_messages(
    entries: list[Entry], workers: int | None, limits: Limits, since: date | None = None
) -> list[Entry | Message]:
    """Every entry, each message parsed in a capped worker process; messages received before
    `since` (else their own `MailRef.since`) left out; two messages that would be shown alike
    told apart ("… (2)")."""
    at = [i for i, e in enumerate(entries) if e.mail is not None and not e.rejected and not e.ignored]
    if not at:
        return list(entries)
    out: list[Entry | Message] = list(entries)
    todo = [entries[i] for i in at]
    count = min(workers or os.cpu_count() or 1, len(todo))
    batch = max(1, min(BATCH_LIMIT, len(todo) // (count * 8)))
    for index, result in workers_run(_parse_in_worker, todo, workers=count, limits=limits, batch_size=batch):
        entry = todo[index]
        if isinstance(result, Failed):
            message = (
                "Thư làm bộ đọc thư dừng đột ngột hoặc quá lâu nên đã bỏ qua: thư có thể bị hỏng. "
                "Hãy mở thư trong chương trình thư và lưu riêng tệp đính kèm."
            )
            rejected = replace(entry, mail=None, rejected=("corrupt_file", message, result.detail), sha256="")
            result = Parsed(entry.shown, Source(kind="mail"), "", "", (rejected,))
        out[at[index]] = Message(entry, result)
    start = datetime.combine(since, time(0), VIETNAM) if since else None
    kept = [m for m in out if not isinstance(m, Message) or not left_out(m.parsed, start or _since(m.entry))]
    return _told_apart(kept)


def _since(entry: Entry) -> datetime | None:
    return entry.mail.since if entry.mail else None


def _parse_in_worker(entry: Entry) -> Parsed:
    with traced():
        return parse(entry)


def left_out(parsed: Parsed, since: datetime | None) -> bool:
    """A message received before `since` (`--since`) is not read."""
    received = parsed.source.received_at
    return since is not None and received is not None and received < since


def told_apart(labels: Sequence[tuple[str, bool]]) -> list[str]:
    """The labels of messages, in mailbox order, given as (label, named: a saved .eml's own path),
    with those that several messages share (one sender, one minute) made "label (2)", "label (3)"…"""
    counts = Counter(label for label, named in labels if not named)
    seen: Counter[str] = Counter()
    out = []
    for label, _ in labels:
        if counts[label] > 1:
            seen[label] += 1
            if seen[label] > 1:
                label = f"{label} ({seen[label]})"
        out.append(label)
    return out


def _told_apart(items: list[Entry | Message]) -> list[Entry | Message]:
    """Messages with the same label renamed "label (2)" (`told_apart`), their entries with them."""
    messages = [item for item in items if isinstance(item, Message)]
    named = [(m.parsed.label, bool(m.entry.mail and m.entry.mail.named)) for m in messages]
    new_labels = iter(told_apart(named))
    out: list[Entry | Message] = []
    for item in items:
        if isinstance(item, Message) and (new := next(new_labels)) != item.parsed.label:
            old = item.parsed.label
            entries = tuple(replace(e, shown=new + e.shown[len(old) :]) for e in item.parsed.entries)
            item = Message(item.entry, replace(item.parsed, label=new, entries=entries))
        out.append(item)
    return out
