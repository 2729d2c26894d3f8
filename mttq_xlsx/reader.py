"""Read one filled workbook (xlsx, xlsm, xls, ods; any program) into a Submission.

The field map comes from the file's own `_mttq` sheet, so templates of older spec versions still
read. Anything that makes the file unusable is raised as `Rejected` with a stable code.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from . import container, fieldmap, rawcells, savedtime, xlsxcells, xlsxtext
from .cells import cell_index, cell_name
from .codes import ERROR, WARNING
from .container import MAX_CELLS, NO_PASSWORD, Container, damaged, said
from .errors import Rejected
from .fieldmap import LISTS_SHEET, META_SHEET, UNITS_SHEET, FieldMap, MapRow
from .kept import Kept
from .model import FileRecord, Issue, Submission, SubUnit


@dataclass(frozen=True)
class ReadOptions:
    password: str | None = None


def file_record(path: Path, rel: str) -> tuple[FileRecord, bytes]:
    data = path.read_bytes()
    return FileRecord(path=rel, sha256=hashlib.sha256(data).hexdigest()), data


def read_submission(path: Path, rel: str, options: ReadOptions) -> tuple[FileRecord, Submission]:
    """Read `path`; raises Rejected on failure."""
    record, data = file_record(path, rel)
    return record, read_bytes(record, data, lambda: savedtime.modified_at(path), options)


def read_bytes(
    record: FileRecord, data: bytes, fallback: Callable[[], datetime], options: ReadOptions
) -> Submission:
    """Read a file's `data`; raises Rejected on failure, with `record` filled as far as known.
    `fallback()` is the file's time when the workbook has no saved time of its own."""
    rel = record.path
    archive = Container(data)  # read once for the timestamp and the raw checks
    if archive.encrypted:
        data = container.decrypted(data, archive.encrypted, options.password)
        archive = Container(data)
    saved_at = savedtime.saved_at(archive) or fallback()
    record.saved_at = saved_at
    workbook = _Book(data, archive)
    meta, fmap = read_meta(workbook, archive)
    record.report_id = meta.get("report_id", "")
    record.period = meta.get("period", "")
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
    found = _xml_values(workbook, fmap, archive)
    notes: list[Issue] = []
    if found is not None:  # read without calamine; every label in its place
        values.update(found)
        submission.cells = fmap.cells
    else:
        sheets = {name: _load_sheet(workbook, name, archive) for name in fmap.sheets}
        shifts, notes = _locate(fmap, sheets, rel)
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
    units_sheet = meta.get(fieldmap.UNITS_KEY)
    if units_sheet:
        submission.sub_units, missing = _sub_units(workbook, units_sheet, rel)
        submission.issues += missing
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
    return _label(_value(grid, row, col))


