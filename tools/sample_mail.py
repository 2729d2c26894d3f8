"""The sample inbox as a mailbox: the files of samples/inbox as the units mailed them.

Pure data and a byte-exact MIME writer, no LibreOffice. `tools/make_samples.py` writes
`samples/hop-thu.mbox` (a Gmail Takeout mbox of the office's account) from the built inbox;
`tests/test_samples.py` checks that it is current; the mail tests write their messages with the
same writer, the way Gmail, Outlook, Thunderbird, Apple Mail and a webmail send attachments:

- gmail: `filename="=?UTF-8?B?…?="` (an encoded word inside quotes, as Gmail and Outlook do);
- outlook: the same, split into several encoded words on folded lines, and an inline logo;
- thunderbird: RFC 2231 (`filename*=UTF-8''B%C3%A1o…`, continued as `filename*0*=`, `*1*`);
- apple: RFC 2231 with `Content-Disposition: inline`;
- raw: the UTF-8 bytes of the name as they are (some webmails).

Times: a message arrives a few minutes after its workbook was saved (the plan's saved time), so
"late" and "newest" come out as for the folder.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from tools import sample_plan as plan
from tools.sample_plan import vn

OFFICE = "tonghop.mttq.langson@gmail.com"
OFFICE_NAME = "Ban Thường trực UBMTTQ tỉnh Lạng Sơn"
MBOX = "hop-thu.mbox"
PACIFIC = timezone(timedelta(hours=-7), "PDT")  # the zone Gmail's servers stamp in June
TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xls": "application/vnd.ms-excel",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".zip": "application/zip",
    ".pdf": "application/pdf",
    ".png": "image/png",
}
# a 1×1 PNG: the logo in an Outlook signature
LOGO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


# ---------------------------------------------------------------------- the writer
@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes
    style: str = "gmail"  # gmail | outlook | thunderbird | apple | raw

    @property
    def ctype(self) -> str:
        return TYPES.get(PurePosixPath(self.name.lower()).suffix, "application/octet-stream")


def _b64(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76)) + "\n"


def encoded_words(text: str, chunk: int = 45) -> list[str]:
    """RFC 2047 encoded words, each of at most `chunk` bytes of UTF-8, split between characters."""
    words, current = [], b""
    for char in text:
        raw = char.encode()
        if len(current) + len(raw) > chunk:
            words.append(current)
            current = b""
        current += raw
    words.append(current)
    return [f"=?UTF-8?B?{base64.b64encode(w).decode()}?=" for w in words if w]


def _header_text(text: str) -> str:
    return text if text.isascii() else " ".join(encoded_words(text))


def _rfc2231(name: str, param: str) -> str:
    value = quote(name, safe="")
    if len(value) <= 60:
        return f"{param}*=UTF-8''{value}"
    pieces = [""]
    for char in name:  # continuations of at most 60 characters, never cutting a character's %XX
        token = quote(char, safe="")
        if len(pieces[-1]) + len(token) > 60:
            pieces.append("")
        pieces[-1] += token
    first = f"{param}*0*=UTF-8''{pieces[0]}"
    return ";\n ".join([first] + [f"{param}*{n}*={p}" for n, p in enumerate(pieces[1:], 1)])


def attachment_part(att: Attachment, number: int = 0) -> str:
    """One attachment as the client `att.style` writes it."""
    name = att.name
    if att.style == "gmail":
        quoted = _header_text(name)
        head = (
            f'Content-Type: {att.ctype}; name="{quoted}"\n'
            f'Content-Disposition: attachment; filename="{quoted}"\n'
            "Content-Transfer-Encoding: base64\n"
            f"Content-ID: <f_lx{number:04d}>\nX-Attachment-Id: f_lx{number:04d}\n"
        )
    elif att.style == "outlook":
        words = "\n\t".join(encoded_words(name, 30)) if not name.isascii() else name
        head = (
            f'Content-Type: {att.ctype};\n\tname="{words}"\n'
            f"Content-Transfer-Encoding: base64\n"
            f'Content-Disposition: attachment;\n\tfilename="{words}"\n'
        )
    elif att.style in ("thunderbird", "apple"):
        disposition = "attachment" if att.style == "thunderbird" else "inline"
        head = (
            f"Content-Type: {att.ctype};\n {_rfc2231(name, 'name')}\n"
            f"Content-Disposition: {disposition};\n {_rfc2231(name, 'filename')}\n"
            "Content-Transfer-Encoding: base64\n"
        )
    elif att.style == "raw":
        head = (
            f'Content-Type: {att.ctype}; name="{name}"\n'
            f'Content-Disposition: attachment; filename="{name}"\n'
            "Content-Transfer-Encoding: base64\n"
        )
    else:
        raise ValueError(att.style)
    return head + "\n" + _b64(att.data)


def _boundary(seed: str, n: int) -> str:
    return f"0000000000{hashlib.sha256(f'{seed}/{n}'.encode()).hexdigest()[:18]}"


def message(
    *,
    sender: tuple[str, str],
    subject: str,
    sent: datetime,
    message_id: str,
    text: str,
    attachments: tuple[Attachment, ...] = (),
    client: str = "gmail",
    received: datetime | None = None,
    to: str = OFFICE,
    logo: bool = False,
    forwarded: bytes | None = None,
    extra: tuple[str, ...] = (),
) -> bytes:
    """A whole message as `client` sends it and Gmail delivers it (with Gmail's Received: lines
    when `received` is given); `forwarded`: a message attached as message/rfc822."""
    name, address = sender
    lines = list(extra)
    if received is not None:
        lines += [
            f"Delivered-To: {to}",
            "Received: by 2002:a05:7010:4e8a:b0:3f1:2c4:9d10 with SMTP id "
            f"{hashlib.sha256(message_id.encode()).hexdigest()[:12]};",
            f"        {format_datetime(received.astimezone(PACIFIC))} (PDT)",
            f"Return-Path: <{address}>",
            "Received: from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])",
            f"        by mx.google.com with SMTPS id {hashlib.sha256(address.encode()).hexdigest()[:16]}",
            f"        for <{to}>",
            "        (Google Transport Security);",
            f"        {format_datetime((received - timedelta(seconds=1)).astimezone(PACIFIC))} (PDT)",
        ]
    lines += ["MIME-Version: 1.0"]
    if client == "outlook":
        lines += ["X-Mailer: Microsoft Outlook 16.0", "Content-Language: vi"]
    elif client == "thunderbird":
        lines += ["User-Agent: Mozilla Thunderbird"]
    elif client == "apple":
        lines += ["X-Mailer: iPhone Mail (21F90)"]
    lines += [
        f"From: {_header_text(name)} <{address}>" if name else f"From: {address}",
        f"Date: {format_datetime(sent)}",
        f"Message-ID: <{message_id}>",
        f"Subject: {_header_text(subject)}",
        f"To: {to}",
    ]
    mixed, alternative = _boundary(message_id, 1), _boundary(message_id, 2)
    body = (
        f'Content-Type: multipart/alternative; boundary="{alternative}"\n\n'
        f'--{alternative}\nContent-Type: text/plain; charset="UTF-8"\nContent-Transfer-Encoding: base64\n\n'
        + _b64(text.encode())
        + f'--{alternative}\nContent-Type: text/html; charset="UTF-8"\nContent-Transfer-Encoding: base64\n\n'
        + _b64(f'<div dir="ltr">{text.replace(chr(10), "<br>")}</div>'.encode())
        + f"--{alternative}--\n"
    )
    parts = [body]
    if logo:
        parts.append(
            'Content-Type: image/png; name="image001.png"\nContent-Transfer-Encoding: base64\n'
            'Content-Disposition: inline; filename="image001.png"\n'
            "Content-ID: <image001.png@01DAB6F0.1A2B3C40>\n\n" + _b64(LOGO)
        )
    if forwarded is not None:
        parts.append(
            'Content-Type: message/rfc822\nContent-Disposition: attachment; filename="forwarded.eml"\n\n'
            + forwarded.decode("utf-8")
        )
    parts += [attachment_part(att, n) for n, att in enumerate(attachments)]
    if len(parts) == 1 and not attachments:
        lines.append(body.split("\n\n", 1)[0])
        return ("\n".join(lines) + "\n\n" + body.split("\n\n", 1)[1]).encode("utf-8")
    lines.append(f'Content-Type: multipart/mixed; boundary="{mixed}"')
    joined = "".join(f"--{mixed}\n{part}" for part in parts) + f"--{mixed}--\n"
    return ("\n".join(lines) + "\n\n" + joined).encode("utf-8")


def mbox(messages: list[tuple[datetime, bytes]]) -> bytes:
    """An mbox as Gmail Takeout writes one: a From_ line with the arrival in UTC, the message, a
    blank line; a body line starting "From " is written ">From " (mboxrd)."""
    out = io.BytesIO()
    for received, raw in messages:
        at = received.astimezone(UTC)
        thread = int(hashlib.sha256(raw).hexdigest()[:15], 16)
        out.write(f"From {thread}@xxx {at:%a %b %d %H:%M:%S} +0000 {at.year}\n".encode())
        for line in raw.splitlines(keepends=True):
            out.write(b">" + line if line.lstrip(b">").startswith(b"From ") else line)
        out.write(b"\n")
    return out.getvalue()


# ---------------------------------------------------------------------- the sample mailbox
@dataclass(frozen=True)
class Mail:
    """One message of the sample mailbox."""

    code: str  # the sending unit; "" for a sender not on the roster
    received: datetime
    subject: str
    text: str
    files: tuple[str, ...] = ()  # paths in samples/inbox, attached under their own names
    client: str = "gmail"
    style: str = "gmail"
    sender: tuple[str, str] = ("", "")  # when not the unit's first address
    zipped: str = ""  # the files sent in one zip of this name
    forwarded_from: tuple[str, str] | None = None  # sent to the unit first, forwarded as an attachment
    logo: bool = False


def _unit(code: str, index: int = 0) -> tuple[str, str]:
    unit = plan.unit_of(code)
    return f"MTTQ {unit.name}", unit.emails[index]


SIGNED = "\n\nTrân trọng.\nVăn phòng Ủy ban MTTQ "


def mails() -> tuple[Mail, ...]:
    """The messages, in the order they arrived."""
    return (
        Mail(
            "",
            vn(2024, 6, 3, 10, 12),
            "Danh sách tổ hòa giải",
            "Chào chị, em gửi danh sách tổ hòa giải để chị tham khảo.\nBình",
            ("Danh sach to hoa giai.xlsx",),
            sender=("Nguyễn Văn Bình", "nguyenbinh.hoagiai@gmail.com"),
        ),
        Mail(
            "178",
            vn(2024, 6, 4, 16, 52),
            "Báo cáo 6 tháng đầu năm 2024 - TP Lạng Sơn",
            "Kính gửi Ban Thường trực,\nThành phố Lạng Sơn xin gửi biểu số liệu 6 tháng đầu năm 2024."
            + SIGNED
            + "thành phố",
            ("Bieu so lieu 6 thang 2024 - TP Lang Son.xlsx",),
        ),
        Mail(
            "180",
            vn(2024, 6, 5, 10, 31),
            "BC 6 tháng 2024 - Tràng Định",
            "Kính gửi Ban Thường trực,\nHuyện Tràng Định gửi báo cáo số liệu 6 tháng."
            + SIGNED
            + "huyện Tràng Định",
            ("huyen-phia-bac/BC 6 thang - Trang Dinh.xls",),
            client="outlook",
            style="outlook",
            logo=True,
        ),
        Mail(
            "186",
            vn(2024, 6, 5, 11, 20),
            "Báo cáo 6 tháng - Hữu Lũng",
            "Kính gửi Ban Thường trực,\nHữu Lũng gửi biểu số liệu 6 tháng đầu năm."
            + SIGNED
            + "huyện Hữu Lũng",
            ("huyen-phia-nam/Huu Lung - bieu so lieu.xlsx",),
        ),
        Mail(
            "183",
            vn(2024, 6, 5, 14, 41),
            "Báo cáo 6 tháng đầu năm 2024 - Cao Lộc",
            "Kính gửi Ban Thường trực,\nCao Lộc gửi báo cáo." + SIGNED + "huyện Cao Lộc",
            ("Báo cáo Cao Lộc.xlsx",),
            client="thunderbird",
            style="thunderbird",
            sender=_unit("183", 1),
        ),
        Mail(
            "185",
            vn(2024, 6, 6, 8, 58),
            "Bắc Sơn gửi biểu số liệu 6T",
            "Kính gửi Ban Thường trực,\nBắc Sơn gửi biểu số liệu 6 tháng." + SIGNED + "huyện Bắc Sơn",
            ("Bắc Sơn - Biểu số liệu 6T.ods",),
            client="webmail",
            style="raw",
        ),
        Mail(
            "181",
            vn(2024, 6, 6, 15, 24),
            "Bình Gia - báo cáo 6 tháng",
            "Kính gửi Ban Thường trực,\nBình Gia gửi báo cáo (tệp nén)." + SIGNED + "huyện Bình Gia",
            ("huyen-phia-bac/Binh Gia_bieu so lieu.ods",),
            zipped="Bình Gia - báo cáo 6T.zip",
        ),
        Mail(
            "182",
            vn(2024, 6, 7, 9, 12),
            "Văn Lãng gửi báo cáo",
            "Kính gửi Ban Thường trực,\nVăn Lãng gửi báo cáo 6 tháng 2024." + SIGNED + "huyện Văn Lãng",
            (
                "huyen-phia-bac/Văn Lãng - báo cáo 6 tháng 2024.xls",
                "huyen-phia-bac/Van Lang - bao cao nam 2023.xlsx",
            ),
            client="outlook",
            style="outlook",
        ),
        Mail(
            "184",
            vn(2024, 6, 7, 17, 3),
            "Báo cáo 6T2024 Văn Quan",
            "Kính gửi Ban Thường trực,\nVăn Quan gửi báo cáo." + SIGNED + "huyện Văn Quan",
            ("BC Van Quan 6T2024.xls",),
        ),
        Mail(
            "186",
            vn(2024, 6, 8, 10, 2),
            "Gửi lại báo cáo 6 tháng - Hữu Lũng (đã sửa)",
            "Kính gửi Ban Thường trực,\nHữu Lũng xin gửi lại báo cáo đã sửa số liệu, đề nghị dùng bản này."
            + SIGNED
            + "huyện Hữu Lũng",
            ("huyen-phia-nam/gui-lai/Huu Lung - bieu so lieu (da sua).ods",),
        ),
        Mail(
            "187",
            vn(2024, 6, 9, 17, 45),
            "Fwd: Báo cáo 6 tháng Chi Lăng",
            "Văn phòng chuyển tiếp báo cáo của đồng chí Thắng." + SIGNED + "huyện Chi Lăng",
            ("huyen-phia-nam/CHI LANG 6T2024.xls",),
            forwarded_from=("Lộc Văn Thắng", "locvanthang.cl@gmail.com"),
        ),
        Mail(
            "188",
            vn(2024, 6, 10, 16, 33),
            "Báo cáo Lộc Bình",
            "Gửi từ iPhone của tôi",
            ("huyen-phia-nam/Bieu so lieu Loc Binh.xlsx",),
            client="apple",
            style="apple",
        ),
        Mail(
            "188",
            vn(2024, 6, 10, 16, 41),
            "Báo cáo Lộc Bình (gửi lại)",
            "Tệp trước bị lỗi, xin gửi lại.\nGửi từ iPhone của tôi",
            ("huyen-phia-nam/Báo cáo 6 tháng Lộc Bình.ods",),
            client="apple",
            style="apple",
        ),
        Mail(
            "189",
            vn(2024, 6, 11, 21, 7),
            "Báo cáo 6 tháng - Đình Lập",
            "Kính gửi Ban Thường trực,\nĐình Lập xin gửi báo cáo 6 tháng đầu năm."
            + SIGNED
            + "huyện Đình Lập",
        ),
        Mail(
            "189",
            vn(2024, 6, 12, 8, 31),
            "Re: Báo cáo 6 tháng - Đình Lập",
            "Xin lỗi, thư trước quên đính kèm tệp. Xin gửi lại." + SIGNED + "huyện Đình Lập",
            ("huyen-phia-nam/Dinh Lap bao cao 6T.xlsx",),
        ),
    )


def zipped(files: list[tuple[str, bytes, datetime]]) -> bytes:
    """A zip of (name, content, time), as a unit's computer makes one."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data, saved in files:
            zf.writestr(zipfile.ZipInfo(member, date_time=saved.timetuple()[:6]), data)
    return out.getvalue()


