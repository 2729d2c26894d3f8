"""What an inbox holds: every file to list and read, with the name users see and where it came from.

A folder is walked, subfolders included; a `.zip` in it (Gmail's "download all" gives one) is
opened by `expand`, in a capped worker process, and its members take its place. A mail message
(a saved `.eml`, or one of a mailbox: see `mailboxes`) is an Entry with `mail` set, which
`messages.parse` replaces by its attachments. An Entry is small and picklable: it says where the
bytes are (a file, a member of a zip on disk, a message in a mailbox file), never carries them;
the worker that reads it opens the file or the zip itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO

from . import mime
from .codes import IGNORED_REASON
from .container import MAX_COMPRESSION_RATIO, MAX_UNCOMPRESSED, SPREADSHEET_SUFFIXES, said
from .errors import Rejected, UsageError
from .model import Source
from .numbers import format_number
from .output import reason
from .periods import VIETNAM
from .savedtime import modified_at

ZIP_SUFFIX = ".zip"
MAIL_SUFFIX = ".eml"  # a message saved from a mail program: its attachments are read
READ_SUFFIXES = (*SPREADSHEET_SUFFIXES, ZIP_SUFFIX, MAIL_SUFFIX)  # a file of another kind is listed, not read
MAX_ZIP_MEMBERS = 10_000  # a whole province (3,321 communes) fits; a zip of more is not a mailbox
BOMB_FLOOR = 1 << 20  # below this, a high compression ratio is a small text file, not a bomb
MEMBER = " › "  # between a zip and its member in the path users see: "bao-cao.zip › Bình Gia/bc.xlsx"
ZIP_FLAG_UTF8 = 0x800  # general-purpose bit 11: the member's name is UTF-8
ZIP_FLAG_ENCRYPTED = 0x1
END_RECORD = 22  # bytes of a zip's end of central directory record, before its comment
FILE = Source()

LOCK_FILE = "Tệp khóa tạm của Excel/LibreOffice, không phải báo cáo."
NOT_READ = f"Không phải tệp bảng tính, tệp nén hay thư điện tử ({', '.join(READ_SUFFIXES)})."
NESTED_ZIP = "Tệp nén nằm trong một tệp nén khác; không đọc. Hãy giải nén nó ra rồi chạy lại."
NESTED_MAIL = "Thư điện tử nằm trong tệp nén; không đọc. Hãy giải nén nó ra rồi chạy lại."
UNZIP_IT = "Hãy giải nén tệp nén ra một thư mục rồi tổng hợp thư mục đó."


def readable(name: str | Path) -> str:
    """A file name as users see it: bytes that are not UTF-8 (a Windows name unzipped on Linux)
    shown as \\xe1. Only for showing: the name as the system has it still opens the file."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class MailRef:
    """Where a mail message is and what its mailbox says about it; its attachments go to `spool`."""

    spool: Path  # the start of the names its attachments are written under, in the run's temporary folder
    start: int = 0  # the message's bytes in the file: an mbox holds many
    size: int = -1  # -1: the whole file; more than the file holds: only its header was fetched
    received: datetime | None = None  # its arrival, as the mailbox records it
    received_from: str = ""  # "imap" | "maildir" | "mbox"; "" for a saved .eml (its Received: header)
    key: str = ""  # the mailbox's own name for it (IMAP "UIDVALIDITY:UID", Maildir file, mbox offset)
    named: bool = False  # the path shown names the message already (a saved .eml)
    since: datetime | None = None  # a message received before this is left out (`--since`)


