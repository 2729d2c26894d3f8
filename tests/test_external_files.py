"""Real workbooks nobody on this project wrote (tests/data/external/, see its README): each is
listed with the reason a person opening it in LibreOffice would agree with, and a message in
Vietnamese that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from mttq_xlsx.consolidate import Options, check_files
from mttq_xlsx.model import REJECTED, FileRecord

EXTERNAL = Path(__file__).resolve().parent / "data" / "external"


def check_one(path: Path, password: str | None = None) -> FileRecord:
    return check_files([path], Options(password=password)).files[0]


@pytest.mark.parametrize("name", ["xlsxwriter/comment03.xlsx", "calamine/issue_174.xlsx"])
def test_formatted_far_rows_and_cells_are_not_far_cells(name: str) -> None:
    """Excel's row element for the last row, with no cell (comment03, saved by Excel), and
    Gnumeric's formatted empty cells out to XFD1048576 (issue_174): nothing there holds a value,
    so the files are read, and refused only for not being templates."""
    record = check_one(EXTERNAL / name)
    assert (record.status, record.reason) == (REJECTED, "not_a_template"), record
