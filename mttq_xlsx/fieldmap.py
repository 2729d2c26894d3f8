"""The `_mttq` sheet: the contract between a template and the program that reads it back. Written
(`sheet_rows`, for the template writer) and parsed (`parse`, for the reader and the tools) here only.

The sheet holds rows of `key | value` (`schema`, `report_id`, `spec_version`, `period`, …), one
empty row, the header `MAP_HEADER`, then a row per field: where its value is (a cell, or a column
range for a table column) and the label beside it. The reader reads every file by its own map, so
a template made for an older spec version still reads. A file made by a newer program — a newer
`schema` or a newer `spec_version` than this program knows — is rejected as `newer_spec`: its map
may mean something this program cannot know, so nothing is guessed.

A roll-up (a unit's report made from its units' reports) names in the key `units_sheet` a sheet that
carries those units' own figures, a row each (`units_rows`, `parse_units`), so that the level above
can verify the roll-up against them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from . import __version__
from .cells import cell_index, cell_name
from .errors import Rejected
from .kept import Kept
from .model import SubUnit, Value

if TYPE_CHECKING:
    from .layout import SheetLayout
    from .periods import Period
    from .roster import Unit
    from .spec import Field, Spec

SCHEMA_PREFIX = "mttq-xlsx/template/"
SCHEMA_VERSION = 1
SCHEMA = f"{SCHEMA_PREFIX}{SCHEMA_VERSION}"
META_SHEET = "_mttq"
LISTS_SHEET = "_ds"  # the dropdown lists, a very hidden sheet beside it
MAP_HEADER = ("field_id", "form_id", "sheet", "cell", "type", "label_cell", "label")
UNITS_SHEET = "_donvi"  # a roll-up's units, a very hidden and protected sheet before `_ds`
UNITS_KEY = "units_sheet"  # the `_mttq` key that names it
UNITS_HEADER = ("unit_code", "unit_name")  # then one column per carried field, by its id
UPDATE = "Hãy cập nhật mttq-xlsx lên phiên bản mới nhất rồi chạy lại."


@dataclass(frozen=True)
class MapRow:
    """One field of the map: where its value is and the label beside it."""

    field_id: str
    form_id: str
    sheet: str
    cell: str  # "D12" or a column range "B8:B27"
    type: str
    label_cell: str = ""
    label: str = ""


@dataclass(frozen=True)
class FieldMap:
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
    # the cells to read from an xlsx's sheet parts: (field id, sheet, b"D12" or a list of them),
    # in the order of `reads`; None when a read or a label cell is not a cell address
    xml_reads: tuple[tuple[str, str, Any], ...] | None = None
    # each label of `labels`: (sheet, b"B5", the label, the label with its spaces collapsed)
    xml_labels: tuple[tuple[str, bytes, str, str], ...] = ()


def sheet_rows(
    spec: Spec,
    layouts: Sequence[SheetLayout],
    period: Period,
    unit: Unit | None,
    generated_at: datetime,
    with_units: bool = False,
) -> list[tuple[str, ...]]:
    """Every row of the `_mttq` sheet of a template, in order; () is an empty row. `with_units`:
    the workbook is a roll-up that carries its units' rows in `UNITS_SHEET`."""
    keys = [
        ("schema", SCHEMA),
        ("report_id", spec.id),
        ("spec_version", spec.version),
        ("period", period.id),
        ("period_start", period.start.isoformat()),
        ("period_end", period.end.isoformat()),
        ("unit_code", unit.code if unit else ""),
        ("unit_name", unit.name if unit else ""),
        ("generated_at", generated_at.isoformat()),
        ("generator", f"mttq-xlsx {__version__}"),
        *([(UNITS_KEY, UNITS_SHEET)] if with_units else []),
    ]
    rows: list[tuple[str, ...]] = [*keys, (), MAP_HEADER]
    for layout in layouts:
        for f in layout.form.fields:
            p = layout.positions[f.id]
            rows.append((f.id, f.form_id, layout.form.sheet, p.ref, f.type, p.label_ref, p.label))
    return rows


def carried_fields(spec: Spec) -> list[Field]:
    """The fields a roll-up carries for each of its units: every field of the forms outside tables
    (a table's rows are gathered in the roll-up itself, each naming its unit), but ratios, which
    follow from their parts."""
    return [f for form in spec.forms for f in form.fields if not f.table and f.type != "ratio"]


def units_rows(spec: Spec, units: Iterable[SubUnit]) -> list[list[Value]]:
    """Every row of a roll-up's `UNITS_SHEET`: the header, then a row per unit; a date as ISO text,
    a blank as None."""
    fields = carried_fields(spec)
    rows: list[list[Value]] = [[*UNITS_HEADER, *(f.id for f in fields)]]
    for u in units:
        rows.append([u.code, u.name, *(_cell(u.values.get(f.id)) for f in fields)])
    return rows


def _cell(value: Value | list[Value]) -> Value:
    if isinstance(value, date):
        return value.isoformat()
    return None if isinstance(value, list) else value


