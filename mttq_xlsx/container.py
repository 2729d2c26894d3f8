"""A workbook file as a container, before any spreadsheet library reads it: a zip (xlsx, xlsm, xlsb,
ods) or an OLE file (xls). Here are the guards that run first (size, zip bombs, cell-area bombs,
formats that are not read), the decryption of password-protected files (the time it was saved:
`savedtime`). Whatever makes a file unusable is raised as `Rejected` with a stable code.
"""

from __future__ import annotations

import contextlib
import io
import struct
import zipfile
import zlib
from xml.etree import ElementTree

from . import encryption, formats, rawcells
from .errors import Rejected
from .kept import Kept
from .numbers import format_number

# what is read as a workbook, in the order users are told; whatever program saved it
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
MAX_UNCOMPRESSED = 64 * 1024 * 1024  # a filled template is well under 1 MB once inflated
MAX_COMPRESSION_RATIO = 200
MAX_CELLS = 2_000_000  # a sheet's used area; a template has a few thousand cells
ZIP_MAGIC = b"PK\x03\x04"
# sheet name -> xlsx part, and the sheets listed (`Container.sheet_list`), by the workbook's parts
# that say it and its members' names: every file of one template saved by one program has the same
Listed = tuple[tuple[str, bool], ...]  # (name, visible) of every sheet, in the workbook's order
_SHEET_PARTS: Kept[tuple[bytes, bytes, tuple[str, ...]], tuple[dict[str, str], Listed | None]] = Kept(64)
_STATES = {"visible", "hidden", "veryHidden"}
_SHEET_PARTS_KEPT_BYTES = 65_536
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, zlib.error)
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # a zip's local file header: flags [3], name and extra lengths [10:12]
_UNUSUAL_FLAGS = 0x01 | 0x20 | 0x40  # encrypted, patched, strongly encrypted: left to zipfile
_UTF8_NAME = 0x800


# what to do with a file that no longer opens as it should
SAVE_AGAIN = (
    "Hãy mở thử tệp bằng Excel hoặc LibreOffice: nếu mở được, lưu lại thành .xlsx (Tệp ▸ Lưu thành…) "
    "rồi gửi lại; nếu không, đề nghị đơn vị gửi lại tệp."
)
NO_PASSWORD = (
    "Tệp có mật khẩu. Hãy đề nghị đơn vị gửi lại tệp không đặt mật khẩu, hoặc chạy lại với --password."
)
# the likely cause of a reading library's error -> words of its type and text (lower case), in order
_DAMAGE = {
    "phần nén bên trong tệp bị hỏng hoặc không đầy đủ (có thể do tải về chưa xong)": (
        "zip",
        "deflate",
        "decompress",
        "checksum",
        "crc",
        "declared uncompressed size",
        "fill whole buffer",
    ),
    "dữ liệu bên trong tệp bị hỏng": ("xml", "ill-formed", "decode"),
    "cấu trúc bên trong của tệp .xls bị hỏng": ("cfb",),
    "không nhận ra được nội dung bảng tính bên trong tệp": ("cannot detect file format",),
}


def said(exc: BaseException) -> str:
    """What an exception says, as a report's `detail`."""
    return f"{type(exc).__name__}: {exc}"[:1000]


def damaged(exc: BaseException, sheet: str = "") -> Rejected:
    """A file (or one of its sheets) that a reading library gave up on: the likely cause in
    Vietnamese, what to do, and the library's own words as the detail."""
    words = said(exc).lower()
    cause = next(
        (cause for cause, known in _DAMAGE.items() if any(word in words for word in known)),
        "bộ đọc bảng tính không đọc được tệp",
    )
    where = f"Trang tính “{sheet}” của tệp" if sheet else "Tệp"
    return Rejected("corrupt_file", f"{where} bị hỏng: {cause}. {SAVE_AGAIN}", said(exc))


