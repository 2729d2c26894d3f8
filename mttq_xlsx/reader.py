"""Read one filled workbook (xlsx, xlsm, xls, ods; any program) into a Submission.

The field map comes from the file's own `_mttq` sheet, so templates of older spec versions still
read. Anything that makes the file unusable is raised as `Rejected` with a stable code.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from python_calamine import CalamineWorkbook

from . import encryption, formats, rawcells
from .cells import cell_index, cell_name
from .model import ERROR, REJECTION_CODES, WARNING, FileRecord, Issue, Submission
from .numbers import format_number
from .template import LISTS_SHEET, META_SHEET, SCHEMA

# what is read as a workbook, in the order users are told; whatever program saved it
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
MAX_UNCOMPRESSED = 64 * 1024 * 1024  # a filled template is well under 1 MB once inflated
MAX_COMPRESSION_RATIO = 200
MAX_CELLS = 2_000_000  # a sheet's used area; a template has a few thousand cells
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
VIETNAM = timezone(timedelta(hours=7))


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


class Rejected(Exception):
    """A file that cannot be read as one of our templates; `code` is the stable id, `message` the
    Vietnamese reason, `detail` what a library said (for the JSON report only)."""

    def __init__(self, code: str, message: str, detail: str = "") -> None:
        assert code in REJECTION_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


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


@dataclass(frozen=True)
class MapRow:
    field_id: str
    form_id: str
    sheet: str
    cell: str  # "D12" or a column range "B8:B27"
    type: str
    label_cell: str = ""
    label: str = ""


@dataclass(frozen=True)
class ReadOptions:
    password: str | None = None


def file_record(path: Path, rel: str) -> tuple[FileRecord, bytes]:
    data = path.read_bytes()
    return FileRecord(path=rel, sha256=hashlib.sha256(data).hexdigest()), data


def modified_at(path: Path) -> datetime:
    """A file's modification time: when a workbook has no saved time of its own."""
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def read_submission(path: Path, rel: str, options: ReadOptions) -> tuple[FileRecord, Submission]:
    """Read `path`; raises Rejected on failure."""
    record, data = file_record(path, rel)
    return record, read_bytes(record, data, lambda: modified_at(path), options)


def read_bytes(
    record: FileRecord, data: bytes, fallback: Callable[[], datetime], options: ReadOptions
) -> Submission:
    """Read a file's `data`; raises Rejected on failure, with `record` filled as far as known.
    `fallback()` is the file's time when the workbook has no saved time of its own."""
    rel = record.path
    archive = _Archive(data)  # the container, read once for the timestamp and the raw checks
    if archive.encrypted:
        data = _decrypted(data, archive.encrypted, options.password)
        archive = _Archive(data)
    saved_at = _saved_at(archive) or fallback()
    record.saved_at = saved_at
    workbook = _open(data, archive)
    meta, fmap = _read_meta(workbook)
    record.report_id = meta.get("report_id", "")
    record.period = meta.get("period", "")
    sheets = {name: _load_sheet(workbook, name) for name in fmap.sheets}
    shifts, notes = _locate(fmap, sheets, rel)
    submission = Submission(
        file=record,
        report_id=record.report_id,
        spec_version=meta.get("spec_version", ""),
        period=record.period,
        unit_code=meta.get("unit_code", ""),
        unit_name=meta.get("unit_name", ""),
        meta=meta,
    )
    values = submission.values
    moved = any(shifts.values())
    # unmoved, the cells are the map's own dict, shared by every file of the template (never mutated)
    cells = submission.cells = {} if moved else fmap.cells
    for row, (field_id, sheet, cell, where) in zip(fmap.rows, fmap.reads, strict=True):
        grid = sheets[sheet]
        shift = shifts.get((row.sheet, row.label_cell, row.label), 0) if moved else 0
        if where is None:  # a range that is not first:last fails here, as it always has
            _first, _last = (cell_index(c) for c in cell.split(":"))  # raises ValueError
        elif type(where) is list:
            values[field_id] = [_value(grid, r + shift, c) for r, c in where]
        else:
            values[field_id] = _value(grid, where[0] + shift, where[1])
        if moved:
            cells[field_id] = (sheet, _shifted(cell, shift) if shift else cell)
    submission.issues += notes
    submission.issues += _workbook_notes(workbook, fmap, archive, rel)
    if archive.error_cells:
        submission.issues += _error_value_issues(archive, submission, rel)
    return submission


