"""What the envelope of a mailed file says about it: an arrival time taken from the sender's Date:
header only (a warning the message parser left on the entry), and a workbook of one unit sent
from the address the roster gives another unit. A sender who is not on the roster is no finding:
the sender is shown with every file (`Source.sender`, the summary's `Nguồn`)."""

from __future__ import annotations

from collections.abc import Callable

from .codes import SENDER_MISMATCH, WARNING
from .intake import Entry
from .model import FileRecord, Issue, Submission
from .roster import Unit


def envelope_issues(
    entry: Entry, record: FileRecord, sub: Submission | None, emailed: Callable[[str], list[Unit]] | None
) -> list[Issue]:
    """The warnings of one file's envelope; `emailed(address)` gives the roster's units of an
    address (None: the roster gives no address, and the sender's is not parsed)."""
    issues = [Issue(WARNING, record.path, code, message, record.unit_code) for code, message in entry.notes]
    if sub is None or record.source.kind != "mail" or emailed is None:
        return issues
    address = record.source.address
    owners = emailed(address) if address else []
    if owners and sub.unit_code not in {u.code for u in owners}:
        names = ", ".join(u.name for u in owners)
        issues.append(
            Issue(
                WARNING,
                record.path,
                SENDER_MISMATCH,
                f"Tệp là báo cáo của {sub.unit_name or sub.unit_code} nhưng được gửi từ địa chỉ {address} "
                f"của {names}. Hãy kiểm tra tên đơn vị trong tệp (trang Thông tin) và hỏi lại đơn vị gửi.",
                sub.unit_code,
            )
        )
    return issues
