"""What calamine cannot tell us, read from the raw file.

python-calamine reads a cell holding an error value (#DIV/0!, #N/A…) as a blank, and allocates a
sheet's whole area, however far its last cell lies, before the reader can see the sheet's size.
These scans look at the file itself for both.
"""

from __future__ import annotations

import re

ErrorCells = dict[str, dict[str, str]]  # sheet name -> cell ("D25") -> the error as the file shows it


# ---------------------------------------------------------------------- xlsx: one worksheet part
_XLSX_WIDE_COLUMN = re.compile(rb'<c r="([A-Z]{2,3})[0-9]')
_XLSX_ROW = re.compile(rb'<row r="([0-9]{1,7})"')
_XLSX_FAR_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{5,7})"')  # a cell in a row element with no number
_XLSX_ERROR = re.compile(
    rb'<c r="([A-Z]{1,3}[0-9]{1,7})"[^>]*?\st="e"[^>]*>(?:<f[^>]*/>|<f[^>]*>.*?</f>)?<v>([^<]*)</v>'
)


def xlsx_sheet(xml: bytes) -> tuple[int, dict[str, str]]:
    """The area calamine allocates for one worksheet part, and its cells holding an error value."""
    # rows from the row elements, columns only where a cell lies beyond column Z: a template has
    # about a hundred rows and eight columns, so these are few matches, not one per cell
    rows = max(map(int, _XLSX_ROW.findall(xml) + _XLSX_FAR_ROW.findall(xml)), default=0)
    cols = 26
    for letters in set(_XLSX_WIDE_COLUMN.findall(xml)):
        col = 0
        for ch in letters:
            col = col * 26 + ch - 64
        cols = max(cols, col)
    errors = {}
    if b't="e"' in xml:
        errors = {ref.decode(): text.decode(errors="replace") for ref, text in _XLSX_ERROR.findall(xml)}
    return rows * cols, errors