def _shifted(cell: str, rows: int) -> str:
    parts = []
    for part in cell.split(":"):
        r, c = cell_index(part)
        parts.append(cell_name(r + rows, c))
    return ":".join(parts)


def _label_at(grid: list[list[Any]], row: int, col: int) -> str:
    value = _value(grid, row, col)
    return " ".join(str(value).split()) if value is not None else ""


def _locate(
    fmap: _FieldMap, sheets: dict[str, list[list[Any]]], rel: str
) -> tuple[dict[tuple[str, str, str], int], list[Issue]]:
    """How many rows each field's label moved (rows inserted or deleted by hand), by its label.

    A label found elsewhere in its column moves its field with it. A label found nowhere: when
    no other label moved, the figure is read at its place with a warning (the label was edited);
    when others moved, the file cannot be read safely and is rejected, naming the labels.
    """
    shifts: dict[tuple[str, str, str], int] = {}
    lost: list[MapRow] = []
    for key, row, where in fmap.labels:
        grid = sheets[row.sheet]
        r, c = where or cell_index(row.label_cell)  # a label cell that is not a cell raises here
        if r < len(grid) and c < len(grid[r]) and grid[r][c] == row.label:
            shifts[key] = 0  # the usual case, without normalising anything
            continue
        label = " ".join(row.label.split())
        if _label_at(grid, r, c) == label:
            shifts[key] = 0
            continue
        found = [i for i in range(len(grid)) if _label_at(grid, i, c) == label]
        if found:
            shifts[key] = min(found, key=lambda i: abs(i - r)) - r
        else:
            lost.append(row)
    moved = any(shifts.values())
    if lost and moved:
        names = "; ".join(f"“{r.label}” (ô {r.sheet}!{r.label_cell})" for r in lost[:3])
        raise Rejected(
            "layout_changed",
            f"Mẫu biểu đã bị sửa: có dòng bị chèn hoặc xóa và không tìm thấy nhãn {names}. "
            "Không thể đọc số liệu an toàn; hãy điền lại vào mẫu biểu gốc.",
        )
    notes = [
        Issue(
            WARNING,
            rel,
            "label_changed",
            f"Nhãn ở ô {r.sheet}!{r.label_cell} đã bị sửa thành "
            f"“{_label_at(sheets[r.sheet], *cell_index(r.label_cell))}” (mẫu gốc: “{r.label}”); "
            "số liệu vẫn đọc ở ô cũ vì các dòng khác không bị xê dịch.",
            field_id=r.field_id,
            form_id=r.form_id,
            sheet=r.sheet,
            cell=r.label_cell,
        )
        for r in lost
    ]
    if moved:
        notes.append(
            Issue(
                WARNING,
                rel,
                "rows_moved",
                "Mẫu biểu đã bị chèn hoặc xóa dòng; số liệu được đọc theo nhãn ở vị trí mới.",
                sheet=next(k[0] for k, v in shifts.items() if v),
            )
        )
    return shifts, notes


