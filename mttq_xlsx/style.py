"""The look the templates and the summary workbook share: the workbook options, the font, tints,
number formats by field type and row heights. Only the writers import it (it imports xlsxwriter).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import xlsxwriter

from .numbers import PERCENT_FORMAT
from .spec import Field

FONT = "Times New Roman"  # the font of Vietnamese official documents
FONT_SIZE = 12
INPUT_TINT = "#FFF2CC"
HEADER_TINT = "#D9E1F2"
SECTION_TINT = "#EDEDED"
INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.00"
DATE_FORMAT = "dd/mm/yyyy"
TEXT_FORMAT = "@"
LINE_HEIGHT = 16.5  # points per wrapped line of 12 pt Times New Roman
MAX_ROW_HEIGHT = 409  # Excel's limit, in points


def workbook(path: Path, **options: Any) -> xlsxwriter.Workbook:
    """A workbook in 12 pt Times New Roman where a text is always written as text: a unit name
    such as ``=HYPERLINK(...)`` or ``http://…`` never becomes a formula or a link."""
    return xlsxwriter.Workbook(
        str(path),
        {
            "default_format_properties": {"font_name": FONT, "font_size": FONT_SIZE},
            "strings_to_formulas": False,
            "strings_to_urls": False,
            **options,
        },
    )


class Formats:
    """The workbook's cell formats, each added once: `formats(bold=True, border=1)`."""

    def __init__(self, wb: xlsxwriter.Workbook, **defaults: Any) -> None:
        self.wb = wb
        self.defaults = {"font_name": FONT, **defaults}
        self.added: dict[tuple[tuple[str, Any], ...], Any] = {}

    def __call__(self, **props: Any) -> Any:
        key = tuple(sorted(props.items()))
        if key not in self.added:
            self.added[key] = self.wb.add_format({**self.defaults, **props})
        return self.added[key]


def number_format(f: Field, index: dict[str, Field]) -> str:
    """Whole numbers for counts (and totals of counts), two decimals for amounts (and totals with
    an amount among their parts), a percent for ratios, a date, or text."""
    if f.type == "ratio":
        return PERCENT_FORMAT
    if f.type in {"count", "tally"}:
        return INTEGER_FORMAT
    if f.type == "total" and f.parts:
        parts = [index[p] for p in f.parts if p in index]
        if parts and all(number_format(p, index) == INTEGER_FORMAT for p in parts):
            return INTEGER_FORMAT
    if f.type == "date":
        return DATE_FORMAT
    if f.is_numeric:
        return DECIMAL_FORMAT
    return TEXT_FORMAT


@lru_cache(maxsize=8192)  # labels and unit names repeat on every unit's rows
def wrapped_lines(text: str, chars: int) -> int:
    """How many lines `text` takes when wrapped at word boundaries into lines of `chars`."""
    lines = 0
    for paragraph in text.split("\n"):
        used = -1  # no space before the first word
        lines += 1
        for word in paragraph.split():
            if used >= 0 and used + 1 + len(word) <= chars:
                used += 1 + len(word)
                continue
            if used >= 0:
                lines += 1
            lines += (len(word) - 1) // chars  # a word longer than a line is broken
            used = (len(word) - 1) % chars + 1
    return lines


def row_height(*texts: tuple[str, float], bold: bool = False) -> float | None:
    """Height that shows each (text, column width) whole when wrapped; None for one line.

    Spreadsheet programs do not fit row heights on load, so the writers estimate them: a column
    of width w holds about 1.1·w characters of 12 pt Times New Roman (fewer in bold).
    """
    lines = 1
    for text, width in texts:
        if text:
            chars = max(int(width * (0.95 if bold else 1.1)) - 1, 1)
            lines = max(lines, wrapped_lines(text, chars))
    if lines == 1:
        return None
    return min(LINE_HEIGHT * lines + 3, MAX_ROW_HEIGHT)