def mail_bytes(mail: Mail, inbox: Path) -> bytes:
    """One message of the sample mailbox, as it lies in the office's Gmail."""
    sender = mail.sender if mail.sender[1] else _unit(mail.code)
    digest = hashlib.sha256(f"{mail.received}{mail.subject}".encode()).hexdigest()
    message_id = f"CAB{digest[:28]}@mail.gmail.com"
    sent = mail.received.astimezone(plan.VIETNAM) - timedelta(seconds=17)
    names = [PurePosixPath(f).name for f in mail.files]
    if mail.zipped:
        saved = {s.path: s.saved_at for s in plan.sample_files()}
        members = [
            (name, (inbox / f).read_bytes(), saved[f] or mail.received)
            for name, f in zip(names, mail.files, strict=True)
        ]
        attachments: tuple[Attachment, ...] = (Attachment(mail.zipped, zipped(members), mail.style),)
    else:
        attachments = tuple(
            Attachment(name, (inbox / f).read_bytes(), mail.style)
            for name, f in zip(names, mail.files, strict=True)
        )
    forwarded = None
    if mail.forwarded_from:
        forwarded = message(
            sender=mail.forwarded_from,
            subject=mail.subject.removeprefix("Fwd: "),
            sent=sent - timedelta(hours=2),
            message_id=f"CAF{message_id[3:]}",
            text="Gửi văn phòng báo cáo 6 tháng của huyện.",
            attachments=attachments,
            to=sender[1],
        )
        attachments = ()
    return message(
        sender=sender,
        subject=mail.subject,
        sent=sent,
        message_id=message_id,
        text=mail.text,
        attachments=attachments,
        client=mail.client,
        received=mail.received,
        logo=mail.logo,
        forwarded=forwarded,
        extra=(
            f"X-GM-THRID: {int(message_id[3:18], 16)}",
            "X-Gmail-Labels: Hộp thư đến,Đã mở",
        ),
    )


def mailbox_messages(inbox: Path) -> list[tuple[datetime, bytes]]:
    """(arrival, message) of every message of the sample mailbox, in the order they arrived."""
    return [(mail.received, mail_bytes(mail, inbox)) for mail in mails()]


def build_mbox(inbox: Path) -> bytes:
    """samples/hop-thu.mbox, from the built inbox."""
    return mbox(mailbox_messages(inbox))


def mailed_paths() -> set[str]:
    """The inbox files the mailbox holds (not the office's own note, nor Excel's lock file)."""
    return {f for mail in mails() for f in mail.files}