@dataclass(frozen=True)
class Entry:
    """One file of the inbox: a file in the folder, a member of a zip in it, a mail message or
    one of its attachments."""

    shown: str  # the path users see, relative to the inbox, readable
    path: Path  # the file on disk: the file itself, or the zip holding the member
    source: Source = FILE
    member: tuple[int, str] | None = None  # a zip member's index in the directory and its name there
    stamp: datetime | None = None  # a member's time in the zip (else the file's modification time)
    ignored: str = ""  # why it is listed but not read
    rejected: tuple[str, str, str] | None = None  # (code, message, detail) when known bad before reading
    reason: str = IGNORED_REASON  # the code of `ignored` (NO_ATTACHMENT: a message without a report)
    notes: tuple[tuple[str, str], ...] = ()  # (code, message) of warnings known before reading
    mail: MailRef | None = None  # a message, to be replaced by its attachments
    sha256: str | None = None  # known already ("" none): a message or attachment listed without a file
    part: tuple[int, int, str] | None = None  # an attachment: (start, stop, transfer encoding) in `path`

    @property
    def is_zip(self) -> bool:
        """A zip in the folder, to be opened and replaced by its members."""
        return (
            self.member is None
            and self.mail is None
            and self.part is None
            and not self.ignored
            and not self.rejected
            and self.path.suffix.lower() == ZIP_SUFFIX
        )

    def read(self) -> bytes:
        """The bytes: raises OSError, or Rejected for a member that cannot or must not be inflated."""
        if self.part is not None:
            start, stop, encoding = self.part
            with open(self.path, "rb") as f:
                f.seek(start)
                return mime.decoded(f.read(stop - start), encoding)
        if self.member is None:
            return self.path.read_bytes()
        return _read_member(self)

    def fallback_time(self) -> datetime:
        """When the workbook has no saved time of its own: the member's zip time, read as Vietnam
        time (zip times carry no zone; the office's computer is in Vietnam), else the file's mtime."""
        return self.stamp or modified_at(self.path)

    def digest(self) -> str:
        """The SHA-256 of the bytes; "" when they cannot be read, or must not be (an ignored link,
        folder or pipe is listed, never opened)."""
        if self.sha256 is not None:
            return self.sha256
        if self.ignored and self.member is None and (self.path.is_symlink() or not self.path.is_file()):
            return ""
        sha = hashlib.sha256()
        try:
            with self._open() as stream:
                while chunk := stream.read(1 << 20):
                    sha.update(chunk)
        except Exception:  # zipfile, zlib, lzma… each raise their own for damaged data
            return ""
        return sha.hexdigest()

    def _open(self) -> IO[bytes]:
        if self.part is not None:
            return io.BytesIO(self.read())
        if self.mail is not None and self.mail.size >= 0:  # one message of a mailbox file
            with open(self.path, "rb") as f:
                f.seek(self.mail.start)
                return io.BytesIO(f.read(self.mail.size))
        if self.member is None:
            return open(self.path, "rb")  # the caller closes it
        archive, info = _member_info(self)
        return archive.open(info)


def walk(inbox: Path) -> list[Entry]:
    """Every entry under `inbox` (subfolders too) but the folders walked, sorted by the path shown.
    Names are kept as the file system has them (two names that differ only in Unicode
    normalisation are two files). Linked folders are listed, not walked."""
    if not inbox.is_dir():
        raise UsageError(f"Không thấy thư mục “{readable(inbox)}”. Hãy kiểm tra lại đường dẫn.")
    root = inbox.resolve()
    found: list[Entry] = []
    folders = [(inbox, "")]
    while folders:
        folder, prefix = folders.pop()
        try:
            with os.scandir(folder) as listing:
                items = list(listing)
        except OSError:  # a folder that cannot be listed, as os.walk skips it
            continue
        for item in items:
            if item.is_dir(follow_symlinks=False):
                folders.append((Path(item.path), f"{prefix}{item.name}/"))
                continue
            path = Path(item.path)
            # the folder listing says what each file is: no system call for an ordinary file
            mode = stat.S_IFREG if item.is_file(follow_symlinks=False) else None
            found.append(Entry(readable(prefix + item.name), path, ignored=_not_read(path, root, mode)))
    found.sort(key=lambda entry: entry.shown)
    return found


def given(paths: list[Path]) -> list[Entry]:
    """Files named one by one (`check`), each shown by its name."""
    return [Entry(readable(p.name), p, ignored=_not_read(p, p.parent.resolve())) for p in paths]


def _not_read(path: Path, root: Path, mode: int | None = None) -> str:
    """Why a file of the folder is listed but not read; "" when it is read. `mode`: what the
    folder listing said the file is, if it did."""
    if path.name.startswith(("~$", ".~lock")):
        return LOCK_FILE
    try:
        mode = mode or path.lstat().st_mode
        if stat.S_ISLNK(mode):
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):  # a dangling link, or links that point at each other
                return "Liên kết hỏng hoặc lặp vòng; không đọc."
            if not target.is_relative_to(root):
                return "Liên kết trỏ ra ngoài thư mục hộp thư; không đọc."
            mode = target.stat().st_mode
    except OSError:  # gone since the folder was listed
        mode = 0
    if stat.S_ISDIR(mode):
        return "Thư mục liên kết; không đọc để tránh đọc trùng hoặc ra ngoài hộp thư."
    if not stat.S_ISREG(mode):
        return "Không phải tệp thông thường (ống dẫn, thiết bị…); không đọc."
    return "" if path.suffix.lower() in READ_SUFFIXES else NOT_READ