def parse_units(rows: list[list[Any]]) -> list[SubUnit]:
    """The units of a `UNITS_SHEET`'s rows, as a spreadsheet library reads them; [] when its header
    is not `unit_code | unit_name | …`."""
    if not rows or [_text(c) for c in rows[0][:2]] != list(UNITS_HEADER):
        return []
    ids = [_restore_escapes(_text(c)) for c in rows[0][2:]]
    units = []
    for row in rows[1:]:
        unit_code = _text(row[0]).removesuffix(".0") if row else ""
        if not unit_code:
            continue
        values: dict[str, Value | list[Value]] = {
            fid: _carried(v) for fid, v in zip(ids, row[2:], strict=False) if fid
        }
        units.append(SubUnit(unit_code, _text(row[1]) if len(row) > 1 else "", values))
    return units


def _text(cell: Any) -> str:
    return unicodedata.normalize("NFC", str(cell)).strip() if cell is not None else ""


def _carried(cell: Any) -> Value:
    """A carried value as it was written: a whole number as an int, a blank as None."""
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    if isinstance(cell, str):
        return _text(cell) or None
    return cell if isinstance(cell, int | float | date) else None


# Field maps already parsed, by the raw rows below their header. Every file made from one
# template version carries the same map, so it is parsed and checked once, not once per file.
_MAPS: Kept[tuple[tuple[Any, ...], ...], FieldMap] = Kept(16)


def parse(rows: list[list[Any]]) -> tuple[dict[str, str], FieldMap]:
    """The keys and the field map of a `_mttq` sheet's rows (cells as a spreadsheet library reads
    them); raises Rejected when the sheet is not one this program can read."""
    meta: dict[str, str] = {}
    start = len(rows)
    for i, row in enumerate(rows):
        cells = [str(c).strip() if c is not None else "" for c in row]
        if not any(cells):
            continue
        if cells[0] == MAP_HEADER[0]:
            start = i + 1
            break
        meta[cells[0]] = cells[1] if len(cells) > 1 else ""
    key = tuple(map(tuple, rows[start:]))
    fmap = _MAPS.get(key)
    if fmap is None:
        fmap = _parse_map(rows[start:])
        # Keep only maps made of text: a text never equals a number, so a hit is the same map.
        if all(type(c) is str for row in key for c in row):
            _MAPS.keep(key, fmap)
    schema = meta.get("schema", "")
    if schema != SCHEMA and _newer(schema.removeprefix(SCHEMA_PREFIX), str(SCHEMA_VERSION)):
        raise Rejected(
            "newer_spec",
            f"Mẫu biểu được tạo bằng phiên bản mới hơn của mttq-xlsx (định dạng {schema}), phiên bản "
            f"này chưa đọc được. {UPDATE}",
        )
    if schema != SCHEMA or not fmap.rows:
        raise Rejected("not_a_template", "Trang thông tin ẩn “_mttq” của tệp bị hỏng hoặc không đúng mẫu.")
    if fmap.error:
        raise Rejected("not_a_template", f"Bảng vị trí ô trong “_mttq” có ô sai: {fmap.error}.")
    return meta, fmap


def check_version(meta: dict[str, str], spec: Spec) -> None:
    """Raise Rejected when the file's spec version is newer than the program's: an older (or the
    same) version reads by the file's own map."""
    version = meta.get("spec_version", "")
    if _newer(version, spec.version):
        raise Rejected(
            "newer_spec",
            f"Mẫu biểu được tạo bằng phiên bản mới hơn của mttq-xlsx: báo cáo {spec.id} phiên bản "
            f"{version}, phiên bản này chỉ biết đến phiên bản {spec.version}. {UPDATE}",
        )


def _newer(version: str, known: str) -> bool:
    """Whether `version` ("2", "1.3") is later than `known`; False when it is not a version."""
    parts = version.split(".")
    if not all(p.isascii() and p.isdigit() for p in parts):
        return False
    return tuple(map(int, parts)) > tuple(map(int, known.split(".")))


def _parse_map(rows: list[list[Any]]) -> FieldMap:
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
    labels = tuple(_label_positions(field_map))
    xml_reads = None
    if all(where is not None for *_, where in reads) and all(where for *_, where in labels):
        xml_reads = tuple(
            (field_id, sheet, [_address(at) for at in where] if type(where) is list else _address(where))
            for field_id, sheet, _cell, where in reads
        )
    return FieldMap(
        rows=tuple(field_map),
        sheets=tuple(dict.fromkeys(r.sheet for r in field_map)),
        reads=tuple(reads),
        cells={r.field_id: (r.sheet, r.cell) for r in field_map},
        labels=labels,
        error=error,
        xml_reads=xml_reads,
        xml_labels=tuple(
            (row.sheet, _address(where), row.label, " ".join(row.label.split()))
            for _key, row, where in labels
            if where
        ),
    )


def _address(where: tuple[int, int]) -> bytes:
    """(11, 3) -> b"D12": a cell's address as an xlsx sheet part writes it."""
    return cell_name(*where).encode()


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
