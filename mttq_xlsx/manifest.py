"""`manifest.json` of a local copy of a mailbox (`mttq-xlsx fetch`): written there, read back here.

Schema `mttq-xlsx/manifest/1`: one record per message, in the order fetched:

    {"mailbox": "imaps://tonghop.mttq@gmail.com@imap.gmail.com:993/INBOX" | "hop-thu.mbox",
     "keys": ["UIDVALIDITY:UID" | Maildir name | mbox offset], "message_id", "sender", "subject",
     "received_at", "received_from": "imap|maildir|mbox|received|date|", "sha256" (the message),
     "label" (the message in the paths users see), "notes": [[code, message]],
     "files": [{"attachment", "shown", "file" (saved as; "" when not saved), "sha256", "size",
                "status": "saved|ignored|rejected", "reason", "message", "detail"}]}

A message without a report, or one that could not be read, has one item with no `file`: its
status and reason as the mailbox run listed it. `applied` gives `consolidate` of the copy the
same listing as the mailbox: the saved files with their envelopes and arrival times, the items
not saved as entries of their own; the manifest itself is not listed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from .codes import REJECTION_CODES
from .intake import Entry
from .model import Source
from .output import atomic_path

NAME = "manifest.json"
SCHEMA = "mttq-xlsx/manifest/1"
SAVED, IGNORED, REJECTED = "saved", "ignored", "rejected"
BROKEN = (
    "Tệp ghi chép của lệnh mttq-xlsx fetch bị hỏng hoặc của phiên bản khác, nên các tệp trong thư mục "
    "được đọc như tệp thường (không có người gửi, thời điểm nhận thư). Hãy chạy lại mttq-xlsx fetch "
    "vào một thư mục mới."
)


class Broken(Exception):
    """A manifest that cannot be read."""


def load(folder: Path) -> list[dict[str, Any]]:
    """The message records of `folder`'s manifest ([] when there is none); Broken when unreadable."""
    path = folder / NAME
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA or not isinstance(data.get("messages"), list):
            raise Broken(f"schema {data.get('schema')!r}")
        for message in data["messages"]:
            _source(message)  # every record must make an envelope
            for item in message["files"]:
                if item["status"] == REJECTED and item["reason"] not in REJECTION_CODES:
                    raise Broken(f"reason {item['reason']!r}")
                if not isinstance(item["shown"], str) or not isinstance(item["file"], str):
                    raise Broken("shown and file must be text")
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise Broken(f"{type(exc).__name__}: {exc}") from exc
    return list(data["messages"])


def save(folder: Path, messages: list[dict[str, Any]]) -> Path:
    target = folder / NAME
    with atomic_path(target) as tmp:
        text = json.dumps({"schema": SCHEMA, "messages": messages}, ensure_ascii=False, indent=2)
        tmp.write_text(text + "\n", encoding="utf-8")
    return target


def _source(message: dict[str, Any], attachment: str = "") -> Source:
    received = message.get("received_at")
    return Source(
        kind="mail",
        message_id=str(message.get("message_id", "")),
        sender=str(message.get("sender", "")),
        subject=str(message.get("subject", "")),
        received_at=datetime.fromisoformat(received) if received else None,
        attachment=attachment,
    )


def applied(entries: list[Entry], folder: Path) -> list[Entry]:
    """The walked `entries` of `folder` with its manifest applied: each saved file with its
    message's envelope, the items that were not saved listed on their own, the manifest left out.
    A broken manifest is listed, ignored, and the files are read as plain files."""
    try:
        messages = load(folder)
    except Broken:
        return [replace(e, ignored=BROKEN) if e.shown == NAME else e for e in entries]
    if not messages and not (folder / NAME).exists():
        return entries
    saved: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    out: list[Entry] = []
    for message in messages:
        for item in message["files"]:
            if item["file"]:
                saved[item["file"]] = (message, item)
            else:
                out.append(_unsaved(folder / NAME, message, item))
    for entry in entries:
        if entry.shown == NAME:
            continue
        if entry.shown in saved:
            message, item = saved[entry.shown]
            source = _source(message, str(item["attachment"]))
            stamp = source.received_at or entry.stamp
            entry = replace(entry, source=source, stamp=stamp, notes=_notes(message))
        out.append(entry)
    out.sort(key=lambda e: e.shown)
    return out


def _notes(message: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((str(code), str(text)) for code, text in message.get("notes", []))


def _unsaved(path: Path, message: dict[str, Any], item: dict[str, Any]) -> Entry:
    """An item of a message that has no file in the copy: listed as the mailbox run listed it."""
    kind: dict[str, Any]
    if item["status"] == REJECTED:
        kind = {"rejected": (str(item["reason"]), str(item["message"]), str(item.get("detail", "")))}
    else:
        kind = {"ignored": str(item["message"]), "reason": str(item["reason"])}
    return Entry(
        str(item["shown"]),
        path,
        _source(message, str(item["attachment"])),
        sha256=str(item.get("sha256", "")),
        notes=_notes(message),
        **kind,
    )