def decrypted(data: bytes, kind: str, password: str | None) -> bytes:
    """The workbook without its encryption: with Excel's built-in password first (a workbook only
    protected against changes opens without asking), then with --password."""
    passwords = [] if kind == encryption.ODS else [encryption.EXCEL_DEFAULT_PASSWORD]
    if password is not None:
        passwords.append(password)
    refused = ""
    for given in passwords:
        try:
            return encryption.decrypt(data, kind, given, MAX_UNCOMPRESSED)
        except encryption.WrongPassword as exc:
            refused = said(exc)
        except encryption.Unsupported as exc:
            raise Rejected(
                "password_protected",
                "Tệp có mật khẩu, đặt theo cách mã hóa mà chương trình chưa mở được. Hãy đề nghị đơn vị "
                "gửi lại tệp không đặt mật khẩu.",
                said(exc),
            ) from exc
        except Exception as exc:  # a damaged file: msoffcrypto, zipfile and the XML parser raise many types
            if password is None:  # whether a password would open it cannot be known
                raise Rejected("password_protected", NO_PASSWORD, said(exc)) from exc
            raise damaged(exc) from exc
    if password is None:
        raise Rejected("password_protected", NO_PASSWORD)
    raise Rejected(
        "password_protected",
        "Mật khẩu đã cho (--password) không mở được tệp. Hãy hỏi lại đơn vị mật khẩu đúng, hoặc đề nghị "
        "gửi lại tệp không đặt mật khẩu.",
        refused,
    )