def _workbook_notes(workbook: CalamineWorkbook, fmap: _FieldMap, archive: _Archive, rel: str) -> list[Issue]:
    """Macros (never run, only mentioned) and sheets that are not part of the template."""
    notes = []
    names = set(archive.zip.namelist()) if archive.zip else set()
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        notes.append(
            Issue(
                WARNING,
                rel,
                "has_macros",
                "Tệp có macro (VBA). Macro không được chạy; chỉ đọc giá trị trong các ô.",
            )
        )
    known = {*fmap.sheets, META_SHEET, LISTS_SHEET}
    for meta in workbook.sheets_metadata:
        if meta.name not in known and str(meta.visible).endswith("Visible"):
            notes.append(
                Issue(
                    WARNING,
                    rel,
                    "extra_sheet",
                    f"Tệp có thêm trang tính “{meta.name}” không thuộc mẫu biểu; số liệu ở trang "
                    "đó không được đọc. Mỗi đơn vị hãy gửi một tệp riêng.",
                    sheet=meta.name,
                )
            )
    return notes


def _value(grid: list[list[Any]], row: int, col: int) -> Any:
    if row >= len(grid):
        return None
    line = grid[row]
    if col >= len(line):
        return None
    value = line[col]
    if isinstance(value, str):
        if not value:
            return None  # an empty cell: the most common value by far
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    return value


def _decrypted(data: bytes, kind: str, password: str | None) -> bytes:
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


class _Archive:
    """The file's container, read once: a zip's directory (`error` is what opening it raised, if
    anything), or an OLE file's summary information and BIFF Workbook stream (empty if damaged);
    and how it is encrypted (an `encryption` kind, '' when it is not)."""

    def __init__(self, data: bytes) -> None:
        self.zip: zipfile.ZipFile | None = None
        self.error: Exception | None = None
        self.summary = b""
        self.workbook = b""
        self.encrypted = ""
        # cells holding an error value (#DIV/0!, #N/A…), which calamine reads as blank
        self.error_cells: rawcells.ErrorCells = {}
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

    def _encrypted_ods(self) -> bool:
        assert self.zip is not None
        try:
            info = self.zip.getinfo(encryption.ODS_MANIFEST)
            with self.zip.open(info) as manifest:
                return encryption.ods_encrypted(manifest.read(1 << 20))
        except Exception:  # no manifest (not an ods), or a damaged one: the zip checks say so
            return False


def _check_zip(archive: _Archive) -> None:
    if archive.error is not None:  # zipfile raises many types for a damaged directory
        raise Rejected(
            "corrupt_file",
            "Tệp bị hỏng hoặc không đầy đủ (có thể do tải về chưa xong).",
            said(archive.error),
        ) from archive.error
    assert archive.zip is not None
    infos = archive.zip.infolist()
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


def _too_many_cells(cells: int, sheet: str) -> str:
    return (
        f"Trang tính “{sheet}” có vùng dữ liệu {format_number(cells)} ô, vượt giới hạn "
        f"{format_number(MAX_CELLS)} ô của một biểu báo cáo (có thể có ô bị gõ nhầm ở rất xa); "
        "tệp không được đọc."
    )


def _check_cell_area(archive: _Archive) -> None:
    """Refuse a workbook whose sheets span more cells than a report can have, before calamine
    allocates the whole area (one cell at XFD1048576 would make it ask for hundreds of GB), and
    note the cells holding an error value. xlsx: the worksheet parts; ods: content.xml."""
    assert archive.zip is not None
    errors: rawcells.ErrorCells = {}  # by xlsx worksheet part until the parts' sheet names are known
    for info in archive.zip.infolist():
        if info.filename == "content.xml":
            _take(rawcells.scan_ods(_read_part(archive, info), MAX_CELLS), archive)
        elif info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
            area, cells = rawcells.xlsx_sheet(_read_part(archive, info), MAX_CELLS)
            if area > MAX_CELLS:
                sheet = _sheet_names(archive).get(info.filename, info.filename)
                raise Rejected("file_too_large", _too_many_cells(area, sheet))
            if cells:
                errors[info.filename] = cells
    if errors:
        names = _sheet_names(archive)
        archive.error_cells = {names[part]: cells for part, cells in errors.items() if part in names}


