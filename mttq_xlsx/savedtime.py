"""When a workbook was saved: its own last-saved time (xlsx docProps, ods meta.xml, xls summary
information, read as the program that wrote it meant it), else the file's modification time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from .periods import VIETNAM

if TYPE_CHECKING:
    from .container import Container


def modified_at(path: Path) -> datetime:
    """A file's modification time: when a workbook has no saved time of its own."""
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def saved_at(container: Container) -> datetime | None:
    """The workbook's own last-saved time (xlsx docProps, ods meta.xml, xls summary info)."""
    try:
        if container.zip is not None:
            zf = container.zip
            names = set(zf.namelist())
            for part, tag in (("docProps/core.xml", "modified"), ("meta.xml", "date")):
                if part in names and zf.getinfo(part).file_size < 1 << 20:
                    root = ElementTree.fromstring(container.read(part))
                    for el in root.iter():
                        if el.tag.endswith("}" + tag) and el.text:
                            text = el.text
                            if part == "docProps/core.xml" and _saved_by_libreoffice(container, names):
                                text = text.strip().removesuffix("Z")  # local time, falsely marked UTC
                            return _parse_timestamp(text)
        elif container.summary:
            return _ole_last_saved(container.summary)
    except Exception:  # a missing or odd timestamp falls back to the file's mtime
        return None
    return None


_LIBREOFFICE_APP = re.compile(rb"<(?:\w+:)?Application>\s*LibreOffice")


def _saved_by_libreoffice(container: Container, names: set[str]) -> bool:
    """Whether docProps/app.xml names LibreOffice as the program that saved the xlsx.

    LibreOffice (7.4 and others, ONLYOFFICE/DocumentServer#2405) writes `dcterms:modified` as
    the local wall-clock time of the machine with a `Z` suffix: saved at 20:00 in Vietnam, the
    file says 20:00Z, seven hours late. Its .ods (naive local time) and .xls (true UTC) are right.
    """
    part = "docProps/app.xml"
    assert container.zip is not None
    if part not in names or container.zip.getinfo(part).file_size >= 1 << 20:
        return False
    return _LIBREOFFICE_APP.search(container.read(part)) is not None


def _ole_last_saved(stream: bytes) -> datetime | None:
    """PIDSI_LASTSAVE_DTM from an OLE summary-information property set, read by hand: olefile's
    get_metadata trusts vector counts in the file and can loop for a long time on a damaged one."""
    if len(stream) < 48:
        return None
    section = int.from_bytes(stream[44:48], "little")
    if section + 8 > len(stream):
        return None
    count = int.from_bytes(stream[section + 4 : section + 8], "little")
    for i in range(min(count, 256)):
        entry = section + 8 + 8 * i
        if entry + 8 > len(stream):
            return None
        prop = int.from_bytes(stream[entry : entry + 4], "little")
        offset = section + int.from_bytes(stream[entry + 4 : entry + 8], "little")
        if prop == 13 and offset + 12 <= len(stream):  # VT_FILETIME: 100 ns since 1601-01-01 UTC
            if int.from_bytes(stream[offset : offset + 4], "little") != 64:
                return None
            ticks = int.from_bytes(stream[offset + 4 : offset + 12], "little")
            return datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10)
    return None


def _parse_timestamp(text: str) -> datetime:
    # LibreOffice writes nanoseconds and, in ods, local time without a zone: take it as Vietnam time.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.strip()).replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)
