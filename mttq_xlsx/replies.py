"""Acknowledgements: one Vietnamese reply to each message a consolidation received.

The input is the JSON report of a `consolidate` run (`--report`): it holds every file with its
envelope (`source`), status, reason and message, and every issue with its sheet and cell, so the
mailbox is not read again and the replies say exactly what the summary says. Each reply goes to
the message's sender, as an answer to it (In-Reply-To, References, "Re: subject"), and says what
was received or rejected and why, every problem to fix, the deadline, and that a corrected file
sent later replaces this one. Replies are written as .eml files to review; with an SMTP server they
are sent too, and `da-gui.json` beside them records each message answered, so no message is
answered twice: the state lives with the output, never in the mailbox.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import smtplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from .codes import ACCEPTED, ERROR, IGNORED, NO_ATTACHMENT, REJECTED, SUPERSEDED
from .errors import MailError, UsageError
from .mailcopy import saved_name
from .mailserver import Server, network_reason
from .model import Source
from .output import atomic_path, ensure_folder
from .periods import VIETNAM, parse_period

STATE = "da-gui.json"
STATE_SCHEMA = "mttq-xlsx/replies/1"
TIMEOUT = 60.0


@dataclass(frozen=True)
class Reply:
    """One acknowledgement, ready to write or send."""

    key: str  # the message it answers: its Message-ID, else its sender, time and subject
    to: str  # the sender's address
    file: str  # its .eml name in the output folder
    message: EmailMessage


@dataclass
class Replied:
    """What one run did."""

    written: list[Path] = field(default_factory=list)  # .eml files written
    sent: list[str] = field(default_factory=list)  # addresses sent to
    already: int = 0  # messages answered by an earlier run (not again)
    no_address: list[str] = field(default_factory=list)  # messages whose sender has no address
    failed: list[str] = field(default_factory=list)  # "address: why" for sends the server refused


def replies(
    report: dict[str, Any], sender: str, deadline: date | None = None
) -> tuple[list[Reply], list[str]]:
    """(One reply per mail message of the report, in the report's order; the messages whose sender
    has no address). `sender`: the office's address, with a display name if wanted."""
    deadline = deadline or parse_period(str(report["period"])).deadline
    issues: dict[str, list[dict[str, Any]]] = {}
    for issue in report.get("issues", []):
        issues.setdefault(issue["path"], []).append(issue)
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in report.get("files", []):
        source = record.get("source") or {}
        if source.get("kind") == "mail":
            groups.setdefault(message_key(source), []).append(record)
    own = parseaddr(sender)[1].lower()
    out: list[Reply] = []
    no_address: list[str] = []
    for key, records in groups.items():
        source = records[0]["source"]
        name, address = parseaddr(source.get("sender", ""))
        if not address or "@" not in address:
            no_address.append(records[0]["path"])
            continue
        if address.lower() == own:
            continue  # the office's own mail, say a reply it sent
        text = _text(name or address, source, records, issues, deadline)
        message = _message(sender, Address(display_name=name, addr_spec=address), source, text)
        envelope = Source(received_at=_moment(source.get("received_at")), sender=source.get("sender", ""))
        file = saved_name(envelope, "tra-loi.eml", hashlib.sha256(key.encode()).hexdigest())
        out.append(Reply(key, address, file, message))
    return out, no_address


def message_key(source: dict[str, Any]) -> str:
    """How a message is known in the reply state: its Message-ID, else sender, arrival and subject."""
    if source.get("message_id"):
        return str(source["message_id"])
    return f"{source.get('sender', '')}|{source.get('received_at', '')}|{source.get('subject', '')}"


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(VIETNAM):%H:%M ngày %d/%m/%Y}" if moment else "(không rõ thời điểm)"


