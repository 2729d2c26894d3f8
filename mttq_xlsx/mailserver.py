"""Mail server addresses and their password: `imaps://USER@HOST[:PORT]/FOLDER`, `smtps://USER@HOST`.

TLS is the rule: `imaps` and `smtps` speak TLS from the first byte, `smtp` must switch to it
(STARTTLS); plain `imap://` and plain SMTP only with `insecure` (a test server on this computer).
The password never comes from the command line, where it would land in the shell's history: it
comes from MTTQ_MAIL_PASSWORD, a file, or a prompt, and is never shown, logged or written.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from .errors import MailError, UsageError
from .output import reason

PASSWORD_VARIABLE = "MTTQ_MAIL_PASSWORD"
PORTS = {"imaps": 993, "imap": 143, "smtps": 465, "smtp": 587}
TLS_SCHEMES = ("imaps", "smtps")  # TLS from the first byte
# "tonghop.mttq@gmail.com" as the whole address: the provider's server for it
PROVIDERS = {
    "gmail.com": {"imap": "imap.gmail.com", "smtp": "smtp.gmail.com"},
    "googlemail.com": {"imap": "imap.gmail.com", "smtp": "smtp.gmail.com"},
}
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/]*)(?:/(?P<path>.*))?$")


@dataclass(frozen=True)
class Server:
    """A mail server and the account on it (never its password)."""

    scheme: str  # imaps | imap | smtps | smtp
    user: str  # "" for none (a test SMTP server that takes mail from anyone)
    host: str
    port: int
    path: str = ""  # an IMAP folder, as written in the address

    @property
    def tls(self) -> bool:
        """TLS from the first byte (else STARTTLS for SMTP, or nothing with --insecure)."""
        return self.scheme in TLS_SCHEMES

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}" + (f"/{self.path}" if self.path else "")


def is_address(text: str) -> bool:
    """Whether `text` is a server address (`imaps://…`) rather than a file or folder."""
    return bool(_URL.match(text)) and "://" in text[:12]


def parse_server(text: str, schemes: tuple[str, ...], insecure: bool = False) -> Server:
    """A server address; UsageError (in Vietnamese, never repeating the address, which may hold a
    password) when it is not one of `schemes`, holds a password, or is plain without `insecure`."""
    match = _URL.match(text.strip())
    scheme = match["scheme"].lower() if match else ""
    forms = " hoặc ".join(f"{s}://TÊN@MÁY-CHỦ" for s in schemes)
    if not match or scheme not in schemes:
        raise UsageError(f"Địa chỉ máy chủ thư không hợp lệ: phải có dạng {forms}.")
    user, _, hostport = match["authority"].rpartition("@")
    if ":" in user:
        raise UsageError(
            "Không ghi mật khẩu trong địa chỉ máy chủ thư (nó sẽ lưu lại trong lịch sử lệnh). Hãy đặt "
            f"mật khẩu vào biến môi trường {PASSWORD_VARIABLE}, vào tệp (--password-file) hoặc gõ khi "
            "được hỏi."
        )
    host, colon, port_text = hostport.rpartition(":")
    if not colon or not port_text.isdigit():
        host, port_text = hostport, ""
    host, user = host.strip().lower(), unquote(user).strip()
    if not host:
        raise UsageError(f"Địa chỉ máy chủ thư thiếu tên máy chủ: phải có dạng {forms}.")
    kind = scheme.rstrip("s")
    if user and "@" not in user and host in PROVIDERS:  # imaps://tonghop.mttq@gmail.com
        user, host = f"{user}@{host}", PROVIDERS[host][kind]
    if scheme == "imap" and not insecure:
        raise UsageError(
            "imap:// gửi mật khẩu và thư không mã hóa. Hãy dùng imaps:// (cổng 993); chỉ dùng imap:// "
            "với --insecure, cho máy chủ thử nghiệm trên chính máy này."
        )
    port = int(port_text) if port_text else PORTS[scheme]
    return Server(scheme, user, host, port, unquote(match["path"] or "").strip("/"))


def password(file: Path | None = None, prompt: Callable[[str], str] | None = None, account: str = "") -> str:
    """The account's password: from MTTQ_MAIL_PASSWORD, else the first line of `file`, else
    `prompt` (the command line asks without echoing); MailError when there is none."""
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise MailError(f"Không đọc được tệp mật khẩu “{file}”: {reason(exc)}.") from None
        except UnicodeDecodeError:
            raise MailError(f"Tệp mật khẩu “{file}” không phải văn bản UTF-8.") from None
        lines = text.splitlines()
        if lines and lines[0].strip():
            return lines[0].strip()
        raise MailError(f"Tệp mật khẩu “{file}” trống. Hãy ghi mật khẩu vào dòng đầu của tệp.")
    if os.environ.get(PASSWORD_VARIABLE):
        return os.environ[PASSWORD_VARIABLE]
    if prompt is not None:
        return prompt(f"Mật khẩu của {account}" if account else "Mật khẩu hộp thư")
    raise MailError(
        f"Cần mật khẩu của {account or 'hộp thư'}: hãy đặt biến môi trường {PASSWORD_VARIABLE}, "
        "hoặc ghi vào một tệp và dùng --password-file."
    )


def network_reason(exc: BaseException) -> str:
    """Why a connection to a mail server failed, in Vietnamese (the system's words are English)."""
    if isinstance(exc, socket.gaierror):
        return "không tìm thấy máy chủ với tên này"
    if isinstance(exc, ConnectionRefusedError):
        return "máy chủ từ chối kết nối ở cổng này"
    if isinstance(exc, TimeoutError):
        return "máy chủ không trả lời"
    if isinstance(exc, OSError):
        return f"lỗi mạng: {reason(exc)}"
    return "máy chủ trả lời lỗi"
