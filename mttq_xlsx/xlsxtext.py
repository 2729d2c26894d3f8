"""Read an xlsx sheet made only of text cells without calamine: the `_mttq` sheet, as every program
saves it, is several hundred strings, and calamine takes longer over it than over the sheet of
figures.

`text_grid` gives the grid calamine's `to_python(skip_empty_area=False)` gives for the sheet, or
None whenever the sheet or its strings are written in any other way than the plain ones read here
(a number, a formula, a rich or phonetic string, an escaped character, attributes in another
order, a cell outside its row, a cell far away…): the caller then has calamine read the sheet,
guarded as any other. Every file made from one template repeats the same rows, so each row is
read once: by its bytes, with each shared string's index replaced by the string's own bytes.
"""

from __future__ import annotations

import operator
import re

from .cells import cell_index
from .kept import Kept

SHARED_STRINGS = "xl/sharedStrings.xml"  # where calamine looks for them
_MOST_CELLS = 100_000  # a field map has about a thousand; past this, calamine reads it, guarded
_ROWS_KEPT = 4_096  # rows remembered across files (a template's map has about a hundred)
_ROW_KEPT_BYTES = 8_192  # a field map's row takes well under 2 kB

_INDEX = re.compile(rb"<v>([0-9]{1,9})</v>")  # a shared string's index, as every program writes it
_ROW = re.compile(rb'<row r="([1-9][0-9]{0,6})"[^>]*>')
# what a cell's string may hold: never the start or end of a cell, so that no attempt at a match
# reads past its own cell (the time stays in proportion to the sheet, whatever it holds)
_IN_CELL = rb"(?:[^<]|<(?!c[\s>/]|/c>))*?"
# a cell as Excel, LibreOffice and xlsxwriter write it (a shared string, here with the string's
# `<si>` content in place of its index), as openpyxl writes it (an inline string), or a cell with
# nothing in it; by its address
_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"(?: s="[0-9]{1,5}")?(?: t="(s|inlineStr)")?'
    rb"(?:/>|>(?:(" + _IN_CELL + rb")</si>|<is>(" + _IN_CELL + rb")</is>)?</c>)"
)
_PLAIN = re.compile(rb'<t( xml:space="preserve")?>([^<]*)</t>')
_REFERENCE = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_ESCAPE = re.compile(rb"_[xX][0-9A-Fa-f]{4}_")  # Excel's escape of a character, which calamine undoes

Row = tuple[int, list[str]]  # (zero-based row, its texts from column A) of one row element
_rows: Kept[bytes, Row | None] = Kept(_ROWS_KEPT)


def sheet_data(sheet_xml: bytes) -> bytes | None:
    """What is between `<sheetData>` and the last `</sheetData>`; None when there is none."""
    start, end = sheet_xml.find(b"<sheetData>"), sheet_xml.rfind(b"</sheetData>")
    return sheet_xml[start + len(b"<sheetData>") : end] if 0 <= start < end else None


def shared_strings(strings_xml: bytes) -> list[bytes] | None:
    """Each `<si>`'s content and its end tag, by index; None when the table is written otherwise
    (an `<si>` with attributes, an empty `<si/>`: either shifts every index)."""
    entries = strings_xml.split(b"<si>")
    if strings_xml.count(b"<si") != len(entries) - 1:
        return None
    last = entries[-1]
    entries[-1] = last[: last.rfind(b"</si>") + len(b"</si>")]  # without the end of the table
    return entries[1:]


def text_grid(sheet_xml: bytes, strings_xml: bytes) -> list[list[str]] | None:
    """The sheet's rows from A1 to its last text cell, "" where there is none; None when the sheet
    is not made of plain texts only. `strings_xml` is the workbook's shared strings (b"" if none)."""
    data = sheet_data(sheet_xml)
    if data is None:
        return None
    pieces = _INDEX.split(data) if b"<v>" in data else [data]  # xml, index, xml, index, …, xml
    if len(pieces) > 1:
        entries = shared_strings(strings_xml)
        if entries is None:
            return None
        try:
            found = operator.itemgetter(*map(int, pieces[1::2]))(entries)
        except IndexError:
            return None  # an index past the table, which calamine refuses
        pieces[1::2] = found if len(pieces) > 3 else [found]
    rows: dict[int, list[str]] = {}
    *elements, rest = b"".join(pieces).split(b"</row>")
    if b"<c" in rest:
        return None  # a cell outside any row
    for element in elements:
        if element in _rows:
            row = _rows[element]
        else:
            row = _read_row(element)
            if len(element) <= _ROW_KEPT_BYTES:  # a long row is no template's: not kept
                _rows.keep(element, row)
        if row is None or row[0] in rows:
            return None  # not plain texts, or two row elements for one row
        if row[1]:
            rows[row[0]] = row[1]  # calamine reads nothing from a row of empty cells
    if not rows:
        return None
    height, width = max(rows) + 1, max(map(len, rows.values()))
    if height * width > _MOST_CELLS:
        return None
    empty = [""] * width
    return [rows[r] + empty[len(rows[r]) :] if r in rows else empty[:] for r in range(height)]


def _read_row(element: bytes) -> Row | None:
    """One row element's texts; None when it holds anything else, or a cell of another row."""
    start = _ROW.match(element.lstrip())
    if start is None:
        return None
    row = int(start[1]) - 1
    cells = _CELL.findall(element)
    if len(cells) != element.count(b"<c"):
        return None  # a cell written in another way
    texts: dict[int, str] = {}
    for letters, digits, kind, shared, inline in cells:
        if int(digits) - 1 != row:
            return None
        col = cell_index(f"{letters.decode()}1")[1]
        if not kind:
            if shared or inline:
                return None  # a number: `shared` holds a string's content only after t="s"
            continue
        text = plain_text(shared if kind == b"s" else inline)
        if text is None or col in texts:
            return None
        texts[col] = text
    if not texts:
        return row, []
    line = [""] * (max(texts) + 1)
    for col, text in texts.items():
        line[col] = text
    return row, line


def plain_text(element: bytes) -> str | None:
    """The text of a plain `<t>` element; None for anything calamine may read otherwise (rich
    text, phonetic runs, an escaped character, a line end to normalise, untrimmed space)."""
    plain = _PLAIN.fullmatch(element)
    if plain is None:
        return None
    preserved, raw = plain.groups()
    if b"\r" in raw or _ESCAPE.search(raw):
        return None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return None
    if "&" in text:
        text = _unescaped(text)
    if text is None or (not preserved and text != text.strip()):
        return None  # calamine trims a text not marked to keep its spaces
    return text


def _unescaped(text: str) -> str | None:
    parts = _REFERENCE.split(text)
    if any("&" in part for part in parts[::4]):
        return None  # an entity XML does not know
    out = [parts[0]]
    for i in range(1, len(parts), 4):
        name, decimal, hexadecimal = parts[i : i + 3]
        if name:
            out.append(_NAMED[name])
        else:
            point = int(decimal) if decimal else int(hexadecimal, 16)
            if not (0 < point < 0xD800 or 0xDFFF < point <= 0x10FFFF):
                return None
            out.append(chr(point))
        out.append(parts[i + 3])
    return "".join(out)