class Container:
    """The file's container, read once: a zip's directory (`error` is what opening it raised, if
    anything), or an OLE file's summary information and BIFF Workbook stream (empty if damaged);
    and how it is encrypted (an `encryption` kind, '' when it is not)."""

    def __init__(self, data: bytes) -> None:
        self.zip: zipfile.ZipFile | None = None
        self.error: Exception | None = None
        self.summary = b""
        self.workbook = b""
        self.encrypted = ""
        # cells holding an error value (#DIV/0!, #N/A…), which calamine reads as blank, by sheet
        self.error_cells: rawcells.ErrorCells = {}
        self.checked: set[str] = set()  # the xlsx worksheet parts found small enough to read
        self._parts: dict[str, bytes] = {}
        self._data = data
        self._folded: dict[str, list[str]] | None = None
        self._sheets: dict[str, str] | None = None  # sheet name -> its xlsx part ('' when unclear)
        self._listed: Listed | None = None
        if data.startswith(ZIP_MAGIC):
            try:
                self.zip = zipfile.ZipFile(io.BytesIO(data))
            except Exception as exc:  # raised again where the size check reads the directory
                self.error = exc
            else:
                self.encrypted = encryption.ODS if self._encrypted_ods() else ""
        elif data.startswith(OLE_MAGIC):
            import olefile

            with contextlib.suppress(Exception), olefile.OleFileIO(io.BytesIO(data)) as ole:
                if ole.exists("EncryptionInfo") and ole.exists("EncryptedPackage"):  # xlsx, xlsm, xlsb
                    self.encrypted = encryption.OOXML
                    return
                if ole.exists("\x05SummaryInformation"):
                    self.summary = ole.openstream("\x05SummaryInformation").read(1 << 16)
                stream = next((s for s in ("Workbook", "Book") if ole.exists(s)), "")  # BIFF8, BIFF5
                if stream:
                    self.workbook = ole.openstream(stream).read()
                    self.encrypted = encryption.XLS if rawcells.xls_encrypted(self.workbook) else ""

    def read(self, part: str) -> bytes:
        """A zip member's content, inflated once however often it is asked for; raises Rejected
        when it is damaged or inflates past the limit (the declared size is never trusted)."""
        assert self.zip is not None
        if part not in self._parts:
            content = self._inflated(part)
            if content is None:  # anything unusual: zipfile reads it, and says what is wrong
                try:
                    with self.zip.open(part) as stream:
                        content = stream.read(MAX_UNCOMPRESSED + 1)
                except _ZIP_ERRORS as exc:
                    raise damaged(exc) from exc
            if len(content) > MAX_UNCOMPRESSED:
                raise Rejected("file_too_large", "Một trang tính giải nén ra quá lớn; tệp không được đọc.")
            self._parts[part] = content
        return self._parts[part]

    def _inflated(self, part: str) -> bytes | None:
        """A member's content straight from the file's bytes, without zipfile's reader around it
        (most parts are a few hundred bytes, where that reader costs more than the inflating),
        when everything is as zipfile checks it: the local header, the name in it, no encryption,
        one whole deflate stream (or stored bytes) of the recorded size and CRC. None otherwise."""
        assert self.zip is not None
        info = self.zip.NameToInfo.get(part)
        if info is None or info.flag_bits & _UNUSUAL_FLAGS or not 0 <= info.file_size <= MAX_UNCOMPRESSED:
            return None
        at = info.header_offset
        if at < 0 or self._data[at : at + 4] != b"PK\x03\x04" or len(self._data) < at + _LOCAL.size:
            return None
        local = _LOCAL.unpack_from(self._data, at)
        name = self._data[at + _LOCAL.size : at + _LOCAL.size + local[10]]
        with contextlib.suppress(UnicodeDecodeError):
            name_text = name.decode("utf-8" if local[3] & _UTF8_NAME else "cp437")
            if name_text != info.orig_filename:
                return None
            start = at + _LOCAL.size + local[10] + local[11]
            raw = self._data[start : start + info.compress_size]
            if len(raw) != info.compress_size:
                return None
            if info.compress_type == zipfile.ZIP_STORED:
                content = raw
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                inflate = zlib.decompressobj(-15)
                try:
                    content = inflate.decompress(raw, info.file_size + 1)
                except zlib.error:
                    return None
                if not inflate.eof:
                    return None
            else:
                return None
            if len(content) == info.file_size and zlib.crc32(content) == info.CRC:
                return content
        return None

    def member(self, path: str) -> str | None:
        """The zip member calamine reads for `path` (it ignores case and takes a backslash for a
        slash); None when there is none, or more than one it could take."""
        assert self.zip is not None
        if self._folded is None:
            self._folded = {}
            for member in self.zip.NameToInfo:
                self._folded.setdefault(_fold(member), []).append(member)
        found = self._folded.get(_fold(path), [])
        return found[0] if len(found) == 1 else None

    def sheet_parts(self, sheet: str) -> list[str]:
        """The worksheet part calamine reads for the sheet named `sheet`, found as it finds it: the
        first sheet of that name in xl/workbook.xml, the target of its relationship (under xl/, or
        from the root when it starts with /), the zip member of that path. When any of it is unclear,
        every member that may be a worksheet."""
        assert self.zip is not None
        part = self._workbook_sheets().get(sheet)
        if part:
            return [part]
        return [m for m in self.zip.NameToInfo if _fold(m).endswith(".xml")]

    def sheet_list(self) -> Listed | None:
        """(name, visible) of every sheet of an xlsx, as calamine lists them, when xl/workbook.xml
        lists them plainly: each once, each with its own part, shown or hidden in the usual words.
        None otherwise (or not an xlsx): then calamine lists them."""
        if not self.is_xlsx:
            return None
        self._workbook_sheets()
        return self._listed

    @property
    def is_xlsx(self) -> bool:
        """Whether calamine reads the file as an xlsx (or xlsm)."""
        return (
            self.zip is not None
            and self.member("xl/workbook.xml") is not None
            and not self.member("content.xml")
        )

    def _workbook_sheets(self) -> dict[str, str]:
        assert self.zip is not None
        if self._sheets is None:
            self._sheets = {}
            with contextlib.suppress(Exception):  # a damaged or unusual workbook: any part may be read
                book = self.read(self.member("xl/workbook.xml") or "")
                rels = self.read(self.member("xl/_rels/workbook.xml.rels") or "")
                key = (book, rels, tuple(self.zip.NameToInfo))
                found = _SHEET_PARTS.get(key)
                if found is None:
                    found = self._find_sheet_parts(book, rels)
                    if len(book) + len(rels) <= _SHEET_PARTS_KEPT_BYTES:  # a workbook's, not a bomb's
                        _SHEET_PARTS.keep(key, found)
                self._sheets, self._listed = found
        return self._sheets

    def _find_sheet_parts(self, book_xml: bytes, rels_xml: bytes) -> tuple[dict[str, str], Listed | None]:
        book = ElementTree.fromstring(book_xml)
        rels = ElementTree.fromstring(rels_xml)
        targets: dict[str | None, list[str]] = {}
        for rel in rels:
            targets.setdefault(rel.get("Id"), []).append(rel.get("Target", ""))
        parts: dict[str, str] = {}
        listed: list[tuple[str, bool]] = []
        plain = b"<!" not in book_xml
        for el in book.iter():
            if not el.tag.endswith("}sheet"):
                continue
            name, state = el.get("name", ""), el.get("state", "visible")
            plain = plain and name not in parts and state in _STATES
            listed.append((name, state == "visible"))
            if name not in parts:
                rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
                found = targets.get(rid, [])
                target = found[0] if len(found) == 1 else ""
                path = target[1:] if target.startswith("/") else f"xl/{target}"
                parts[name] = (target and self.member(path)) or ""
        plain = plain and bool(listed) and all(parts.values())
        return parts, tuple(listed) if plain else None

    def _encrypted_ods(self) -> bool:
        assert self.zip is not None
        try:
            info = self.zip.getinfo(encryption.ODS_MANIFEST)
            with self.zip.open(info) as manifest:
                return encryption.ods_encrypted(manifest.read(1 << 20))
        except Exception:  # no manifest (not an ods), or a damaged one: the zip checks say so
            return False