def _read_part(archive: _Archive, info: zipfile.ZipInfo) -> bytes:
    assert archive.zip is not None
    try:
        with archive.zip.open(info) as part:
            xml = part.read(MAX_UNCOMPRESSED + 1)  # never trust the declared size
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
        raise damaged(exc) from exc
    if len(xml) > MAX_UNCOMPRESSED:
        raise Rejected("file_too_large", "Một trang tính giải nén ra quá lớn; tệp không được đọc.")
    return xml


def _take(found: rawcells.RawCells, archive: _Archive) -> None:
    """Refuse what a raw scan found too large; keep the error cells it found."""
    if found.damaged:
        raise Rejected(
            "corrupt_file",
            f"Tệp bị hỏng: kích thước ghi trong trang tính “{min(found.damaged)}” không hợp lệ; "
            "tệp không được đọc. Hãy mở tệp, lưu lại rồi gửi lại.",
        )
    if found.too_large:
        sheet, cells = next(iter(found.too_large.items()))
        raise Rejected("file_too_large", _too_many_cells(cells, sheet))
    archive.error_cells = found.errors


def _sheet_names(archive: _Archive) -> dict[str, str]:
    """Worksheet part -> sheet name of an xlsx, from xl/workbook.xml and its relationships."""
    assert archive.zip is not None
    try:
        book = ElementTree.fromstring(archive.zip.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.zip.read("xl/_rels/workbook.xml.rels"))
    except Exception:  # read before calamine, so a damaged part may raise anything zipfile can
        return {}
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    names = {}
    for sheet in book.iter():
        if sheet.tag.endswith("}sheet"):
            rid = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), "")
            target = targets.get(rid, "").lstrip("/")
            names[target if target.startswith("xl/") else f"xl/{target}"] = sheet.get("name", "")
    return names


def _error_value_issues(archive: _Archive, sub: Submission, rel: str) -> list[Issue]:
    """An error value where a figure should be: calamine reads it as blank, so say so."""
    issues = []
    for field_id, (sheet, cell) in sub.cells.items():
        errors = archive.error_cells.get(sheet, {})
        if cell in errors and sub.values.get(field_id) is None:
            shown = errors[cell]
            if excel := rawcells.excel_error(shown):
                shown = f"{shown} (trong Excel: {excel})"
            issues.append(
                Issue(
                    ERROR,
                    rel,
                    "error_value",
                    f"Ô {sheet}!{cell} chứa giá trị lỗi {shown} thay vì số liệu; "
                    "hãy sửa công thức hoặc nhập số.",
                    sub.unit_code,
                    "",
                    field_id,
                    sheet,
                    cell,
                )
            )
    return issues


def _open(data: bytes, archive: _Archive) -> CalamineWorkbook:
    if data.startswith(ZIP_MAGIC):
        _check_zip(archive)
        _check_cell_area(archive)
    elif data.startswith(OLE_MAGIC):
        _take(rawcells.scan_xls(archive.workbook, MAX_CELLS), archive)
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
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        if "password" in str(exc).lower():
            raise Rejected("password_protected", NO_PASSWORD, said(exc)) from exc
        raise damaged(exc) from exc


def _load_sheet(workbook: CalamineWorkbook, name: str) -> list[list[Any]]:
    if name not in workbook.sheet_names:
        raise Rejected(
            "sheet_missing",
            f"Không thấy trang tính “{name}” (có thể đã bị đổi tên hoặc xóa). Hãy dùng lại mẫu biểu gốc.",
        )
    try:
        sheet = workbook.get_sheet_by_name(name)
        # read from A1, so the rows and columns before the first cell count too
        end_row, end_col = sheet.end or (-1, -1)
        if (end_row + 1) * (end_col + 1) > MAX_CELLS:
            raise Rejected("file_too_large", _too_many_cells((end_row + 1) * (end_col + 1), name))
        return sheet.to_python(skip_empty_area=False)
    except Rejected:
        raise
    except Exception as exc:
        raise damaged(exc, name) from exc