def expand(entry: Entry) -> list[Entry]:
    """A zip's members, each an Entry read from the zip when its turn comes, sorted; or the zip
    itself, rejected (damaged, a bomb), ignored (empty), or to read as a workbook (an .xlsx
    renamed .zip). Runs in a capped worker: a hostile zip may ask for anything."""
    try:
        size = entry.path.stat().st_size
    except OSError as exc:
        return [replace(entry, rejected=("unreadable", f"Không đọc được tệp: {reason(exc)}.", said(exc)))]
    try:
        if not _ends_with_directory(entry.path, size):
            raise zipfile.BadZipFile("no end of central directory at the end of the file")
        with zipfile.ZipFile(entry.path) as archive:
            infos = archive.infolist()
    except Exception as exc:  # zipfile raises many types for a damaged directory
        message = "Tệp nén bị hỏng hoặc tải về chưa xong; không đọc được các tệp bên trong. Hãy tải lại."
        return [replace(entry, rejected=("corrupt_file", message, said(exc)))]
    if any(i.filename in ("[Content_Types].xml", "mimetype") for i in infos):
        return [entry]  # a workbook (xlsx, ods) named .zip: the content decides, as for any file
    members = [(index, info, _member_name(info)) for index, info in enumerate(infos)]
    members = [m for m in members if not m[2].endswith("/")]  # folders inside the zip are not files
    if not members:
        return [replace(entry, ignored="Tệp nén không chứa tệp nào.")]
    if why := _bomb([info for _, info, _ in members], size):
        return [replace(entry, rejected=(*why, ""))]
    found = [
        Entry(
            shown=f"{entry.shown}{MEMBER}{name}",
            path=entry.path,
            source=_member_source(entry.source, name),
            member=(index, info.filename),
            stamp=_zip_time(info),
            ignored=_member_not_read(name),
        )
        for index, info, name in members
    ]
    found.sort(key=lambda member: member.shown)
    return found


def _member_source(source: Source, name: str) -> Source:
    """Where a zip's member came from: the zip in the folder, or the mail the zip was attached to."""
    if source.kind == "mail":
        return replace(source, attachment=f"{source.attachment}{MEMBER}{name}")
    return Source(kind="zip", attachment=name)


def _ends_with_directory(path: Path, size: int) -> bool:
    """Whether the zip's end record (and its comment) closes the file, as in every whole zip.
    zipfile also takes one it finds earlier: in a zip cut short by a download, the end record of
    a workbook stored inside, which would pass for the whole zip and hide the other members."""
    with open(path, "rb") as f:
        f.seek(max(0, size - END_RECORD - 0xFFFF))  # the record, and a comment of at most 64 kB
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    comment = int.from_bytes(tail[at + END_RECORD - 2 : at + END_RECORD], "little")
    return at >= 0 and at + END_RECORD + comment == len(tail)


def _bomb(infos: list[zipfile.ZipInfo], size: int) -> tuple[str, str] | None:
    """Why a zip must not be opened, from its directory; the sizes there are checked against the
    file's own size, and each member's real size again when it is read."""
    if len(infos) > MAX_ZIP_MEMBERS:
        return "file_too_large", (
            f"Tệp nén có {format_number(len(infos))} tệp bên trong, vượt giới hạn "
            f"{format_number(MAX_ZIP_MEMBERS)} tệp; không đọc. {UNZIP_IT}"
        )
    malicious = "có thể là tệp độc hại; không đọc các tệp bên trong."
    if sum(i.compress_size for i in infos) > size:
        return "file_too_large", f"Các tệp trong tệp nén khai báo chồng lên nhau: {malicious}"
    for info in infos:
        if info.file_size > BOMB_FLOOR and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            ratio = info.file_size / max(info.compress_size, 1)
            return "file_too_large", (
                f"Tệp “{_member_name(info)}” trong tệp nén bị nén chặt bất thường (giải nén gấp "
                f"{format_number(round(ratio))} lần, giới hạn {MAX_COMPRESSION_RATIO} lần): {malicious}"
            )
    total = sum(i.file_size for i in infos)
    if total > BOMB_FLOOR and total > MAX_COMPRESSION_RATIO * size:
        return "file_too_large", (
            f"Tệp nén giải nén ra {format_number(round(total / 1e6))} MB, gấp "
            f"{format_number(round(total / max(size, 1)))} lần kích thước của nó (giới hạn "
            f"{MAX_COMPRESSION_RATIO} lần): {malicious}"
        )
    return None


