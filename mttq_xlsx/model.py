"""The records that flow from the reader through the checks to the summary and the JSON report."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parseaddr
from typing import Any, TypeGuard

from .codes import ACCEPTED

# A sender as the message parser shows one, "Name <local@domain>" (the name plain or quoted) or a
# bare address: its address read by `Source.address` without parseaddr; any other form goes to it.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
_SHOWN_SENDER = re.compile(
    rf'(?:"(?:[^"\\\r\n]|\\.)*"|[^()<>@,;:\\".\[\]\r\n]*?)\s*<(?P<address>{_DOT_ATOM}@{_DOT_ATOM})>'
    rf"|(?P<bare>{_DOT_ATOM}@{_DOT_ATOM})"
)

# A field's value as read: a number, a text, a date; a table column is a list of those per row.
Value = float | int | str | date | None


def plain(value: Any) -> Any:
    """A value as JSON holds it: a date or time as ISO text, a record as a dict of its fields in
    order, a list item by item."""
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def is_number(value: object) -> TypeGuard[int | float]:
    """Whether a value is a figure: an int or a finite float, not a bool (True is an int to Python)."""
    kind = type(value)  # the exact types first: this runs for every value of every unit
    if kind is int:
        return True
    if kind is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


ISSUE_KEYS = ("severity", "path", "unit_code", "form_id", "field_id", "sheet", "cell", "code", "message")


@dataclass
class Issue:
    """One finding, with where it is: file, sheet, cell and field."""

    severity: str  # "error" | "warning"
    path: str
    code: str  # stable English id: ratio_mismatch, negative, ...
    message: str  # Vietnamese, shown to users
    unit_code: str = ""
    form_id: str = ""
    field_id: str = ""
    sheet: str = ""
    cell: str = ""

    def as_dict(self) -> dict[str, str]:
        """The issue as the JSON report has it, its keys in `ISSUE_KEYS` order."""
        return {key: getattr(self, key) for key in ISSUE_KEYS}


@dataclass(frozen=True)
class Source:
    """Where a file came from: a file in the inbox folder, a member of a zip in it, or a mail (the
    attachment of a message, or the message itself when it holds no workbook)."""

    kind: str = "file"  # "file" | "zip" | "mail"
    message_id: str = ""
    sender: str = ""
    subject: str = ""
    received_at: datetime | None = None  # when the mail arrived
    attachment: str = ""  # the member's name in the zip, or the attachment's file name in a mail

    @property
    def address(self) -> str:
        """The sender's address, lower case ("" when there is none)."""
        match = _SHOWN_SENDER.fullmatch(self.sender)
        return (match["address"] or match["bare"] if match else parseaddr(self.sender)[1]).lower()

    def as_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass
class FileRecord:
    """Every file found in the inbox, whatever happened to it."""

    # relative to the inbox, with forward slashes, readable: bytes of a name that are not UTF-8
    # shown as \xe1, a zip's member as "bao-cao.zip › Bình Gia/bc.xlsx"
    path: str
    sha256: str
    status: str = ACCEPTED
    reason: str = ""  # a code when rejected, superseded or ignored
    message: str = ""  # the Vietnamese reason
    detail: str = ""  # the raw text a library gave, for whoever investigates (JSON report only)
    report_id: str = ""
    unit_code: str = ""
    unit_name: str = ""
    period: str = ""
    saved_at: datetime | None = None  # the workbook's own last-saved time, else the file's mtime
    late: bool = False
    source: Source = Source()

    def as_dict(self) -> dict[str, Any]:
        """The file as the JSON report has it."""
        return plain(self)


@dataclass(frozen=True)
class SubUnit:
    """A unit a roll-up was made of, as the roll-up carries it: its code, name and values."""

    code: str
    name: str
    values: dict[str, Value | list[Value]] = field(default_factory=dict)


@dataclass
class Submission:
    """What one file holds once read: its unit, its report and each field's value and cell."""

    file: FileRecord
    report_id: str
    spec_version: str
    period: str
    unit_code: str
    unit_name: str
    values: dict[str, Value | list[Value]] = field(default_factory=dict)
    # field id -> (sheet, cell); may be shared by the submissions of one template: never mutate
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)  # the file's `_mttq` keys
    sub_units: list[SubUnit] = field(default_factory=list)  # a roll-up's units, from its `_donvi`
