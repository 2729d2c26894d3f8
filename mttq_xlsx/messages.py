"""One mail message: who sent it, when it arrived, and its attachments, each an Entry to read.

`parse` runs in a capped worker process (`sources` sends every message there): a message may be
anything. It is read once, its parts found by their MIME boundaries (`mime`), each body left
where it lies: an attachment is an Entry pointing at its bytes in the message file (`part`),
decoded by the worker that reads it; only a zip (opened from a file) and the parts of a
forwarded message that was itself encoded are written to the run's temporary folder. The
headers of each part go through the email package (compat32); the headers users see
(From, Subject, an attachment's name) are read from those raw headers with `policy.default`,
which decodes RFC 2231, encoded words (Outlook puts them inside quotes) and raw UTF-8 alike.
Each attachment that looks like a document is written to the run's temporary folder and listed;
images (inline pictures, logos), signatures and the text of the message are not. A message
without a workbook is listed itself, with its sender: "xin gửi báo cáo" without the attachment
is the commonest mistake.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import policy
from email.header import decode_header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from typing import Any

from . import mime
from .codes import NO_ATTACHMENT, RECEIVED_TIME_UNKNOWN
from .container import SPREADSHEET_SUFFIXES, said
from .intake import LOCK_FILE, MEMBER, NOT_READ, ZIP_SUFFIX, Entry, MailRef, decode_name
from .model import Source
from .numbers import format_number
from .output import reason
from .periods import VIETNAM
from .roster import clean_text
from .savedtime import modified_at

MAX_MESSAGE = 64 << 20  # bytes of one message as stored (Gmail receives at most 50 MB)
MAX_ATTACHMENT = 25 << 20  # bytes of one attachment, decoded (what Gmail and Outlook let one send)
HEAD = 1 << 16  # bytes read of a message too large to parse, for its header
UNKNOWN_SENDER = "(không rõ người gửi)"
UNKNOWN_TIME = "(không rõ thời điểm)"
READ_NAMES = (*SPREADSHEET_SUFFIXES, ZIP_SUFFIX)  # attachments that are read

# parts that are never listed: the pictures of a signature or an inline image, signatures, cards
_NOT_DOCUMENTS = (
    "image/",
    "application/pgp-signature",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-keys",
    "text/vcard",
    "text/x-vcard",
)
_NOT_DOCUMENT_SUFFIXES = (".p7s", ".asc", ".sig", ".vcf")
# an attachment sent without a name, known by its type
_SUFFIX_OF_TYPE = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
    "application/vnd.ms-excel.sheet.binary.macroenabled.12": ".xlsb",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NOT_ON_WINDOWS = re.compile(r'[<>:"|?*]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
MAX_NAME = 120  # characters of an attachment's name kept


@dataclass(frozen=True)
class Parsed:
    """A message, parsed: its envelope, how it is named in paths, and what it lists."""

    label: str  # the message in the paths users see: "hop-thu.mbox › 2024-06-10 20:35 a@b.vn"
    source: Source  # the envelope (no attachment)
    sha256: str  # of the message as stored ("" when it could not be read)
    received_from: str  # "imap" | "maildir" | "mbox" | "received" | "date" | ""
    entries: tuple[Entry, ...]  # its attachments, or the message itself when it has no report or is bad


def clean_name(name: str, fallback: str = "tệp đính kèm") -> str:
    """An attachment's name, safe to show and to save under: NFC, no folders, no "..", no control
    characters, none of Windows' forbidden characters or reserved names, at most MAX_NAME characters."""
    if any("\udc80" <= ch <= "\udcff" for ch in name):  # raw bytes that were not UTF-8
        name = decode_name(name.encode("utf-8", "surrogateescape"))
    name = unicodedata.normalize("NFC", _CONTROL.sub("", name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(_NOT_ON_WINDOWS.sub("_", name).split()).strip(" .")
    if _RESERVED.match(name):
        name = f"_{name}"
    if len(name) > MAX_NAME:
        stem, dot, suffix = name.rpartition(".")
        short = dot and len(suffix) < 10
        name = f"{stem[: MAX_NAME - len(suffix) - 2]}….{suffix}" if short else name[:MAX_NAME]
    return name or fallback


def parse(entry: Entry) -> Parsed:
    """Read and parse the message `entry` points at; never raises for a bad message."""
    mail = entry.mail
    assert mail is not None
    try:
        size = mail.size if mail.size >= 0 else entry.path.stat().st_size
        with open(entry.path, "rb") as f:
            f.seek(mail.start)
            data = f.read(HEAD if size > MAX_MESSAGE else size)
    except OSError as exc:
        rejected = ("unreadable", f"Không đọc được thư: {reason(exc)}.", said(exc))
        listed = replace(entry, mail=None, rejected=rejected, sha256="")
        return Parsed(entry.shown, Source(kind="mail"), "", "", (listed,))
    if size > MAX_MESSAGE:
        envelope, label, origin, _ = _envelope(mime.header(data)[0], entry)
        message = (
            f"Thư quá lớn ({format_number(round(size / 1e6))} MB, giới hạn {MAX_MESSAGE >> 20} MB); "
            "không đọc các tệp đính kèm. Hãy đề nghị đơn vị gửi riêng tệp báo cáo."
        )
        listed = _listed(entry, label, envelope, "", rejected=("file_too_large", message, ""))
        return Parsed(label, envelope, "", origin, (listed,))
    sha = hashlib.sha256(data).hexdigest()
    try:
        top = mime.header(data)
        if not top[0].keys():
            return _malformed(entry, sha, "no header fields")
        envelope, label, origin, notes = _envelope(top[0], entry)
        attachments, others = _attachments(data, top, entry, label, envelope, notes)
    except Exception as exc:  # headers and MIME are read leniently; this is a fault of a strange kind
        return _malformed(entry, sha, said(exc))
    if not any(not a.ignored for a in attachments):  # only documents that are not read, or nothing
        named = [a.source.attachment for a in attachments] + others
        alone = _without_report(entry, label, envelope, sha, notes, named)
        return Parsed(label, envelope, sha, origin, (alone,))
    return Parsed(label, envelope, sha, origin, tuple(attachments))


def _malformed(entry: Entry, sha: str, detail: str) -> Parsed:
    message = "Tệp không phải là thư điện tử hoặc thư bị hỏng; không đọc được. Hãy lưu lại thư từ hộp thư."
    rejected = ("corrupt_file", message, detail)
    listed = replace(entry, mail=None, rejected=rejected, sha256=sha)
    return Parsed(entry.shown, Source(kind="mail"), sha, "", (listed,))


def _listed(entry: Entry, label: str, envelope: Source, sha: str | None, **kind: Any) -> Entry:
    """The message itself as an entry: when it has no report, or cannot be read."""
    return Entry(label, entry.path, envelope, mail=None, sha256=sha, notes=(), **kind)


def _without_report(
    entry: Entry,
    label: str,
    envelope: Source,
    sha: str,
    notes: tuple[tuple[str, str], ...],
    others: list[str],
) -> Entry:
    who = envelope.sender or UNKNOWN_SENDER
    subject = f"“{envelope.subject}”" if envelope.subject else "(không có tiêu đề)"
    only = f" (thư chỉ kèm: {', '.join(others)})" if others else ""
    message = (
        f"Thư của {who}, tiêu đề {subject}, không kèm tệp báo cáo ({', '.join(READ_NAMES)}){only}. "
        "Hãy đề nghị đơn vị gửi lại thư có đính kèm tệp báo cáo."
    )
    return replace(_listed(entry, label, envelope, sha, ignored=message, reason=NO_ATTACHMENT), notes=notes)


def _view(part: Message) -> EmailMessage:
    """The part's raw headers, read the way `policy.default` reads them (names, addresses, dates)."""
    view = EmailMessage(policy=policy.default)
    for name, value in part.raw_items():
        view.set_raw(name, value)
    return view


def _header(view: EmailMessage, name: str) -> Any:
    try:
        return view[name]
    except Exception:  # a header too broken for the parser: as if absent
        return None


def _envelope(msg: Message, entry: Entry) -> tuple[Source, str, str, tuple[tuple[str, str], ...]]:
    """The envelope, the message's label, where its arrival time came from, and the warnings."""
    mail = entry.mail
    assert mail is not None
    view = _view(msg)
    name, address = _sender(msg, view)
    sender = _shown_sender(name, address)
    raw_subject = msg.get("subject")
    plain = _plain_text(raw_subject) if isinstance(raw_subject, str) else None
    subject = clean_text(plain if plain is not None else str(_header(view, "subject") or ""))
    message_id = clean_text(str(msg.get("message-id", "")))  # ASCII: needs no decoding
    received, origin = mail.received, mail.received_from
    notes: tuple[tuple[str, str], ...] = ()
    if received is None:
        received, origin = _top_received(msg), "received"
    if received is None:
        received, origin = _moment(str(msg.get("date", ""))), "date"
        if received is not None:
            notes = (
                (
                    RECEIVED_TIME_UNKNOWN,
                    f"Thư không có thời điểm máy chủ nhận; dùng ngày giờ gửi ghi trong thư "
                    f"({received.astimezone(VIETNAM):%H:%M %d/%m/%Y}) để xét nộp muộn và bản mới nhất. "
                    "Nếu cần chính xác, hãy lấy thư thẳng từ hộp thư (IMAP) hoặc từ tệp mbox.",
                ),
            )
    if received is None:
        origin = ""
        notes = (
            (
                RECEIVED_TIME_UNKNOWN,
                "Thư không ghi thời điểm gửi hay nhận; xét nộp muộn và bản mới nhất theo thời điểm "
                "lưu của tệp báo cáo.",
            ),
        )
    source = Source(kind="mail", message_id=message_id, sender=sender, subject=subject, received_at=received)
    if mail.named:
        return source, entry.shown, origin, notes
    when = f"{received.astimezone(VIETNAM):%Y-%m-%d %H:%M}" if received else UNKNOWN_TIME
    return source, f"{entry.shown}{MEMBER}{when} {address or name or UNKNOWN_SENDER}", origin, notes


# A From as mail programs write it: ASCII, a display name (quoted, plain words, or encoded words
# only) and one address in <>. Read by `_simple_sender` without the email package's full header
# parser, which took a third of the time of parsing a message; anything else goes to that parser.
# So are a Subject and an attachment's name that are ASCII or encoded words only (`_plain_text`).
_SIMPLE_FROM = re.compile(
    r'\s*(?:"(?P<quoted>[^"\\]*)"|(?P<words>[\sA-Za-z0-9!#$%&\'*+/=?^_`{|}~.-]*?))\s*'
    r"<(?P<address>[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+)>\s*",
    re.ASCII,
)
_ENCODED_WORDS = re.compile(r"\s*(?:=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=\s*)+", re.ASCII)
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*", re.ASCII)


def _plain_text(raw: str) -> str | None:
    """ASCII text, or encoded words only, as `policy.default` decodes it (up to spacing, which
    `clean_text` and `clean_name` make single); None for anything else."""
    if not raw.isascii():
        return None
    if "=?" not in raw:
        return raw
    if not _ENCODED_WORDS.fullmatch(raw):
        return None  # encoded words mixed with plain ones: the parser's spacing rules apply
    try:
        return "".join(
            part.decode(charset or "ascii") if isinstance(part, bytes) else part
            for part, charset in decode_header(raw)
        )
    except (LookupError, UnicodeError, ValueError, binascii.Error):
        return None


def _shown_sender(name: str, address: str) -> str:
    """ "Name <address>", quoted where the name needs it; a dot-atom address is not parsed again."""
    if not address:
        return name
    local, at, domain = address.rpartition("@")
    if at and _DOT_ATOM.fullmatch(local) and _DOT_ATOM.fullmatch(domain):
        return str(Address(display_name=name, username=local, domain=domain))
    return str(Address(display_name=name, addr_spec=address))


def _simple_sender(raw: str) -> tuple[str, str] | None:
    """(display name, address) of a From of the common form, as the full parser reads it; None
    for any other form."""
    match = _SIMPLE_FROM.fullmatch(raw) if raw.isascii() else None
    if match is None:
        return None
    name = _plain_text(match["quoted"] if match["quoted"] is not None else match["words"])
    return None if name is None else (clean_text(name), match["address"].lower())


def _sender(msg: Message, view: EmailMessage) -> tuple[str, str]:
    """The sender's display name and address (lower case); a From that is not an address as the name."""
    raw = msg.get_all("from") or []  # compat32: the raw text (a Header when it has raw 8-bit bytes)
    if len(raw) == 1 and isinstance(raw[0], str) and (simple := _simple_sender(raw[0])):
        return simple
    return _parsed_sender(view)


def _parsed_sender(view: EmailMessage) -> tuple[str, str]:
    """`_sender` through the email package's header parser: any From at all."""
    header = _header(view, "from")
    if header is None:
        return "", ""
    try:
        found = [a for a in header.addresses if a.addr_spec and "@" in a.addr_spec]
    except Exception:
        found = []
    if not found:
        return clean_text(str(header)), ""
    return clean_text(found[0].display_name), clean_text(found[0].addr_spec).lower()


def _top_received(msg: Message) -> datetime | None:
    """When the last server took the message in: the date after the `;` of the top Received:."""
    header = " ".join(str(msg.get("received", "")).split())
    return _moment(header.rsplit(";", 1)[1]) if ";" in header else None


def _moment(text: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # "-0000": UTC, zone unknown


def _attachments(
    data: bytes,
    top: tuple[Message, int],
    entry: Entry,
    label: str,
    envelope: Source,
    notes: tuple[tuple[str, str], ...],
) -> tuple[list[Entry], list[str]]:
    """Every attachment that looks like a document (forwarded messages' too), each pointing at its
    bytes in the message file, and the names of the other named attachments (pictures); `top`:
    the message's header, read already."""
    mail = entry.mail
    assert mail is not None
    stamp = envelope.received_at or _file_time(entry.path)
    found: list[Entry] = []
    others: list[str] = []
    shown: set[str] = set()
    for leaf in mime.leaves(data, top=top):
        part = leaf.head
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        if ctype.startswith(_NOT_DOCUMENTS) and disposition != "attachment":
            continue  # an inline picture, a signature: not even its name is looked at
        raw = f"{part.get('content-disposition', '')} {part.get('content-type', '')}".lower()
        if "name" not in raw and ctype not in _SUFFIX_OF_TYPE:
            continue  # the text of the message (a look at the raw header: the parsers cost)
        try:  # the name decoded as policy.default decodes it
            raw_name = _filename(part) if "name" in raw else None
        except Exception:  # a parameter too broken to decode
            raw_name = None
        name = clean_name(raw_name) if raw_name else ""
        suffix = PurePosixPath(name.lower()).suffix
        if ctype.startswith(_NOT_DOCUMENTS) or suffix in _NOT_DOCUMENT_SUFFIXES:
            if name and disposition == "attachment":
                others.append(name)
            continue
        if not name:
            if ctype not in _SUFFIX_OF_TYPE:
                continue  # the text of the message, or an unnamed part of no known kind
            name = f"tệp đính kèm {len(found) + 1}{_SUFFIX_OF_TYPE[ctype]}"
            suffix = _SUFFIX_OF_TYPE[ctype]
        elif ctype.startswith("text/") and disposition != "attachment":
            continue  # a named text part shown in the message
        at = _unique(f"{label}{MEMBER}{name}", shown)
        source = replace(envelope, attachment=name)
        kind: dict[str, Any] = {"ignored": _not_read(name)}
        if (leaf.stop - leaf.start) * 3 // 4 > MAX_ATTACHMENT:
            kind = {
                "rejected": (
                    "file_too_large",
                    f"Tệp đính kèm lớn hơn {MAX_ATTACHMENT >> 20} MB, giới hạn của một tệp báo cáo; "
                    "tệp không được đọc.",
                    "",
                ),
                "sha256": "",
            }
            found.append(Entry(at, entry.path, source, stamp=stamp, notes=notes, **kind))
            continue
        if leaf.data is data and suffix != ZIP_SUFFIX:  # read where it lies, when its turn comes
            where = (mail.start + leaf.start, mail.start + leaf.stop, leaf.encoding)
            found.append(Entry(at, entry.path, source, stamp=stamp, notes=notes, part=where, **kind))
            continue
        target = Path(f"{mail.spool}-{len(found)}{suffix if suffix in READ_NAMES else '.bin'}")
        target.write_bytes(leaf.decoded())  # a zip is opened from a file
        found.append(Entry(at, target, source, stamp=stamp, notes=notes, **kind))
    return found, others


def _filename(part: Message) -> str | None:
    """The attachment's name as `policy.default` reads it: read from the raw header (compat32)
    when that gives ASCII or encoded words only, else through the full parser."""
    plain = part.get_filename()
    if isinstance(plain, str) and (text := _plain_text(plain)) is not None:
        return text
    return _view(part).get_filename()


def _unique(shown: str, taken: set[str]) -> str:
    """Two attachments of one message under the same name: the second shown as "Báo cáo (2).xlsx"."""
    stem, dot, suffix = shown.rpartition(".")
    candidate, number = shown, 1
    while candidate in taken:
        number += 1
        candidate = f"{stem} ({number}).{suffix}" if dot and MEMBER not in suffix else f"{shown} ({number})"
    taken.add(candidate)
    return candidate


def _not_read(name: str) -> str:
    """Why an attachment is listed but not read; "" when it is read."""
    if name.startswith(("~$", ".~lock")):
        return LOCK_FILE
    return "" if PurePosixPath(name.lower()).suffix in READ_NAMES else NOT_READ


def _file_time(path: Path) -> datetime | None:
    try:
        return modified_at(path)
    except OSError:
        return None


def mail_entry(entry: Entry, spool: Path, **ref: Any) -> Entry:
    """`entry` (a saved .eml, or a message of a mailbox) as a message to parse."""
    return replace(entry, mail=MailRef(spool=spool, **ref))