def _text(
    who: str,
    source: dict[str, Any],
    records: list[dict[str, Any]],
    issues: dict[str, list[dict[str, Any]]],
    deadline: date,
) -> str:
    subject = f"“{source['subject']}”" if source.get("subject") else "không tiêu đề"
    lines = [
        f"Kính gửi {who},",
        "",
        f"Văn phòng đã nhận thư {subject} lúc {_when(_moment(source.get('received_at')))} (giờ Việt Nam).",
        "",
        _verdict(records),
    ]
    for number, record in enumerate(records, 1):
        lines += ["", *_file_lines(number, record, issues.get(record["path"], []))]
    end = f"hết ngày {deadline:%d/%m/%Y}"
    lines.append("")
    if any(r.get("late") for r in records):
        lines.append(f"Thư đến sau hạn nộp ({end}) nên báo cáo được ghi là nộp muộn.")
    lines += [
        f"Hạn nộp: {end}. Nếu đơn vị gửi lại tệp đã sửa, văn phòng sẽ dùng tệp gửi sau "
        "thay cho tệp trong thư này.",
        "",
        "Trân trọng.",
        "",
        "(Thư do chương trình mttq-xlsx soạn từ kết quả tổng hợp báo cáo.)",
    ]
    return "\n".join(lines) + "\n"


def _verdict(records: list[dict[str, Any]]) -> str:
    accepted = [r for r in records if r["status"] == ACCEPTED]
    if accepted:
        units = ", ".join(dict.fromkeys(r["unit_name"] or r["unit_code"] for r in accepted))
        return f"Kết quả: ĐÃ NHẬN báo cáo của {units}."
    if any(r["status"] == SUPERSEDED for r in records):
        return "Kết quả: đã nhận, nhưng đơn vị đã gửi bản mới hơn; văn phòng dùng bản mới hơn."
    return "Kết quả: CHƯA NHẬN ĐƯỢC báo cáo nào từ thư này. Xin xem lý do dưới đây và gửi lại."


def _file_lines(number: int, record: dict[str, Any], issues: list[dict[str, Any]]) -> list[str]:
    name = record["source"].get("attachment") or ""
    status = record["status"]
    if record["reason"] == NO_ATTACHMENT:
        return [
            f"{number}. Thư không kèm tệp báo cáo. Xin gửi lại thư có đính kèm tệp báo cáo "
            "(.xlsx, .xls hoặc .ods)."
        ]
    head = f"{number}. Tệp “{name}”"
    if status == ACCEPTED:
        period = parse_period(record["period"]).label if record.get("period") else ""
        unit = record["unit_name"] or record["unit_code"]
        lines = [f"{head}: ĐÃ NHẬN — báo cáo {period} của {unit}.".replace("  ", " ")]
    elif status == SUPERSEDED:
        lines = [f"{head}: đã nhận nhưng không dùng — {record['message']}"]
    elif status == REJECTED:
        lines = [f"{head}: KHÔNG NHẬN — {record['message']}"]
    else:
        lines = [f"{head}: không đọc — {record['message']}"]
    said = record["reason"] if status in (REJECTED, SUPERSEDED, IGNORED) else None  # in the line above
    shown = [i for i in issues if i["code"] != said]
    errors = sum(1 for i in shown if i["severity"] == ERROR)
    if shown:
        what = f"{errors} lỗi cần sửa" if errors else "không có lỗi"
        warned = len(shown) - errors
        lines.append(f"   {what}" + (f", {warned} điểm cần xem lại" if warned else "") + ":")
        for issue in shown:
            mark = "Lỗi" if issue["severity"] == ERROR else "Cần xem lại"
            lines.append(f"   - {mark}: {issue['message']}")
        if errors:
            lines.append("   Xin sửa các lỗi trên trong tệp rồi gửi lại.")
    elif status == ACCEPTED:
        lines.append("   Không có lỗi.")
    return lines