def _check_zip(container: Container) -> None:
    if container.error is not None:  # zipfile raises many types for a damaged directory
        raise Rejected(
            "corrupt_file",
            "Tệp bị hỏng hoặc không đầy đủ (có thể do tải về chưa xong).",
            said(container.error),
        ) from container.error
    assert container.zip is not None
    infos = container.zip.infolist()
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED:
        raise Rejected(
            "file_too_large",
            f"Tệp giải nén ra {total / 1e6:.0f} MB, vượt giới hạn {MAX_UNCOMPRESSED / 1e6:.0f} MB "
            "của một biểu báo cáo; tệp không được đọc.",
        )
    for i in infos:
        ratio = i.file_size / i.compress_size if i.compress_size else 0
        if ratio > MAX_COMPRESSION_RATIO and i.file_size > 1 << 20:
            raise Rejected(
                "file_too_large",
                f"Phần “{i.filename}” của tệp nén chặt bất thường (giải nén gấp "
                f"{ratio:.0f} lần, giới hạn {MAX_COMPRESSION_RATIO} lần): có thể là "
                "tệp độc hại; tệp không được đọc.",
            )


def too_many_cells(cells: int, sheet: str) -> str:
    return (
        f"Trang tính “{sheet}” có vùng dữ liệu {format_number(cells)} ô, vượt giới hạn "
        f"{format_number(MAX_CELLS)} ô của một biểu báo cáo (có thể có ô bị gõ nhầm ở rất xa); "
        "tệp không được đọc."
    )


def _check_cell_area(container: Container) -> None:
    """Refuse an ods whose tables span more cells than a report can have, before calamine
    allocates the whole area (it reads every table as it opens the file), and note the cells
    holding an error value. An xlsx's sheets are checked one by one, as they are read (guard_sheet)."""
    assert container.zip is not None
    if "content.xml" in container.zip.NameToInfo:
        _take(rawcells.scan_ods(container.read("content.xml"), MAX_CELLS), container)


def guard_sheet(container: Container, sheet: str) -> None:
    """Before calamine reads the sheet `sheet` of an xlsx (it reads a sheet only when asked for it):
    refuse it when it spans more cells than a report can have (one cell at XFD1048576 would make
    calamine ask for hundreds of GB), and note its cells holding an error value. Nothing to do for
    other formats: their whole file was checked by `guard`."""
    if container.zip is None or container.member("xl/workbook.xml") is None:
        return  # not read as an xlsx
    for part in container.sheet_parts(sheet):
        if part in container.checked:
            continue
        area, cells = rawcells.xlsx_sheet(container.read(part), MAX_CELLS)
        if area > MAX_CELLS:
            raise Rejected("file_too_large", too_many_cells(area, sheet))
        container.checked.add(part)
        if cells:
            container.error_cells.setdefault(sheet, {}).update(cells)


def _take(found: rawcells.RawCells, container: Container) -> None:
    """Refuse what a raw scan found too large; keep the error cells it found."""
    if found.damaged:
        raise Rejected(
            "corrupt_file",
            f"Tệp bị hỏng: kích thước ghi trong trang tính “{min(found.damaged)}” không hợp lệ; "
            "tệp không được đọc. Hãy mở tệp, lưu lại rồi gửi lại.",
        )
    if found.too_large:
        sheet, cells = next(iter(found.too_large.items()))
        raise Rejected("file_too_large", too_many_cells(cells, sheet))
    container.error_cells = found.errors


def _fold(name: str) -> str:
    return name.replace("\\", "/").lower()


def guard(data: bytes, container: Container) -> None:
    """Raise Rejected for a file no spreadsheet library may be given: empty, in a format that is not
    read, not a workbook at all, too large once inflated, or (xls, ods) spanning too many cells."""
    if data.startswith(ZIP_MAGIC):
        _check_zip(container)
        _check_cell_area(container)
    elif data.startswith(OLE_MAGIC):
        _take(rawcells.scan_xls(container.workbook, MAX_CELLS), container)
    elif not data:
        raise Rejected(
            "empty_file",
            "Tệp rỗng (không có dữ liệu), có thể do tải về chưa xong. Hãy đề nghị đơn vị gửi lại tệp.",
        )
    elif why := formats.unsupported(data):
        raise Rejected("unsupported_format", why)
    else:
        raise Rejected(
            "corrupt_file", f"Tệp không phải bảng tính Excel hay LibreOffice, hoặc đã bị hỏng. {SAVE_AGAIN}"
        )
