"""`mttq-xlsx fetch`: a local copy of a mailbox's attachments, with its manifest (`manifest`).

Each attachment a message lists is saved under a name that cannot collide and reads well: the
arrival time (Vietnam), the sender, the attachment's name without diacritics and the start of its
SHA-256, `2024-06-10_2035_phuong-dong-kinh_Bao-cao_1f2e3d4c.xlsx`. Fetching again adds only what
the copy does not have: from IMAP, messages whose UIDVALIDITY:UID is recorded are not downloaded
again; from files, a message with a recorded Message-ID and the same attachments (or, without a
Message-ID, the same bytes) is left out.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from . import manifest
from .codes import NO_ATTACHMENT
from .errors import OutputError
from .intake import Entry
from .mailboxes import MailAccess, Message, fetched, mailbox_id
from .manifest import IGNORED, REJECTED, SAVED
from .model import Source
from .output import ensure_folder, reason
from .periods import VIETNAM
from .roster import strip_diacritics
from .workers import Limits


@dataclass
class Fetched:
    """What one fetch did."""

    new: int = 0  # messages added to the copy
    known: int = 0  # messages the copy had already (from IMAP: not downloaded again)
    saved: list[str] = field(default_factory=list)  # files written to the copy
    without_report: list[str] = field(default_factory=list)  # the senders of messages without a report
    not_saved: list[str] = field(default_factory=list)  # attachments or messages that could not be read
    other_files: int = 0  # files of a folder source that are not in a message: not copied


def fetch(
    source: str | Path,
    target: Path,
    access: MailAccess,
    workers: int | None = None,
    limits: Limits | None = None,
) -> Fetched:
    """Copy what `source` holds into `target` and record it in the manifest there."""
    ensure_folder(target)
    records = manifest.load(target)  # a broken manifest stops here: nothing is overwritten
    mailbox = mailbox_id(source, access)
    known = {key for r in records if r["mailbox"] == mailbox for key in r.get("keys", [])}
    signatures = {_signature(r): r for r in records}
    done = Fetched()
    with tempfile.TemporaryDirectory(prefix="mttq-lay-thu-") as tmp:
        spool = Path(tmp)
        messages, others = fetched(source, access, spool, known, workers, limits or Limits())
        done.other_files = len(others)
        for message in messages:
            record = _record(message, mailbox)
            same = signatures.get(_signature(record))
            if same is not None:
                same.setdefault("keys", [])
                same["keys"] += [k for k in record["keys"] if k not in same["keys"]]
                done.known += 1
                continue
            for item, entry in zip(record["files"], message.parsed.entries, strict=True):
                if item["status"] == SAVED:
                    _copy(entry, target / item["file"])
                    done.saved.append(item["file"])
                elif item["reason"] == NO_ATTACHMENT:
                    done.without_report.append(message.parsed.source.sender or message.parsed.label)
                elif item["status"] == REJECTED:
                    done.not_saved.append(item["shown"])
            signatures[_signature(record)] = record
            records.append(record)
            done.new += 1
    if done.new or done.known or not (target / manifest.NAME).exists():
        manifest.save(target, records)
    return done


def _signature(record: dict[str, Any]) -> tuple[str, ...]:
    """What makes two records one message: its Message-ID and attachments, else its bytes."""
    if record["message_id"]:
        return (record["message_id"], *sorted(item["sha256"] for item in record["files"]))
    return ("", record["sha256"])


def _record(message: Message, mailbox: str) -> dict[str, Any]:
    parsed = message.parsed
    source = parsed.source
    notes = next((e.notes for e in parsed.entries if e.notes), ())
    return {
        "mailbox": mailbox,
        "keys": [message.entry.mail.key] if message.entry.mail and message.entry.mail.key else [],
        "message_id": source.message_id,
        "sender": source.sender,
        "subject": source.subject,
        "received_at": source.received_at.isoformat() if source.received_at else None,
        "received_from": parsed.received_from,
        "sha256": parsed.sha256,
        "label": parsed.label,
        "notes": [list(note) for note in notes],
        "files": [_item(entry, source) for entry in parsed.entries],
    }


def _item(entry: Entry, envelope: Source) -> dict[str, Any]:
    """An attachment is saved; anything else (the message itself, listed with a known hash, or an
    attachment too large to decode) is recorded as it was listed."""
    item: dict[str, Any] = {"attachment": entry.source.attachment, "shown": entry.shown, "file": ""}
    if _attachment(entry):
        data = entry.read()
        sha = hashlib.sha256(data).hexdigest()
        name = saved_name(envelope, entry.source.attachment, sha)
        item |= {"file": name, "sha256": sha, "size": len(data)}
        return item | {"status": SAVED, "reason": "", "message": ""}
    item["sha256"] = entry.sha256 or ""
    if entry.rejected:
        code, message, detail = entry.rejected
        return item | {"status": REJECTED, "reason": code, "message": message, "detail": detail}
    return item | {"status": IGNORED, "reason": entry.reason, "message": entry.ignored}


def saved_name(envelope: Source, attachment: str, sha: str) -> str:
    """`2024-06-10_2035_phuong-dong-kinh_Bao-cao_1f2e3d4c.xlsx`: readable, and distinct for distinct
    contents (the hash), whatever the units named their files."""
    moment = envelope.received_at
    when = f"{moment.astimezone(VIETNAM):%Y-%m-%d_%H%M}" if moment else "khong-ro-ngay"
    name, address = parseaddr(envelope.sender)
    who = _slug(name)[:30] or _slug(address.split("@")[0])[:30] or "khong-ro-nguoi-gui"
    stem, suffix = os.path.splitext(attachment)
    suffix = f".{_slug(suffix).lower()}" if _slug(suffix) else ""
    return f"{when}_{who}_{_slug(stem)[:40] or 'tep'}_{sha[:8]}{suffix}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", strip_diacritics(text)).strip("-")


def _attachment(entry: Entry) -> bool:
    """An attachment to save: it has bytes of its own (a message listed itself has a known hash)."""
    return entry.sha256 is None and not entry.rejected


def _copy(entry: Entry, target: Path) -> None:
    """Write a file of the copy; one already there under the same name has the same content (the
    name holds its hash)."""
    if target.exists():
        return
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_bytes(entry.read())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"Không ghi được tệp “{target}”: {reason(exc)}.") from exc
