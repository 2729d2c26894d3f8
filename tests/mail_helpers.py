"""Mail for the mail tests, written the way mail programs write it (tools/sample_mail.py's writer),
around the unit workbooks of samples/inbox, which real LibreOffice filled and saved."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta
from pathlib import Path

from tools import sample_mail
from tools.sample_mail import Attachment
from tools.sample_plan import VIETNAM

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
INBOX = SAMPLES / "inbox"
ROSTER = SAMPLES / "don-vi.csv"
MBOX = SAMPLES / sample_mail.MBOX
LANG_SON = INBOX / "Bieu so lieu 6 thang 2024 - TP Lang Son.xlsx"  # unit 178, saved 4/6 16:45
CAO_LOC = INBOX / "Báo cáo Cao Lộc.xlsx"  # 183, saved 5/6 14:30
BAC_SON = INBOX / "Bắc Sơn - Biểu số liệu 6T.ods"  # 185, a warning (a number typed as text)
VAN_QUAN = INBOX / "BC Van Quan 6T2024.xls"  # 184, an error: its ratio typed wrong (Số liệu!E82)
HUU_LUNG_OLD = INBOX / "huyen-phia-nam" / "Huu Lung - bieu so lieu.xlsx"  # 186, saved 5/6
HUU_LUNG_NEW = INBOX / "huyen-phia-nam" / "gui-lai" / "Huu Lung - bieu so lieu (da sua).ods"  # 186, 8/6
LOC_BINH = INBOX / "huyen-phia-nam" / "Báo cáo 6 tháng Lộc Bình.ods"  # 188
BROKEN = INBOX / "huyen-phia-nam" / "Bieu so lieu Loc Binh.xlsx"  # half a workbook: corrupt_file
NOTE = INBOX / "ghi-chu.txt"
ADDRESS = {  # the roster's addresses (samples/don-vi.csv)
    "178": "mttq.tplangson@gmail.com",
    "183": "mttq.caoloc@gmail.com",
    "184": "mttqvanquan@gmail.com",
    "185": "mttq.bacson.ls@gmail.com",
    "186": "mttqhuulung@gmail.com",
    "188": "mttqlocbinh@gmail.com",
}


def demo_args(inbox: str | Path, summary: Path, report: Path) -> list[object]:
    """`make demo`'s consolidate command on `inbox`: the sample roster, period and deadline."""
    period = ["--period", "2024-6T", "--deadline", "2024-06-10"]
    return ["consolidate", inbox, "-o", summary, "--roster", ROSTER, *period, "--report", report]


def vn(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=VIETNAM)  # type: ignore[misc]


def mail(
    sender: tuple[str, str],
    received: datetime | None,
    files: list[tuple[str, Path | bytes]] = (),  # type: ignore[assignment]
    *,
    subject: str = "Báo cáo 6 tháng đầu năm 2024",
    text: str = "Kính gửi Ban Thường trực,\nXin gửi báo cáo.\nTrân trọng.",
    style: str = "gmail",
    client: str = "gmail",
    message_id: str = "",
    sent: datetime | None = None,
    logo: bool = False,
    forwarded: bytes | None = None,
) -> bytes:
    """A message with these attachments (name, file or bytes), as `client` sends them; with
    Gmail's Received: lines when `received` is given."""
    moment = sent or (received - timedelta(seconds=20) if received else vn(2024, 6, 1, 8, 0))
    attachments = tuple(
        Attachment(name, data.read_bytes() if isinstance(data, Path) else data, style) for name, data in files
    )
    return sample_mail.message(
        sender=sender,
        subject=subject,
        sent=moment,
        message_id=message_id
        or f"{_digest(sender, subject, received, [n for n, _ in files])}@mail.gmail.com",
        text=text,
        attachments=attachments,
        client=client,
        received=received,
        logo=logo,
        forwarded=forwarded,
    )


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def unit(code: str, name: str = "") -> tuple[str, str]:
    return (name or f"MTTQ đơn vị {code}", ADDRESS[code])


def write_mbox(path: Path, messages: list[tuple[datetime, bytes]]) -> Path:
    path.write_bytes(sample_mail.mbox(messages))
    return path


def write_maildir(folder: Path, messages: list[tuple[datetime, bytes]]) -> Path:
    """A Maildir as a mail server delivers it: each message a file in new/ (or cur/, once seen),
    its modification time the delivery time."""
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for number, (received, raw) in enumerate(messages):
        stamp = int(received.timestamp())
        sub, suffix = ("cur", ":2,S") if number % 2 else ("new", "")
        path = folder / sub / f"{stamp}.M{number}P4242.mail.example{suffix}"
        path.write_bytes(raw)
        os.utime(path, (stamp, stamp))
    return folder
