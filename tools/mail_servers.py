"""Real mail servers for the tests and the bench, on free ports of this computer: pymap (IMAP, in
memory, started as its own process, logging every command it receives unless told not to) and
aiosmtpd (SMTP, writing a Maildir)."""

from __future__ import annotations

import contextlib
import mailbox
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

USER, PASSWORD = "tonghop.mttq", "Mk-ứng-dụng 7f3a9c"  # a password that must never show anywhere
PYMAP = Path(sys.executable).with_name("pymap")
DEMO = ("dict", "--demo-user", USER, "--demo-password", PASSWORD)  # pymap's in-memory backend


def free_port() -> int:
    """A port nobody listens on now (aiosmtpd cannot be given port 0: aiosmtpd#276)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[bytes] | None = None, seconds: float = 15) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server stopped: exit {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


@dataclass
class Imap:
    port: int
    log: Path  # every line the server received and sent

    @property
    def url(self) -> str:
        return f"imap://{USER}@127.0.0.1:{self.port}"

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False)
        client.plain_login(USER, PASSWORD)  # the password has Vietnamese letters: not LOGIN
        return client

    def append(self, folder: str, messages: list[tuple[datetime, bytes, tuple[bytes, ...]]]) -> None:
        """Deliver messages by IMAP APPEND, each with its INTERNALDATE and flags."""
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for received, raw, flags in messages:
                client.append(folder, raw, flags=flags, msg_time=received)

    def state(self, folder: str = "INBOX") -> dict[int, tuple[Any, ...]]:
        """Every message's UID -> (flags, INTERNALDATE, size), read without changing anything (EXAMINE)."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            found = client.fetch(client.search(["ALL"]), ["FLAGS", "INTERNALDATE", "RFC822.SIZE"])
            return {
                uid: (tuple(sorted(d[b"FLAGS"])), d[b"INTERNALDATE"], d[b"RFC822.SIZE"])
                for uid, d in found.items()
            }

    def commands(self) -> list[str]:
        """The commands clients sent, in order ("UID FETCH", "EXAMINE", …)."""
        found = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if "-->| " not in line:
                continue
            words = line.split("-->| ", 1)[1].split()
            if len(words) >= 2 and words[0].isalnum() and words[1].isupper():
                found.append(" ".join(words[1:3]) if words[1] == "UID" else words[1])
        return found


@contextlib.contextmanager
def imap_server(tmp_path: Path, debug: bool = True) -> Iterator[Imap]:
    """pymap on a free port; `debug`: it logs every line (what `Imap.commands` reads; slower)."""
    port = free_port()
    log = tmp_path / "pymap.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(PYMAP), *(["--debug"] if debug else []), "--host", "127.0.0.1", "--port", str(port), *DEMO],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(port, process)
            yield Imap(port, log)
        finally:
            process.terminate()
            process.wait(10)


@dataclass
class Smtp:
    port: int
    maildir: Path
    logins: list[tuple[str, str]]  # (user, password) the server was given

    def received(self) -> list[Any]:
        """The messages the server took, as email messages (with X-RcptTo: the envelope recipients)."""
        return [message for _, message in sorted(mailbox.Maildir(self.maildir, create=False).items())]


@contextlib.contextmanager
def smtp_server(tmp_path: Path, *, login: bool = False) -> Iterator[Smtp]:
    """aiosmtpd writing what it receives to a Maildir; `login`: it requires AUTH with USER and
    PASSWORD (over plain text, allowed for this test server only)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox
    from aiosmtpd.smtp import AuthResult, LoginPassword

    folder = tmp_path / "smtp-maildir"
    logins: list[tuple[str, str]] = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            logins.append((data.login.decode(), data.password.decode()))
            good = data.login.decode() == USER and data.password.decode() == PASSWORD
            return AuthResult(success=good, handled=False)  # not handled: the server answers 535
        return AuthResult(success=False, handled=False)

    port = free_port()
    kwargs: dict[str, Any] = {}
    if login:
        kwargs = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    controller = Controller(Mailbox(folder), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield Smtp(port, folder, logins)
    finally:
        controller.stop()
