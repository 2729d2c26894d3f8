"""A1-style cell addresses."""

from __future__ import annotations

import re

_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def cell_index(ref: str) -> tuple[int, int]:
    """'D12' -> (11, 3), zero-based row and column; ValueError when it is not an address."""
    match = _CELL.match(ref)
    if not match:
        raise ValueError(ref)
    col = 0
    for ch in match[1]:
        col = col * 26 + ord(ch) - 64
    return int(match[2]) - 1, col - 1


def cell_name(row: int, col: int) -> str:
    """(11, 3) -> 'D12'."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"
