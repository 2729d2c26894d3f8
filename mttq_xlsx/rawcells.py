"""What calamine cannot tell us, read from the raw file.

python-calamine reads a cell holding an error value (#DIV/0!, #N/A…) as a blank, and allocates a
sheet's whole area, however far its last cell lies, before the reader can see the sheet's size.
These scans look at the file itself for both. They never raise: a damaged file gives what was found
before the damage, and calamine decides whether the file can be read at all.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from .cells import cell_name

ErrorCells = dict[str, dict[str, str]]  # sheet name -> cell ("D25") -> the error as the file shows it


@dataclass
class RawCells:
    """What a scan found, filled in as it goes, so that a scan cut short by damage keeps the rest."""

    errors: ErrorCells = field(default_factory=dict)
    # each sheet over the scan's limit -> the cells calamine would allocate for it
    too_large: dict[str, int] = field(default_factory=dict)
    damaged: set[str] = field(default_factory=set)  # sheets whose own size record cannot be true


def excel_error(text: str) -> str:
    """The Excel name of an error LibreOffice shows as `Err:NNN` ('' for any other text): what
    LibreOffice itself writes when it saves the file as xlsx or xls."""
    found = re.fullmatch(r"Err:(\d+)", text)
    if not found:
        return ""
    # IllegalArgument, IllegalParameter, PairExpected, OperatorExpected, VariableExpected,
    # ParameterExpected, CircularReference; LibreOffice saves every other Err code as #N/A
    return "#VALUE!" if int(found[1]) in {502, 504, 508, 509, 510, 511, 522} else "#N/A"


# ---------------------------------------------------------------------- xlsx: one worksheet part
# calamine keeps the cells it reads a value from and allocates from A1 to the farthest of them: a
# cell with nothing in it (`<c r="B9" s="3"/>`, formatting only), a row element (Excel writes
# `<row r="1048576" ht="30" customHeight="1"/>` once the height of a far row was changed, LibreOffice
# an empty `<row r="1048576" …></row>`) and the sheet's `<dimension>` (calamine reserves from it only
# below 100,000 cells) allocate nothing.
# First a bound from few matches: the addresses past row 9,999 or beyond column Z, of rows and cells
# (any attribute order, quotes, case or namespace prefix). Only when it is over the limit are the
# cells counted one by one.
# (an `r` attribute after any white space; the lookbehind keeps the quick search for "r=")
_XLSX_MAYBE_FAR = re.compile(rb"""r=["'](?<=\sr=["'])(?:[A-Za-z]{0,3}[0-9]{5}|[A-Za-z]{2})""")  # either below
_XLSX_FAR_ROW = re.compile(rb"""r=["'](?<=\sr=["'])[A-Za-z]{0,3}([0-9]{5,})""")
_XLSX_WIDE_COLUMN = re.compile(rb"""r=["'](?<=\sr=["'])([A-Za-z]{2,})[0-9]""")
# a cell holding something as every program writes it: address first, then a child element
_XLSX_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*(?<!/)>(?!\s*</)')
# any other way of writing rows and cells (a namespace prefix, attributes in another order or quoted
# otherwise, a cell without an address), walked tag by tag as calamine reads them
_XLSX_TAG = re.compile(
    rb"""<(/?)(?:[A-Za-z_][\w.-]*:)?(row|c)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(/?)>"""
)
_XLSX_R = re.compile(rb"""(?:^|\s)r\s*=\s*["']([A-Za-z]*)([0-9]*)["']""")
_XLSX_CLOSED = re.compile(rb"\s*</")
_XLSX_ERROR = re.compile(
    rb'<c r="([A-Z]{1,3}[0-9]{1,7})"[^>]*?\st="e"[^>]*>(?:<f[^>]*/>|<f[^>]*>.*?</f>)?<v>([^<]*)</v>'
)


def xlsx_sheet(xml: bytes, limit: int) -> tuple[int, dict[str, str]]:
    """The area calamine allocates for one worksheet part, from A1 to its farthest cell holding
    something (a bound of it, exact when the bound is over `limit`), and its cells holding an error
    value. Cells written without an address are counted only in the exact count: no program writes
    them so, and the reading worker's memory cap stops what gets past."""
    rows, cols = 9999, 26
    if _XLSX_MAYBE_FAR.search(xml):  # most sheets have no address past Z9999: one pass, no match
        rows = max(map(_number, _XLSX_FAR_ROW.findall(xml)), default=9999)
        cols = max(map(_column, set(_XLSX_WIDE_COLUMN.findall(xml))), default=26)
    if rows * cols > limit:
        rows, cols = _xlsx_extent(xml)
    errors = {}
    if b't="e"' in xml:
        errors = {ref.decode(): text.decode(errors="replace") for ref, text in _XLSX_ERROR.findall(xml)}
    return rows * cols, errors


def _xlsx_extent(xml: bytes) -> tuple[int, int]:
    """The rows and columns from A1 to the farthest cell holding something."""
    cells = _XLSX_CELL.findall(xml)
    # every cell with a start and an end tag ends with `</c>` (or `</x:c>`): as many ends as cells
    # holding something means that every cell was written the usual way, and none is empty
    if len(cells) != xml.count(b"c>"):
        return _xlsx_walk(xml)
    if not cells:
        return 0, 0
    letters, digits = zip(*cells, strict=True)
    return max(map(int, set(digits))), max(map(_column, set(letters)))


def _xlsx_walk(xml: bytes) -> tuple[int, int]:
    """Each cell placed as calamine places it (by its address, else after the previous cell, in the
    row after the previous row); self-closing elements count as a start and an end."""
    row = col = rows = cols = 0  # the next cell's zero-based position; the extent, one-based
    for tag in _XLSX_TAG.finditer(xml):
        end, name, attrs, closed = tag.groups()
        r = _XLSX_R.search(attrs) if attrs else None
        if name == b"row":
            if end:
                row, col = row + 1, 0
                continue
            if r and r[2]:
                row = _number(r[2]) - 1
            if closed:
                row, col = row + 1, 0
        elif not end:
            where = row
            if r and r[1] and r[2]:
                where, col = _number(r[2]) - 1, _column(r[1]) - 1
            if not closed and not _XLSX_CLOSED.match(xml, tag.end()):
                rows, cols = max(rows, where + 1), max(cols, col + 1)
            col += 1
    return rows, cols


def _column(letters: bytes) -> int:
    """b"AB" -> 28 (1-based), either case, as calamine reads it; past XFD anything large."""
    if len(letters) > 3:
        return 1 << 32
    col = 0
    for ch in letters.upper():
        col = col * 26 + ch - 64
    return col


def _number(digits: bytes) -> int:
    # longer than a u32 can hold: calamine's arithmetic wraps round to any row, so count the most
    return int(digits) if 0 < len(digits) <= 10 else 1 << 32


# ---------------------------------------------------------------------- xls: the BIFF8 Workbook stream
XLS_ERRORS = {
    0x00: "#NULL!",
    0x07: "#DIV/0!",
    0x0F: "#VALUE!",
    0x17: "#REF!",
    0x1D: "#NAME?",
    0x24: "#NUM!",
    0x2A: "#N/A",
}
_XLS_FORMULA_ERROR = b"\x00\x00\x00\xff\xff"  # the end of a FORMULA record's error result, as written
_XLS_BOOLERR = b"\x05\x02\x08"  # a BOOLERR record's header (a boolean or an error)
_XLS_MAX_SHEETS = 256


def scan_xls(stream: bytes, limit: int) -> RawCells:
    """Each sheet's DIMENSIONS record (calamine reserves that many cells for the sheet as it opens
    the file) and, when the stream may hold any, the cells whose value is an error."""
    found = RawCells()
    with contextlib.suppress(Exception):
        errors = _xls_may_hold_errors(stream)
        walked = 0  # sheets in stream order, none walked twice: damaged offsets cost no more time
        for name, offset in sorted(_xls_sheets(stream), key=lambda sheet: sheet[1]):
            if offset >= walked:
                walked = _scan_xls_sheet(stream, offset, name, limit, errors, found)
    return found


def xls_encrypted(stream: bytes) -> bool:
    """Whether the workbook globals hold a FILEPASS record (it comes before the sheets are listed)."""
    with contextlib.suppress(Exception):
        for typ, _, _ in _xls_records(stream, 0):
            if typ == 0x002F:
                return True
            if typ == 0x0085:  # BOUNDSHEET
                return False
    return False


def _xls_may_hold_errors(stream: bytes) -> bool:
    """A quick look for the bytes of an error value, so that a file without one is not walked."""
    pos = stream.find(_XLS_FORMULA_ERROR, 3)
    while pos >= 0:
        if stream[pos - 3] == 2 and stream[pos - 1] in XLS_ERRORS:
            return True
        pos = stream.find(_XLS_FORMULA_ERROR, pos + 1)
    return _XLS_BOOLERR in stream


def _xls_records(stream: bytes, pos: int) -> Iterator[tuple[int, bytes, int]]:
    """(type, body, where the next record starts) of each record from `pos` to the end of its
    substream."""
    while pos + 4 <= len(stream):
        typ, size = struct.unpack_from("<HH", stream, pos)
        pos += 4 + size
        yield typ, stream[pos - size : pos], pos
        if typ == 0x000A:  # EOF
            return


def _xls_sheets(stream: bytes) -> list[tuple[str, int]]:
    """(name, stream offset) of each sheet, from the BOUNDSHEET records of the workbook globals."""
    sheets: dict[int, str] = {}
    for typ, body, _ in _xls_records(stream, 0):
        if typ == 0x0809 and body[:2] != b"\x00\x06":  # BOF of another BIFF version than 8
            return []
        if typ == 0x002F:  # FILEPASS: every record body after it is encrypted
            return []
        if typ == 0x0085:  # BOUNDSHEET
            wide = body[7] & 1
            name = body[8 : 8 + body[6] * (1 + wide)].decode("utf-16-le" if wide else "latin-1")
            sheets.setdefault(int.from_bytes(body[:4], "little"), name)
        elif sheets:  # the BOUNDSHEET records are consecutive
            break
    return [(name, offset) for offset, name in sheets.items()][:_XLS_MAX_SHEETS]


def _scan_xls_sheet(stream: bytes, offset: int, name: str, limit: int, errors: bool, found: RawCells) -> int:
    """Where the walk stopped: after the sheet's DIMENSIONS record or, looking for error values,
    after its last record."""
    pos = offset
    for typ, body, pos in _xls_records(stream, offset):
        if typ == 0x0200 and len(body) >= 12:  # DIMENSIONS, in calamine's arithmetic (u32, wrapping)
            first_row, end_row, first_col, end_col = struct.unpack_from("<IIHH", body)
            if end_row and end_col:
                if end_row < first_row or end_col < first_col:  # calamine would wrap round to billions
                    found.damaged.add(name)
                area = (end_row - first_row) % (1 << 32) * ((end_col - first_col) % (1 << 32))
                if area > limit:
                    found.too_large[name] = area
            if not errors:
                return pos
        elif typ == 0x0006 and len(body) >= 14 and body[6] == 2 and body[12:14] == b"\xff\xff":  # FORMULA
            _xls_error(body, body[8], name, found)
        elif typ == 0x0205 and len(body) >= 8 and body[7] == 1:  # BOOLERR holding an error
            _xls_error(body, body[6], name, found)
    return pos


def _xls_error(body: bytes, code: int, sheet: str, found: RawCells) -> None:
    if code in XLS_ERRORS:
        row, col = struct.unpack_from("<HH", body)
        found.errors.setdefault(sheet, {})[cell_name(row, col)] = XLS_ERRORS[code]


# ---------------------------------------------------------------------- ods: content.xml
_ODS_NAME = re.compile(rb'<table:table [^>]*?table:name="([^"]*)"')
# every repeat but LibreOffice's empty cell that ends a row, which nothing follows: matched, the
# possessive empty group 2 marks a cell with no other attribute, then refused if it ends the row
_ODS_REPEATS = re.compile(
    rb'table:number-(rows|columns)-repeated="((?<=<table:table-cell table:number-columns-repeated="))?+'
    rb'([0-9]+)"(?(2)(?!/></table:table-row>))'
)
_ODS_VALUE_MARKS = (b'value-type="', b'value="', b'table:formula="')  # what calamine reads as not empty
_ODS_TAG = re.compile(rb"<table:(table-row|table-cell|covered-table-cell)(?=[\s/>])([^>]*)>")
_ODS_REPEATED = re.compile(rb'number-(?:rows|columns)-repeated="([0-9]+)"')
_ODS_TEXT = re.compile(rb"\s*<text:p[^>]*>([^<]*)")
_ODS_SPREAD = 64  # rows and columns of one repeated error cell that are listed


def scan_ods(content: bytes, limit: int) -> RawCells:
    """Each table's area as calamine allocates it (down to its last row holding a value or formula,
    across to its last such column) and the cells whose value is an error (LibreOffice writes
    `calcext:value-type="error"` and the error's text, such as #DIV/0! or Err:502)."""
    found = RawCells()
    with contextlib.suppress(Exception):
        starts = [content.find(b"<table:table ")]
        while starts[-1] >= 0:
            starts.append(content.find(b"<table:table ", starts[-1] + 1))
        for start, end in itertools.pairwise([*starts[:-1], len(content)]):
            name = _ODS_NAME.match(content, start)
            last = max(content.rfind(mark, start, end) for mark in _ODS_VALUE_MARKS)
            if name is None or last < 0:
                continue  # calamine skips a table without a name; an empty one allocates nothing
            end = content.find(b">", last, end) + 1 or end  # the end of the last value's cell tag
            rows = content.count(b"<table:table-row", start, end)  # from here on, upper bounds counted in C
            cols = content.count(b"table-cell", start, end)  # start and end tags of both kinds of cell
            first_row = content.find(b"<table:table-row", start, end)  # column definitions come before it
            for kind, _, count in _ODS_REPEATS.findall(content, first_row, end):
                if kind == b"rows":
                    rows += int(count) - 1
                else:
                    cols += int(count) - 1
            if rows * cols > limit or content.find(b'value-type="error"', start, end) >= 0:
                _walk_ods_table(content, start, end, html.unescape(name[1].decode()), limit, found)
    return found


def _walk_ods_table(content: bytes, start: int, end: int, name: str, limit: int, found: RawCells) -> None:
    """Cell by cell: the exact area and the error cells of one table."""
    row = next_row = col = 0
    rows = cols = 0
    for tag in _ODS_TAG.finditer(content, start, end):
        kind, attrs = tag[1], tag[2]
        repeated = _ODS_REPEATED.search(attrs)
        count = int(repeated[1]) if repeated else 1
        if kind == b"table-row":
            row, next_row, col = next_row, next_row + count, 0
            continue
        if any(mark in attrs for mark in _ODS_VALUE_MARKS):
            rows, cols = max(rows, next_row), max(cols, col + count)
            if b'value-type="error"' in attrs:
                text = _ODS_TEXT.match(content, tag.end())
                shown = html.unescape(text[1].decode()) if text else ""
                errors = found.errors.setdefault(name, {})
                for r in range(row, min(next_row, row + _ODS_SPREAD)):
                    for c in range(col, min(col + count, col + _ODS_SPREAD)):
                        errors[cell_name(r, c)] = shown
        col += count
    if rows * cols > limit:
        found.too_large[name] = rows * cols