def _message(sender: str, to: Address, source: dict[str, Any], text: str) -> EmailMessage:
    message = EmailMessage()
    subject = str(source.get("subject") or "")
    message["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}".rstrip()
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(datetime.now(VIETNAM))
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    if source.get("message_id"):
        message["In-Reply-To"] = source["message_id"]
        message["References"] = source["message_id"]
    message["Auto-Submitted"] = "auto-replied"  # RFC 3834: no autoresponder answers it back
    message.set_content(text)
    return message


def _state(folder: Path) -> dict[str, Any]:
    path = folder / STATE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != STATE_SCHEMA or not isinstance(data.get("sent"), dict):
            raise ValueError(data.get("schema"))
    except (OSError, ValueError, AttributeError):
        raise UsageError(
            f"Không đọc được “{path}”, nơi ghi các thư đã gửi; để không gửi trùng, lệnh dừng ở đây. "
            "Hãy khôi phục tệp đó, hoặc chọn thư mục ghi khác nếu chắc chắn chưa gửi thư nào."
        ) from None
    return dict(data["sent"])


def _save_state(folder: Path, sent: dict[str, Any]) -> None:
    with atomic_path(folder / STATE) as tmp:
        text = json.dumps({"schema": STATE_SCHEMA, "sent": sent}, ensure_ascii=False, indent=2)
        tmp.write_text(text + "\n", encoding="utf-8")


def _write(folder: Path, reply: Reply) -> Path:
    target = folder / reply.file
    with atomic_path(target) as tmp:
        tmp.write_bytes(bytes(reply.message))
    return target


def answer(
    all_replies: list[Reply],
    folder: Path,
    server: Server | None = None,
    password: Callable[[], str] | None = None,
    insecure: bool = False,
) -> Replied:
    """Write each reply not sent yet as an .eml in `folder`; with `server`, send it too and record
    it in `folder`/da-gui.json at once, so a message is never answered twice."""
    ensure_folder(folder)
    sent = _state(folder)
    done = Replied()
    todo = [r for r in all_replies if r.key not in sent]
    done.already = len(all_replies) - len(todo)
    if server is None:
        done.written = [_write(folder, r) for r in todo]
        return done
    with _smtp(server, password, insecure) as smtp:
        for reply in todo:
            try:
                smtp.send_message(reply.message)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                done.failed.append(f"{reply.to}: {_refused(exc)}")
                continue
            sent[reply.key] = {"to": reply.to, "at": datetime.now(VIETNAM).isoformat(), "file": reply.file}
            _save_state(folder, sent)
            done.written.append(_write(folder, reply))
            done.sent.append(reply.to)
    return done


def _login(smtp: smtplib.SMTP, user: str, secret: str) -> None:
    """AUTH PLAIN where offered (once, in UTF-8: smtplib's own login sends ASCII only, and tries
    mechanism after mechanism), else smtplib's login."""
    if "plain" not in smtp.esmtp_features.get("auth", "").lower().split():
        smtp.login(user, secret)
        return
    token = base64.b64encode(f"\0{user}\0{secret}".encode()).decode()
    code, answer = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def _refused(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "máy chủ từ chối địa chỉ người nhận"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return "máy chủ từ chối địa chỉ người gửi (--from)"
    return "máy chủ từ chối nội dung thư"


@contextlib.contextmanager
def _smtp(server: Server, password: Callable[[], str] | None, insecure: bool) -> Iterator[smtplib.SMTP]:
    """A connection over TLS (smtps, or STARTTLS), plain only with `insecure`; logged in when the
    address names an account. Errors as MailError in Vietnamese; the password is never shown."""
    where = f"{server.host}:{server.port}"
    context = ssl.create_default_context()
    try:
        if server.tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=TIMEOUT)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif not insecure:
                smtp.quit()
                raise MailError(
                    f"Máy chủ thư {where} không hỗ trợ mã hóa (STARTTLS): mật khẩu và thư sẽ đi không mã "
                    "hóa. Hãy dùng smtps:// (cổng 465) hoặc máy chủ khác; chỉ dùng --insecure với máy chủ "
                    "thử nghiệm trên chính máy này."
                )
    except ssl.SSLCertVerificationError:
        raise MailError(
            f"Máy chủ thư {where} không có chứng chỉ TLS hợp lệ. Hãy kiểm tra tên máy chủ."
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"Không kết nối được máy chủ gửi thư {where} ({network_reason(exc)}).") from None
    try:
        if server.user:
            if password is None:
                raise MailError(f"Cần mật khẩu của {server.user} để gửi thư.")
            try:
                _login(smtp, server.user, password())
            except smtplib.SMTPAuthenticationError:
                raise MailError(
                    f"Máy chủ thư {server.host} từ chối đăng nhập của {server.user}: sai tên hoặc mật khẩu. "
                    "Với Gmail, hãy dùng mật khẩu ứng dụng (xem README: Hộp thư Gmail)."
                ) from None
        yield smtp
    except (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException) as exc:
        raise MailError(
            f"Mất kết nối với máy chủ gửi thư {where} ({network_reason(exc)}). Các thư đã gửi được ghi trong "
            f"{STATE}; chạy lại sẽ chỉ gửi các thư còn lại."
        ) from None
    finally:
        with contextlib.suppress(Exception):
            smtp.quit()
