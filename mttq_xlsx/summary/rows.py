"""Write one worksheet row at a time with xlsxwriter, fast.

xlsxwriter spends about 4 µs of Python on every cell. In `constant_memory` mode a row of plain
cells (numbers, dates, blanks, texts that need no more escaping than &, < and >, internal links)
is written straight away as the XML xlsxwriter itself would write for it, byte for byte; any
other row goes through xlsxwriter's own methods. This relies on xlsxwriter internals: see
FAST_ROWS, and tests/test_summary.py, which compares both ways and fails when they change.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from ..style import FONT

__all__ = ["COMMENT_OPTIONS", "FAST_ROWS", "Cell", "Link", "write_cells"]


class Link(NamedTuple):
    """A cell that links to `url` (such as ``internal:'Tiến độ'!A1``) and shows `text`."""

    url: str
    text: str


Cell = tuple[int, Any, Any]  # (column, value, format); a value: number, text, date, Link or None
COMMENT_OPTIONS = {"font_name": FONT, "font_size": 11, "x_scale": 2.5, "y_scale": 1.5}
# Texts xlsxwriter writes as they are, but for &, < and >: no control character or _xHHHH_ to
# escape, no space at either end to preserve, nothing it would take for rich text, not too long.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_ESCAPE_LIKE = re.compile(r"_x[0-9a-fA-F]{4}_")
_FAST_TEXT_MAX = 16_000
_FAST_URL_MAX = 255
_HYPERLINKS_MAX = 65_530  # per worksheet; xlsxwriter drops the links beyond, with a warning
_COLUMNS: list[str] = []  # column letters by index, as far as used
# _write_row_xml relies on xlsxwriter internals that differ between versions (3.2 keeps row
# properties elsewhere): it is used only with the versions that
# test_rows_written_as_xml_are_what_xlsxwriter_writes was run on, 3.3.0 and 3.3.1, and with any
# later 3.x, where that test fails if they changed. Otherwise every row goes through xlsxwriter.
FAST_ROWS = (3, 3) <= tuple(int(n) for n in xlsxwriter.__version__.split(".")[:2]) < (4, 0) and all(
    hasattr(cls, name)
    for cls, name in [
        (Worksheet, "_check_dimensions"),
        (Worksheet, "_write_single_row"),
        (Worksheet, "_write_row"),
        (Worksheet, "_convert_date_time"),
        (Format, "_get_xf_index"),
    ]
)
if FAST_ROWS:
    from xlsxwriter.url import Url, UrlTypes


def write_cells(
    ws: Any,
    row: int,
    cells: Sequence[Cell],
    height: float | None = None,
    comments: Sequence[tuple[int, str]] = (),
) -> None:
    """Write one row: its `cells` in column order (None or "" is a blank cell with its format),
    its `height` (None keeps the default) and `comments` as (column, text).

    In `constant_memory` mode a row of plain cells is written as XML straight away, see
    `_write_row_xml`; any other row goes through xlsxwriter's own methods.
    """
    fast = FAST_ROWS and ws.constant_memory and cells and not comments and row > ws.previous_row
    if fast and _write_row_xml(ws, row, cells, height):
        return
    if height:
        ws.set_row(row, height)
    for col, value, fmt in cells:
        if value is None or value == "":
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            ws.write_string(row, col, value, fmt)
        elif isinstance(value, Link):
            ws.write_url(row, col, value.url, fmt, value.text)
        elif isinstance(value, date):
            ws.write_datetime(row, col, value, fmt)
        else:
            ws.write_number(row, col, value, fmt)
    for col, text in comments:
        ws.write_comment(row, col, text, dict(COMMENT_OPTIONS))


def _unsafe(text: str) -> bool:
    """Whether xlsxwriter writes `text` otherwise than with &, < and > escaped (a few plain
    checks: this runs for every text cell)."""
    return bool(
        text[0].isspace()  # the characters \s matches, as xlsxwriter checks
        or text[-1].isspace()
        or _CONTROL.search(text)
        or ("_x" in text and _ESCAPE_LIKE.search(text))
        or text.startswith("<r>")
    )


def _columns(last: int) -> list[str]:
    """The letters of the columns up to `last`, by index."""
    while len(_COLUMNS) <= last:
        _COLUMNS.append(xl_col_to_name(len(_COLUMNS)))
    return _COLUMNS


def _write_row_xml(ws: Any, row: int, cells: Sequence[Cell], height: float | None) -> bool:
    """Write a row of plain cells as the XML xlsxwriter would write for it, byte for byte;
    False, having written nothing of it, when a text needs more care than escaping &, < and >.

    xlsxwriter spends about 4 µs of Python on every cell it writes, and the content sheets of a
    big summary hold hundreds of thousands. In `constant_memory` mode it keeps one row and writes
    it out as XML when the next row starts: this writes the row out at once instead, through the
    same internals (`_check_dimensions`, `_write_single_row`, `_write_row`, `row_info`, the
    row data file `fh`, `_convert_date_time`, `Format._get_xf_index` and `xf_index`, and for links `Url`,
    `hyperlinks` and `hlink_count`); see `FAST_ROWS`.
    """
    ws._write_single_row(row)  # the row before, as any first write to this row would: first
    r = str(row + 1)
    parts = []
    links = []
    columns = _columns(cells[-1][0])
    for col, value, fmt in cells:
        xf = fmt.xf_index
        if xf is None:
            xf = fmt._get_xf_index()
        kind = type(value)
        if kind is int or kind is float:  # most cells: one f-string, as xlsxwriter writes it
            parts.append(f'<c r="{columns[col]}{r}" s="{xf}"><v>{value:.16G}</v></c>')
            continue
        head = f'<c r="{columns[col]}{r}" s="{xf}"'
        if value is None or value == "":
            parts.append(head + "/>")
            continue
        if kind is Link:
            if len(value.url) > _FAST_URL_MAX:
                return False
            url = Url(value.url)
            url.text = value.text
            links.append((col, url))
            value = value.text
        if isinstance(value, str):
            if not value or len(value) > _FAST_TEXT_MAX or _unsafe(value):
                return False
            text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            parts.append(f'{head} t="inlineStr"><is><t>{text}</t></is></c>')
        else:
            number = ws._convert_date_time(value) if isinstance(value, date) else value
            parts.append(f"{head}><v>{number:.16G}</v></c>")
    if ws.hlink_count + len(links) > _HYPERLINKS_MAX:
        return False
    ws._check_dimensions(row, cells[0][0])
    ws._check_dimensions(row, cells[-1][0])
    if height:
        ws.set_row(row, height)  # also kept for placing comments below
    ws._write_row(row, None, ws.row_info.pop(row, None))  # popped: the row is written now
    parts.append("</row>")
    ws.fh.write("".join(parts))
    ws.hlink_count += len(links)
    for col, url in links:
        ws.hyperlinks[row][col] = url
    return True


def write_links_now(ws: Any) -> None:
    """Write the `<hyperlinks>` element of `ws` now instead of when the workbook is closed (the
    same XML; thousands of links take a tenth of a second): for a sheet that is complete and
    whose links are all internal, while there is time to spare. Relies on `_write_hyperlinks`
    writing to `fh` and, for internal links, changing nothing else."""
    links = [url for row in ws.hyperlinks.values() for url in row.values()]
    if not FAST_ROWS or not links or any(u._link_type in (UrlTypes.URL, UrlTypes.EXTERNAL) for u in links):
        return
    fh, ws.fh = ws.fh, io.StringIO()
    try:
        ws._write_hyperlinks()
        xml = ws.fh.getvalue()
    finally:
        ws.fh = fh
    ws._write_hyperlinks = lambda: ws.fh.write(xml)
