"""Read a folder of an IMAP mailbox without changing anything in it.

The folder is opened read-only (EXAMINE), bodies are fetched with BODY.PEEK[] (which never sets
\\Seen), and nothing is stored, copied, moved, deleted or expunged. Each message is written to
the run's temporary folder with its INTERNALDATE (when the server received it) and its UID, and
parsed there like any other message (`messages.parse`). imapclient encodes folder names
(Vietnamese Gmail folders such as "[Gmail]/Tất cả thư") in IMAP's modified UTF-7.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from .errors import MailError
from .intake import Entry, MailRef
from .mailserver import Server, network_reason
from .messages import MAX_MESSAGE
from .model import Source
from .periods import VIETNAM

CHUNK = 50  # messages per FETCH: a few MB a round trip
TIMEOUT = 120.0  # seconds without an answer before the server is given up on


@contextmanager
def connected(server: Server, password: Callable[[], str]) -> Iterator[IMAPClient]:
    """A logged-in client; its errors (network, TLS, login, server) as MailError in Vietnamese."""
    where = f"{server.host}:{server.port}"
    try:
        client = IMAPClient(server.host, port=server.port, ssl=server.tls, timeout=TIMEOUT)
    except ssl.SSLCertVerificationError:
        raise MailError(
            f"Máy chủ thư {where} không có chứng chỉ TLS hợp lệ: có thể không phải máy chủ thật. "
            "Hãy kiểm tra lại tên máy chủ."
        ) from None
    except ssl.SSLError:
        raise MailError(
            f"Không mở được kết nối mã hóa (TLS) tới {where}. Hãy kiểm tra cổng (imaps dùng cổng 993)."
        ) from None
    except (OSError, IMAPClientError) as exc:
        raise MailError(f"Không kết nối được máy chủ thư {where} ({network_reason(exc)}).") from None
    client.normalise_times = False  # INTERNALDATE with its own zone, not this computer's
    try:
        try:
            secret = password()
            if secret.isascii():
                client.login(server.user, secret)
            else:  # LOGIN takes ASCII only; SASL PLAIN carries UTF-8
                client.plain_login(server.user, secret)
        except LoginError:
            raise MailError(
                f"Máy chủ thư {server.host} từ chối đăng nhập của {server.user}: sai tên hoặc mật khẩu. "
                "Với Gmail, hãy dùng mật khẩu ứng dụng (xem README: Hộp thư Gmail)."
            ) from None
        yield client
    except (TimeoutError, ConnectionError, ssl.SSLError, IMAPClientError) as exc:
        why = network_reason(exc)
        raise MailError(f"Mất kết nối hoặc máy chủ thư {where} báo lỗi ({why}). Hãy chạy lại.") from None
    finally:
        with contextlib.suppress(Exception):  # already gone: nothing was changed, nothing to undo
            client.logout()


def download(
    server: Server,
    password: Callable[[], str],
    folder: str,
    spool: Path,
    since: date | None = None,
    known: Collection[str] = (),
) -> tuple[int, list[Entry]]:
    """(UIDVALIDITY, every message of `folder` received since `since` whose "UIDVALIDITY:UID" is not
    in `known`, written to `spool`, as entries to parse, oldest UID first). A message larger than
    messages.MAX_MESSAGE has only its header fetched: it is listed as too large."""
    with connected(server, password) as client:
        try:
            state = client.select_folder(folder, readonly=True)  # EXAMINE
        except IMAPClientError:
            names = ", ".join(f"“{f[2]}”" for f in _folders(client))
            raise MailError(
                f"Hộp thư {server.user} không có thư mục “{folder}”. Các thư mục có: {names}. "
                "Hãy chọn bằng --folder (ví dụ --folder INBOX)."
            ) from None
        validity = int(state[b"UIDVALIDITY"])
        # SINCE compares dates in the server's zone: ask from the day before, keep by the exact time
        criteria: list[Any] = ["SINCE", since - timedelta(days=1)] if since else ["ALL"]
        uids = [uid for uid in client.search(criteria) if f"{validity}:{uid}" not in known]
        entries: list[Entry] = []
        sizes = _fetched(client, uids, ["INTERNALDATE", "RFC822.SIZE"])
        large = {uid for uid in uids if int(sizes[uid].get(b"RFC822.SIZE", 0)) > MAX_MESSAGE}
        small = [uid for uid in uids if uid not in large]
        for part, wanted in ((b"BODY[]", small), (b"BODY[HEADER]", sorted(large))):
            peek = part.decode().replace("BODY", "BODY.PEEK")
            for start in range(0, len(wanted), CHUNK):
                # the messages of one FETCH go to one file, mbox-like: creating a file costs more
                # than writing 50 kB to it (a header fetched alone ends at its blank line)
                chunk = _fetched(client, wanted[start : start + CHUNK], [peek])
                path = spool / f"imap-{validity}-{part == b'BODY[]'}-{start}.bin"
                with open(path, "wb") as out:
                    for uid, data in chunk.items():
                        raw, at = data[part], out.tell()
                        out.write(raw)
                        size = len(raw) if uid not in large else int(sizes[uid][b"RFC822.SIZE"])
                        entries.append(_entry(path, at, folder, validity, uid, size, sizes[uid]))
    entries.sort(key=lambda e: int(e.mail.key.split(":")[1]) if e.mail else 0)
    return validity, entries


def _folders(client: IMAPClient) -> list[Any]:
    try:
        return list(client.list_folders())
    except IMAPClientError:
        return []


def _fetched(client: IMAPClient, uids: list[int], parts: list[str]) -> dict[int, dict[bytes, Any]]:
    return dict(client.fetch(uids, parts)) if uids else {}


def _entry(
    path: Path, start: int, folder: str, validity: int, uid: int, size: int, info: dict[bytes, Any]
) -> Entry:
    """A fetched message, at `start` in `path`, as an entry to parse; `size` its whole size (more
    than was fetched when only its header was)."""
    received = info.get(b"INTERNALDATE")
    if isinstance(received, datetime):  # imapclient's own zone class cannot go to a worker process
        offset = received.utcoffset()
        received = received.replace(tzinfo=timezone(offset) if offset is not None else VIETNAM)
    ref = MailRef(
        spool=path.with_name(f"imap-{validity}-{uid}"),
        start=start,
        size=size,
        received=received if isinstance(received, datetime) else None,
        received_from="imap",
        key=f"{validity}:{uid}",
    )
    return Entry(folder, path, Source(kind="mail"), mail=ref)