@dataclass(frozen=True)
class _FieldMap:
    """A parsed field map, with what reading a file by it needs worked out once."""

    rows: tuple[MapRow, ...]
    sheets: tuple[str, ...]  # the sheets the map names, in order of first use
    # (field id, sheet, cell, where): where is (row, col), a list of them for a range, or None
    # for a range that is not first:last
    reads: tuple[tuple[str, str, str, Any], ...]
    cells: dict[str, tuple[str, str]]  # field id -> (sheet, cell), in map order
    # each distinct (sheet, label cell, label) once, in map order: its first row and the label
    # cell's (row, col), None when the label cell is not a cell address
    labels: tuple[tuple[tuple[str, str, str], MapRow, tuple[int, int] | None], ...]
    error: str = ""  # why a cell of the map is not a cell address


# Field maps already parsed, by the raw rows below their header. Every file made from one
# template version carries the same map, so it is parsed and checked once, not once per file.
_MAPS: dict[tuple[tuple[Any, ...], ...], _FieldMap] = {}
_MAPS_KEPT = 16


def read_meta(workbook: CalamineWorkbook) -> tuple[dict[str, str], list[MapRow]]:
    meta, fmap = _read_meta(workbook)
    return meta, list(fmap.rows)


def _read_meta(workbook: CalamineWorkbook) -> tuple[dict[str, str], _FieldMap]:
    if META_SHEET not in workbook.sheet_names:
        raise Rejected(
            "not_a_template",
            "Tệp không phải mẫu biểu của mttq-xlsx (không có trang thông tin ẩn “_mttq”). "
            "Hãy điền số liệu vào mẫu biểu đã được gửi.",
        )
    rows = _load_sheet(workbook, META_SHEET)
    meta: dict[str, str] = {}
    start = len(rows)
    for i, row in enumerate(rows):
        cells = [str(c).strip() if c is not None else "" for c in row]
        if not any(cells):
            continue
        if cells[0] == "field_id":
            start = i + 1
            break
        meta[cells[0]] = cells[1] if len(cells) > 1 else ""
    key = tuple(map(tuple, rows[start:]))
    fmap = _MAPS.get(key)
    if fmap is None:
        fmap = _parse_map(rows[start:])
        # Keep only maps made of text: a text never equals a number, so a hit is the same map.
        if all(type(c) is str for row in key for c in row):
            if len(_MAPS) >= _MAPS_KEPT:
                _MAPS.clear()
            _MAPS[key] = fmap
    if meta.get("schema") != SCHEMA or not fmap.rows:
        raise Rejected("not_a_template", "Trang thông tin ẩn “_mttq” của tệp bị hỏng hoặc không đúng mẫu.")
    if fmap.error:
        raise Rejected("not_a_template", f"Bảng vị trí ô trong “_mttq” có ô sai: {fmap.error}.")
    return meta, fmap


def _parse_map(rows: list[list[Any]]) -> _FieldMap:
    """The rows below the `field_id | form_id | …` header of `_mttq`."""
    field_map: list[MapRow] = []
    for row in rows:
        cells = [str(c).strip() if c is not None else "" for c in row]
        if not any(cells) or cells[0] == "field_id":
            continue
        cells += [""] * (7 - len(cells))
        field_map.append(MapRow(_restore_escapes(cells[0]), *cells[1:7]))
    reads: list[tuple[str, str, str, Any]] = []
    error = ""
    try:
        for r in field_map:
            parts = [cell_index(part) for part in r.cell.split(":")]
            where: Any = parts[0]
            if ":" in r.cell:
                first, last = parts[0], parts[-1]
                where = [(n, first[1]) for n in range(first[0], last[0] + 1)]
                if len(parts) != 2:
                    where = None
            reads.append((r.field_id, r.sheet, r.cell, where))
    except ValueError as exc:
        error = str(exc)
    return _FieldMap(
        rows=tuple(field_map),
        sheets=tuple(dict.fromkeys(r.sheet for r in field_map)),
        reads=tuple(reads),
        cells={r.field_id: (r.sheet, r.cell) for r in field_map},
        labels=tuple(_label_positions(field_map)),
        error=error,
    )