def _member_name(info: zipfile.ZipInfo) -> str:
    """A member's name, readable, folders separated by "/" (old Windows tools wrote "\\")."""
    name = info.filename
    if not info.flag_bits & ZIP_FLAG_UTF8:
        name = decode_name(name.encode("cp437"))  # zipfile decoded the stored bytes as cp437: undo it
    return name.replace("\\", "/")


def decode_name(raw: bytes) -> str:
    """A name stored without the UTF-8 flag, in whatever the zipping computer used: UTF-8 anyway,
    else Vietnamese Windows (cp1258), else the zip standard's cp437, which decodes any byte."""
    with contextlib.suppress(UnicodeDecodeError):
        return raw.decode("utf-8")
    with contextlib.suppress(UnicodeDecodeError):
        return unicodedata.normalize("NFC", raw.decode("cp1258"))  # cp1258 has combining tone marks
    return raw.decode("cp437")


def _member_not_read(name: str) -> str:
    """Why a member of a zip is listed but not read; "" when it is read."""
    base = PurePosixPath(name).name
    if base.startswith(("~$", ".~lock")):
        return LOCK_FILE
    suffix = PurePosixPath(base).suffix.lower()
    if suffix == ZIP_SUFFIX:
        return NESTED_ZIP
    if suffix == MAIL_SUFFIX:
        return NESTED_MAIL
    return "" if suffix in SPREADSHEET_SUFFIXES else NOT_READ


def _zip_time(info: zipfile.ZipInfo) -> datetime | None:
    try:
        return datetime(*info.date_time, tzinfo=VIETNAM)
    except ValueError:  # a damaged header's month 0 or second 60
        return None


# The zip a reading worker has open: members of one zip come in a row, and opening a zip reads
# its whole directory, so it is opened once, not once per member.
_open_zip: tuple[tuple[Path, int, int, int], zipfile.ZipFile] | None = None


def _zip_of(path: Path) -> zipfile.ZipFile:
    """The zip at `path`, opened once per worker; OSError when it is gone, anything zipfile raises
    when it is damaged."""
    global _open_zip
    st = path.stat()
    key = (path, st.st_ino, st.st_size, st.st_mtime_ns)
    if _open_zip is None or _open_zip[0] != key:
        if _open_zip is not None:
            _open_zip[1].close()
            _open_zip = None
        _open_zip = key, zipfile.ZipFile(path)
    return _open_zip[1]


def _member_info(entry: Entry) -> tuple[zipfile.ZipFile, zipfile.ZipInfo]:
    assert entry.member is not None
    index, name = entry.member
    try:
        infos = (archive := _zip_of(entry.path)).infolist()
    except OSError:
        raise  # the zip is gone or cannot be opened: unreadable, not damaged
    except Exception as exc:  # zipfile raises many types for a damaged directory
        raise Rejected("corrupt_file", f"Tệp nén bị hỏng. {UNZIP_IT}") from exc
    if index >= len(infos) or infos[index].filename != name:
        raise Rejected("corrupt_file", "Tệp nén đã bị thay đổi trong lúc đọc; hãy chạy lại.")
    return archive, infos[index]


def _read_member(entry: Entry) -> bytes:
    archive, info = _member_info(entry)
    if info.flag_bits & ZIP_FLAG_ENCRYPTED:
        raise Rejected(
            "password_protected",
            "Tệp nằm trong tệp nén có đặt mật khẩu. Hãy giải nén (nhập mật khẩu) ra một thư mục "
            "rồi tổng hợp thư mục đó.",
        )
    too_large = (
        f"Tệp giải nén ra quá {MAX_UNCOMPRESSED / 1e6:.0f} MB, giới hạn của một biểu báo cáo; "
        "tệp không được đọc."
    )
    if info.file_size > MAX_UNCOMPRESSED:
        raise Rejected("file_too_large", too_large)
    try:
        with archive.open(info) as stream:
            data = stream.read(MAX_UNCOMPRESSED + 1)  # never trust the declared size
    except Exception as exc:  # zipfile, zlib, bz2, lzma each raise their own for damaged data
        raise Rejected(
            "corrupt_file",
            "Không giải nén được tệp này (tệp nén bị hỏng hoặc dùng kiểu nén không hỗ trợ). "
            f"{UNZIP_IT} Nếu vẫn lỗi, hãy đề nghị đơn vị gửi lại.",
        ) from exc
    if len(data) > MAX_UNCOMPRESSED:
        raise Rejected("file_too_large", too_large)
    return data
