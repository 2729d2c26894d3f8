"""Read single cells of an xlsx sheet without calamine: the few hundred cells a field map uses, from
the sheet part the far-cell guard has already inflated, instead of having calamine inflate and read
the sheets again.

`Sheet.value` gives what calamine's `to_python(skip_empty_area=False)` gives at a cell ("" for a
cell with nothing in it), or UNREAD whenever the cell, its string or its style is written in any
other way than the plain ones read here: a cell holding an error, a rich or escaped string, a
number in a format that is neither a plain number nor a plain date, a date before March 1900 or
in the 1904 system… The caller then has calamine read the whole file. A sheet
written in any unusual way (a cell without its address first, an attribute calamine may read, two
cells at one address, a DOCTYPE or a comment) is not read at all (`sheet` gives None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from . import xlsxtext
from .kept import Kept

if TYPE_CHECKING:
    from .container import Container

UNREAD: Any = object()  # what a cell holds when it is not read here

_CELL_START = b'<c r="'
_REF = re.compile(rb'<c r="([A-Z]{1,3}[1-9][0-9]{0,6})"')
# the rest of a cell's start tag, after its address: its style and its type
_CELL = re.compile(rb'[A-Z]{1,3}[1-9][0-9]{0,6}"(?: s="([0-9]{1,5})")?(?: t="([a-zA-Z]{1,9})")?\s*(/?)>')
# a cell's content as every program writes it: a cached formula result after its formula, or a value
_VALUE = re.compile(rb"(?:<f(?:\s[^>]*)?/>|<f(?:\s[^>]*)?>[^<]*</f>)?(?:<v>([^<]*)</v>|<v\s*/>)?")
_NUMBER_TEXT = rb"-?[0-9]{1,15}(?:\.[0-9]{1,17})?(?:[eE][-+]?[0-9]{1,3})?"
_NUMBER = re.compile(_NUMBER_TEXT)
# the most common cell of all, a plain number, read in one step (a case of what `_CELL` reads)
_NUMBER_CELL = re.compile(
    rb'[A-Z]{1,3}[1-9][0-9]{0,6}"(?: s="([0-9]{1,5})")?(?: t="n")?><v>(' + _NUMBER_TEXT + rb")</v></c>"
)
_SHARED = re.compile(rb"<v>([0-9]{1,9})</v>")

# styles: each cell format's number format, as calamine tells dates from numbers
_CELL_XFS = re.compile(rb"<cellXfs(?:\s[^>]*)?>(.*?)</cellXfs>", re.S)
_XF = re.compile(rb"<xf(?=[\s/>])([^>]*)")
_XF_FORMAT = re.compile(rb'\snumFmtId="([0-9]{1,5})"')
_NUM_FMT = re.compile(rb'<numFmt numFmtId="([0-9]{1,5})" formatCode="([^"]*)"\s*/>')
_PLAIN_NUMBER = re.compile(rb"General|@|[#0,.%]+")
# days, months and years with separators, after a locale: `[$-409]yyyy\-mm\-dd`, `dd/mm/yyyy`
_PLAIN_DATE = re.compile(rb"(?:\[\$-[0-9A-Fa-f]{1,8}\])?(?:[dmyDMY]|\\[-/. ]|[-/. ])+")
_BUILTIN_NUMBERS = {0, 1, 2, 3, 4, 9, 10, 11, 12, 13, 37, 38, 39, 40, 48, 49}
_BUILTIN_DATES = {14, 15, 16, 17}
NUMBER, DATE = "number", "date"  # a format's kind; '' for any other
_EPOCH = date(1899, 12, 30)
_DATES_1900 = re.compile(rb'\sdate1904="(?:false|0)"')  # as LibreOffice writes it; any other: 1904 maybe
_FIRST_DAY, _LAST_DAY = 61, 2_958_465  # 1900-03-01 (calamine's 1900 leap day before it), 9999-12-31
_STYLES_KEPT_BYTES = 65_536  # a workbook's styles take 5-40 kB
_styles: Kept[bytes, list[str] | None] = Kept(64)


def formats(styles_xml: bytes) -> list[str] | None:
    """The kind of number format of each cell format (`s`), by index; None when the styles are
    written in an unusual way. Files of one template saved by one program share their styles."""
    if styles_xml in _styles:
        return _styles[styles_xml]
    kinds = _formats(styles_xml)
    if len(styles_xml) <= _STYLES_KEPT_BYTES:
        _styles.keep(styles_xml, kinds)
    return kinds


def _formats(styles_xml: bytes) -> list[str] | None:
    if b"<!" in styles_xml:
        return None
    xfs = _CELL_XFS.search(styles_xml)
    if xfs is None:
        return None
    custom = {int(i): code for i, code in _NUM_FMT.findall(styles_xml)}
    if len(custom) != styles_xml.count(b"<numFmt "):
        return None
    kinds = []
    for attrs in _XF.findall(xfs[1]):
        found = _XF_FORMAT.search(attrs)
        kinds.append(_kind(int(found[1]) if found else 0, custom))
    return kinds


def _kind(number_format: int, custom: dict[int, bytes]) -> str:
    builtin = NUMBER if number_format in _BUILTIN_NUMBERS else DATE if number_format in _BUILTIN_DATES else ""
    code = custom.get(number_format)
    if code is None:
        return builtin if number_format < 164 else ""
    kind = ""
    if _PLAIN_NUMBER.fullmatch(code):
        kind = NUMBER
    elif _PLAIN_DATE.fullmatch(code) and re.search(rb"[dmyDMY]", code):
        kind = DATE
    return kind if number_format >= 164 or kind == builtin else ""


@dataclass(frozen=True)
class Book:
    """What the cells of every sheet of an xlsx are read with."""

    strings: list[bytes]  # the shared strings (`xlsxtext.shared_strings`)
    kinds: list[str]  # the kind of each cell format's number format
    dates: bool  # False in the 1904 date system


def book(archive: Container) -> Book | None:
    """The shared strings and the styles of an xlsx; None when either is written unusually (or the
    file is not an xlsx whose sheets are listed plainly)."""
    if archive.sheet_list() is None:
        return None
    strings: list[bytes] | None = []
    part = archive.member(xlsxtext.SHARED_STRINGS)
    if part:
        raw = archive.read(part)
        strings = xlsxtext.shared_strings(raw) if b"<!" not in raw else None
    part = archive.member("xl/styles.xml")
    kinds = formats(archive.read(part)) if part else [NUMBER]
    if strings is None or kinds is None:
        return None
    workbook = archive.read(archive.member("xl/workbook.xml") or "")
    return Book(strings, kinds, workbook.count(b"date1904") == len(_DATES_1900.findall(workbook)))


class Sheet:
    """The cells of one sheet part, each read only when asked for."""

    def __init__(self, at: dict[bytes, int], pieces: list[bytes], book: Book) -> None:
        self.at = at  # a cell's address -> its piece: the sheet's data from that cell to the next
        self.pieces = pieces
        self.strings = book.strings
        self.kinds = book.kinds
        self.dates = book.dates

    def written(self, ref: bytes) -> bytes:
        """The cell `ref` as written, up to the next cell (b"" when there is none)."""
        at = self.at.get(ref)
        return b"" if at is None else self.pieces[at]

    def value(self, ref: bytes) -> Any:
        """What calamine reads at the cell `ref` (b"D12"), or UNREAD."""
        at = self.at.get(ref)
        if at is None:
            return ""
        piece = self.pieces[at]
        number = _NUMBER_CELL.match(piece)
        if number is not None:
            return self._typed(float(number[2]), number[1])
        cell = _CELL.match(piece)
        if cell is None:
            return UNREAD
        style, kind, closed = cell.groups(b"")
        if closed:
            content = b""
        else:
            end = piece.find(b"</c>", cell.end())
            if end < 0:
                return UNREAD
            content = piece[cell.end() : end]
        if not kind or kind == b"n":
            return self._number(content, style)
        if kind == b"s":
            found = _SHARED.fullmatch(content)
            if found is None or int(found[1]) >= len(self.strings):
                return UNREAD
            entry = self.strings[int(found[1])].rstrip()
            return _text(entry[: -len(b"</si>")]) if entry.endswith(b"</si>") else UNREAD
        if kind == b"inlineStr":
            if content.startswith(b"<is>") and content.endswith(b"</is>"):
                return _text(content[4:-5])
            return UNREAD
        if kind == b"str":  # a formula's text, as it showed when the file was saved
            found = _VALUE.fullmatch(content)
            if found is None:
                return UNREAD
            return _text(b"<t>" + found[1] + b"</t>") if found[1] else ""
        if kind == b"b":
            found = _VALUE.fullmatch(content)
            if found and found[1] in (b"0", b"1"):
                return found[1] == b"1"
        return UNREAD  # an error, an ISO date: left to calamine

    def _number(self, content: bytes, style: bytes) -> Any:
        found = _VALUE.fullmatch(content)
        if found is None:
            return UNREAD
        if not found[1]:
            return ""  # no value, or a formula whose result was not saved
        if not _NUMBER.fullmatch(found[1]):
            return UNREAD
        return self._typed(float(found[1]), style)

    def _typed(self, number: float, style: bytes | None) -> Any:
        """A number in the cell format `style` (b"" or None: the first)."""
        index = int(style) if style else 0
        kind = self.kinds[index] if index < len(self.kinds) else ""
        if kind == NUMBER:
            return number
        if kind == DATE and self.dates and number.is_integer() and _FIRST_DAY <= number <= _LAST_DAY:
            return _EPOCH + timedelta(days=int(number))
        return UNREAD


def sheet(sheet_xml: bytes, book: Book) -> Sheet | None:
    """The cells of a worksheet part, or None when it is written in an unusual way."""
    if b"<!" in sheet_xml:
        return None
    data = xlsxtext.sheet_data(sheet_xml)
    if data is None:
        return None
    refs = _REF.findall(data)
    pieces = data.split(_CELL_START)
    if not len(refs) == len(pieces) - 1 == data.count(b"<c"):
        return None  # a cell written in another way: without its address first, or another address
    at = dict(zip(refs, range(1, len(pieces)), strict=True))
    if len(at) != len(refs):
        return None  # two cells at one address
    return Sheet(at, pieces, book)


_texts: Kept[bytes, Any] = Kept(4_096)
_TEXT_KEPT_BYTES = 1_024


def _text(element: bytes) -> Any:
    """A string's text, remembered: every file of a template repeats its labels."""
    text = _texts.get(element)
    if text is None:
        text = xlsxtext.plain_text(element)
        text = UNREAD if text is None else text
        if len(element) <= _TEXT_KEPT_BYTES:
            _texts.keep(element, text)
    return text