def _label_positions(
    rows: list[MapRow],
) -> Iterator[tuple[tuple[str, str, str], MapRow, tuple[int, int] | None]]:
    seen = set()
    for row in rows:
        key = (row.sheet, row.label_cell, row.label)
        if row.label and row.label_cell and key not in seen:
            seen.add(key)
            try:
                yield key, row, cell_index(row.label_cell)
            except ValueError:
                yield key, row, None


def _restore_escapes(field_id: str) -> str:
    """Undo LibreOffice's reading of `_xa_` in an xlsx string as an escaped control character.

    Field ids are ASCII snake_case, so any control character in one was such an escape.
    """
    return re.sub(r"[\x00-\x1f]", lambda m: f"_x{ord(m[0]):x}_", field_id)


def _saved_at(archive: _Archive) -> datetime | None:
    """The workbook's own last-saved time (xlsx docProps, ods meta.xml, xls summary info)."""
    try:
        if archive.zip is not None:
            zf = archive.zip
            names = set(zf.namelist())
            for part, tag in (("docProps/core.xml", "modified"), ("meta.xml", "date")):
                if part in names and zf.getinfo(part).file_size < 1 << 20:
                    root = ElementTree.fromstring(zf.read(part))
                    for el in root.iter():
                        if el.tag.endswith("}" + tag) and el.text:
                            text = el.text
                            if part == "docProps/core.xml" and _saved_by_libreoffice(zf, names):
                                text = text.strip().removesuffix("Z")  # local time, falsely marked UTC
                            return _parse_timestamp(text)
        elif archive.summary:
            return _ole_last_saved(archive.summary)
    except Exception:  # a missing or odd timestamp falls back to the file's mtime
        return None
    return None


_LIBREOFFICE_APP = re.compile(rb"<(?:\w+:)?Application>\s*LibreOffice")


def _saved_by_libreoffice(zf: zipfile.ZipFile, names: set[str]) -> bool:
    """Whether docProps/app.xml names LibreOffice as the program that saved the xlsx.

    LibreOffice (7.4 and others, ONLYOFFICE/DocumentServer#2405) writes `dcterms:modified` as
    the local wall-clock time of the machine with a `Z` suffix: saved at 20:00 in Vietnam, the
    file says 20:00Z, seven hours late. Its .ods (naive local time) and .xls (true UTC) are right.
    """
    part = "docProps/app.xml"
    if part not in names or zf.getinfo(part).file_size >= 1 << 20:
        return False
    return _LIBREOFFICE_APP.search(zf.read(part)) is not None


def _ole_last_saved(stream: bytes) -> datetime | None:
    """PIDSI_LASTSAVE_DTM from an OLE summary-information property set, read by hand: olefile's
    get_metadata trusts vector counts in the file and can loop for a long time on a damaged one."""
    if len(stream) < 48:
        return None
    section = int.from_bytes(stream[44:48], "little")
    if section + 8 > len(stream):
        return None
    count = int.from_bytes(stream[section + 4 : section + 8], "little")
    for i in range(min(count, 256)):
        entry = section + 8 + 8 * i
        if entry + 8 > len(stream):
            return None
        prop = int.from_bytes(stream[entry : entry + 4], "little")
        offset = section + int.from_bytes(stream[entry + 4 : entry + 8], "little")
        if prop == 13 and offset + 12 <= len(stream):  # VT_FILETIME: 100 ns since 1601-01-01 UTC
            if int.from_bytes(stream[offset : offset + 4], "little") != 64:
                return None
            ticks = int.from_bytes(stream[offset + 4 : offset + 12], "little")
            return datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10)
    return None


def _parse_timestamp(text: str) -> datetime:
    # LibreOffice writes nanoseconds and, in ods, local time without a zone: take it as Vietnam time.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.strip()).replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None