def _label(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _xml_values(workbook: _Book, fmap: FieldMap, archive: Container) -> dict[str, Any] | None:
    """The values of an xlsx's fields read straight from its sheet parts (inflated once, for the
    far-cell guard and here), when every cell needed is written plainly and every label is in its
    place; None otherwise, and calamine reads the file. Refuses what `_load_sheet` refuses."""
    book = xlsxcells.book(archive)
    if book is None:
        return None
    sheets = {}
    for name in fmap.sheets:
        if name not in workbook.sheet_names:
            raise _missing(name)
        container.guard_sheet(archive, name)
        (part,) = archive.sheet_parts(name)
        sheet = xlsxcells.sheet(archive.read(part), book)
        if sheet is None:
            return None
        sheets[name] = sheet
    if fmap.xml_reads is None or not _labels_in_place(fmap, sheets):
        return None  # moved or edited: calamine reads the sheets, and `_locate` says what
    values: dict[str, Any] = {}
    unread = xlsxcells.UNREAD
    for field_id, name, ref in fmap.xml_reads:
        value = sheets[name].value
        if type(ref) is list:
            raws = [value(at) for at in ref]
            if unread in raws:
                return None
            values[field_id] = [_clean(v) for v in raws]
        else:
            raw = value(ref)
            if raw is unread:
                return None
            values[field_id] = _clean(raw)
    return values


# the label cells of files whose labels were found in place, as written (strings in the cell itself)
_placed: Kept[tuple[tuple[tuple[str, bytes, str, str], ...], tuple[bytes, ...]], bool] = Kept(64)
_PLACED_KEPT_BYTES = 65_536  # a template's label cells take about 12 kB


def _labels_in_place(fmap: FieldMap, sheets: dict[str, xlsxcells.Sheet]) -> bool:
    """Whether every label of the map is where the map says. Every file of a template saved by one
    program writes its labels alike: when they are written in the cells themselves (not as shared
    strings, whose table differs from file to file), the same cells as a file's already checked
    mean the same labels."""
    written = tuple([sheets[sheet].written(ref) for sheet, ref, _label_text, _spaced in fmap.xml_labels])
    labels = fmap.xml_labels
    key = (labels, written)
    if key in _placed:
        return True
    for sheet, ref, label, spaced in labels:
        raw = sheets[sheet].value(ref)
        if raw is xlsxcells.UNREAD:
            return False
        if raw != label and _label(_clean(raw)) != spaced:
            return False
    size = sum(map(len, written)) + sum(len(label) for _sheet, _ref, label, _spaced in labels)
    if not any(b't="s"' in cell for cell in written) and size <= _PLACED_KEPT_BYTES:
        _placed.keep(key, True)
    return True


def _locate(
    fmap: FieldMap, sheets: dict[str, list[list[Any]]], rel: str
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


def _workbook_notes(workbook: _Book, fmap: FieldMap, archive: Container, rel: str) -> list[Issue]:
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
    known = {*fmap.sheets, META_SHEET, LISTS_SHEET, UNITS_SHEET}
    for name, visible in workbook.listed:
        if name not in known and visible:
            notes.append(
                Issue(
                    WARNING,
                    rel,
                    "extra_sheet",
                    f"Tệp có thêm trang tính “{name}” không thuộc mẫu biểu; số liệu ở trang "
                    "đó không được đọc. Mỗi đơn vị hãy gửi một tệp riêng.",
                    sheet=name,
                )
            )
    return notes


def _sub_units(workbook: _Book, name: str, rel: str) -> tuple[list[SubUnit], list[Issue]]:
    """A roll-up's units from the sheet its `_mttq` names; a warning when the sheet is gone."""
    units = fieldmap.parse_units(_load_sheet(workbook, name)) if name in workbook.sheet_names else []
    if units:
        return units, []
    return [], [
        Issue(
            WARNING,
            rel,
            "rollup_rows_missing",
            f"Tệp là báo cáo tổng hợp nhưng trang ẩn “{name}” ghi số liệu của các đơn vị trực thuộc "
            "đã bị xóa hoặc bị sửa, nên không đối chiếu được số liệu tổng hợp với các đơn vị. "
            "Hãy gửi lại tệp tổng hợp do mttq-xlsx ghi.",
            sheet=name,
        )
    ]


def _value(grid: list[list[Any]], row: int, col: int) -> Any:
    if row >= len(grid):
        return None
    line = grid[row]
    if col >= len(line):
        return None
    return _clean(line[col])


def _clean(value: Any) -> Any:
    """A cell as calamine reads it -> its value: texts in NFC without surrounding spaces, a blank
    as None, a date at midnight as a date."""
    if isinstance(value, str):
        if not value:
            return None  # an empty cell: the most common value by far
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    return value


def _error_value_issues(archive: Container, sub: Submission, rel: str) -> list[Issue]:
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


class _Book:
    """A workbook as the reader sees it, once the file passed the guards: its sheets, listed from an
    xlsx's own parts where they are written plainly, and calamine, opened only when a sheet is read
    by it (or to list the sheets of any other file)."""

    def __init__(self, data: bytes, archive: Container) -> None:
        container.guard(data, archive)
        self._data = data
        self._calamine: CalamineWorkbook | None = None
        listed = archive.sheet_list()
        if listed is None:
            listed = tuple(
                (m.name, str(m.visible).endswith("Visible")) for m in self.calamine.sheets_metadata
            )
            self.sheet_names = list(self.calamine.sheet_names)
        else:
            self.sheet_names = [name for name, _ in listed]
        self.listed = listed  # (name, visible) of every sheet

    @property
    def calamine(self) -> CalamineWorkbook:
        if self._calamine is None:
            try:
                self._calamine = CalamineWorkbook.from_filelike(io.BytesIO(self._data))
            except Exception as exc:  # calamine raises its own error types for every kind of damage
                if "password" in str(exc).lower():
                    raise Rejected("password_protected", NO_PASSWORD, said(exc)) from exc
                raise damaged(exc) from exc
        return self._calamine

    def get_sheet_by_name(self, name: str) -> Any:
        return self.calamine.get_sheet_by_name(name)


def _missing(name: str) -> Rejected:
    return Rejected(
        "sheet_missing",
        f"Không thấy trang tính “{name}” (có thể đã bị đổi tên hoặc xóa). Hãy dùng lại mẫu biểu gốc.",
    )


def _load_sheet(
    workbook: _Book | CalamineWorkbook, name: str, archive: Container | None = None
) -> list[list[Any]]:
    if name not in workbook.sheet_names:
        raise _missing(name)
    if archive is not None:
        container.guard_sheet(archive, name)
    try:
        sheet = workbook.get_sheet_by_name(name)
        # read from A1, so the rows and columns before the first cell count too
        end_row, end_col = sheet.end or (-1, -1)
        if (end_row + 1) * (end_col + 1) > MAX_CELLS:
            raise Rejected("file_too_large", container.too_many_cells((end_row + 1) * (end_col + 1), name))
        return sheet.to_python(skip_empty_area=False)
    except Rejected:
        raise
    except Exception as exc:
        raise damaged(exc, name) from exc


def read_meta(
    workbook: _Book | CalamineWorkbook, archive: Container | None = None
) -> tuple[dict[str, str], FieldMap]:
    """The keys and the field map of a workbook's `_mttq` sheet; raises Rejected. With the file's
    `archive`, the sheet is checked before calamine reads it."""
    if META_SHEET not in workbook.sheet_names:
        raise Rejected(
            "not_a_template",
            "Tệp không phải mẫu biểu của mttq-xlsx (không có trang thông tin ẩn “_mttq”). "
            "Hãy điền số liệu vào mẫu biểu đã được gửi.",
        )
    rows = _text_sheet(archive, META_SHEET) if archive is not None else None
    return fieldmap.parse(rows if rows is not None else _load_sheet(workbook, META_SHEET, archive))


def _text_sheet(archive: Container, name: str) -> list[list[Any]] | None:
    """An xlsx sheet of plain texts (the `_mttq` sheet as programs save it) read without calamine,
    the same as calamine reads it; None when it is not such a sheet, or not an xlsx."""
    if not archive.is_xlsx:
        return None
    parts = archive.sheet_parts(name)
    if len(parts) != 1:
        return None
    strings = archive.member(xlsxtext.SHARED_STRINGS)
    return xlsxtext.text_grid(archive.read(parts[0]), archive.read(strings) if strings else b"")
