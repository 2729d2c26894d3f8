"""Cells read without calamine (mttq_xlsx.xlsxcells): whatever it reads at a cell is what calamine
reads there, on every xlsx we have (the samples, the corpus of files Excel, LibreOffice and other
programs saved, files made to be odd, files LibreOffice saved, the bench's corpus), and it leaves
to calamine what it does not read the same way; files read through it keep their figures."""

from __future__ import annotations

import io
import math
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from mttq_xlsx import Options, check, reader, xlsxcells
from mttq_xlsx.cells import cell_name
from mttq_xlsx.codes import ACCEPTED
from mttq_xlsx.container import Container
from mttq_xlsx.roster import all_communes
from tests.test_xlsxtext import odd_texts
from tools import bench, libreoffice

ROOT = Path(__file__).resolve().parents[1]
MARGIN = 2  # rows and columns past calamine's area that are asked for too


def same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, float) and isinstance(theirs, float) and math.isnan(ours):
        return math.isnan(theirs)
    return type(ours) is type(theirs) and ours == theirs


def compare(path: Path) -> tuple[int, int]:
    """(cells read here, cells asked for) over every sheet of an xlsx; each read equals calamine's.
    (0, 0) for a file calamine does not open, or that is not read here at all."""
    data = path.read_bytes()
    try:
        calamine = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:  # damaged, encrypted, not an xlsx: not this test's
        return 0, 0
    archive = Container(data)
    book = xlsxcells.book(archive) if archive.zip is not None else None
    if book is None:
        return 0, 0
    listed = archive.sheet_list()
    assert listed == tuple((m.name, str(m.visible).endswith("Visible")) for m in calamine.sheets_metadata), (
        path
    )
    read = asked = 0
    for name in calamine.sheet_names:
        (part,) = archive.sheet_parts(name)
        try:
            xml = archive.read(part)
            grid = calamine.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception:  # a sheet calamine does not read (far cells, damage): not this test's
            continue
        sheet = xlsxcells.sheet(xml, book)
        if sheet is None:
            continue
        width = max(map(len, grid), default=0)
        for r in range(len(grid) + MARGIN):
            for c in range(width + MARGIN):
                want = grid[r][c] if r < len(grid) and c < len(grid[r]) else ""
                got = sheet.value(cell_name(r, c).encode())
                asked += 1
                if got is not xlsxcells.UNREAD:
                    read += 1
                    assert same(got, want), (
                        f"{path.name}: {name}!{cell_name(r, c)}: {got!r}, calamine {want!r}"
                    )
    return read, asked


def compare_all(paths: list[Path]) -> tuple[int, int]:
    totals = [compare(p) for p in paths]
    return sum(t[0] for t in totals), sum(t[1] for t in totals)


def test_the_samples_are_read_as_calamine_reads_them() -> None:
    read, asked = compare_all(sorted((ROOT / "samples").rglob("*.xls[xm]")))
    assert read > 5_000 and read > 0.9 * asked, (read, asked)


def test_files_excel_and_other_programs_saved_are_read_as_calamine_reads_them() -> None:
    read, asked = compare_all(sorted((ROOT / "tests" / "corpus").rglob("*.xls[xm]")))
    assert read > 20_000, (read, asked)


def test_odd_texts_numbers_dates_and_formulas_are_read_as_calamine_reads_them(tmp_path: Path) -> None:
    paths = odd_texts(tmp_path)
    path = tmp_path / "kinds.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("kinds")
    formats = [
        "dd/mm/yyyy",
        "hh:mm",
        "dd/mm/yyyy hh:mm",
        "[h]:mm",
        "0.00%",
        "#,##0",
        "@",
        14,
        "yyyy\\-mm\\-dd",
    ]
    numbers = [45000, 45000.5, 0.5, 0, 59, 60, 61, -1, 1e300, -0.0, 2958465, 2958466, 1.5e-7]
    for col, number_format in enumerate(formats):
        style = book.add_format({"num_format": number_format})
        for row, number in enumerate(numbers):
            sheet.write_number(row, col, number, style)
    row = len(numbers)
    sheet.write_boolean(row, 0, True)
    sheet.write_boolean(row, 1, False)
    sheet.write_formula(row, 2, "=1/0", None, "#DIV/0!")
    sheet.write_formula(row, 3, '="x"', None, "x")
    sheet.write_formula(row, 4, "=1+1", None, 2)
    sheet.write_formula(row, 5, "=1+1")
    sheet.write_formula(row, 6, '=""', None, "")
    sheet.write_datetime(row + 1, 0, datetime(2025, 3, 15), book.add_format({"num_format": "dd/mm/yyyy"}))
    book.close()
    old_dates = tmp_path / "1904.xlsx"  # dates counted from 1904: never read as from 1900
    with xlsxwriter.Workbook(old_dates, {"date_1904": True}) as book_1904:
        book_1904.add_worksheet("S").write_number(
            0, 0, 45000, book_1904.add_format({"num_format": "dd/mm/yyyy"})
        )
    read, asked = compare_all([*paths, path, old_dates])
    assert read > 100, (read, asked)
    archive = Container(path.read_bytes())
    cells = xlsxcells.book(archive)
    assert cells is not None
    got = xlsxcells.sheet(archive.read("xl/worksheets/sheet1.xml"), cells)
    assert got is not None  # read here, not left to calamine: a date, a number, a boolean, formulas' texts
    read = [got.value(ref) for ref in (b"A1", b"F1", b"A14", b"D14", b"G14", b"A15")]
    assert read == [date(2023, 3, 15), 45000.0, True, "x", "", date(2025, 3, 15)]


@pytest.mark.libreoffice
def test_files_libreoffice_saved_are_read_as_calamine_reads_them(tmp_path: Path) -> None:
    if reason := libreoffice.available():
        pytest.skip(reason)
    sources = [*odd_texts(tmp_path), *sorted((ROOT / "samples" / "inbox").rglob("*.xlsx"))[:3]]
    saved = []
    for i, path in enumerate(sources):
        try:
            saved.append(libreoffice.fill_and_save(path, tmp_path / f"libreoffice-{i}.xlsx"))
        except Exception:  # the inbox's damaged files
            continue
    read, asked = compare_all(saved)
    assert read > 1_000, (read, asked)


@pytest.mark.libreoffice
def test_the_bench_corpus_is_read_as_calamine_reads_it(tmp_path: Path) -> None:
    """The templates `template --roster` writes, filled and saved by openpyxl and LibreOffice."""
    if reason := libreoffice.available():
        pytest.skip(reason)
    corpus = bench.build_corpus(tmp_path / "corpus", all_communes()[:4], jobs=1)
    xlsx = [p for p in corpus.files if p.suffix == ".xlsx"]
    read, asked = compare_all(xlsx)
    assert len(xlsx) >= 2 and read > 0.9 * asked, (read, asked)


def test_a_cell_written_unusually_is_left_to_calamine(tmp_path: Path) -> None:
    """A sheet written in a way not read here is read by calamine, with the same figures."""
    source = ROOT / "samples" / "inbox" / "Báo cáo Cao Lộc.xlsx"
    plain = check([source], Options())
    archive = Container(source.read_bytes())
    (part,) = archive.sheet_parts(reader.read_meta(CalamineWorkbook.from_path(str(source)))[1].sheets[-1])
    odd = tmp_path / "odd.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(odd, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                data = data.replace(b"<c r=", b"<c  r=", 1)  # a cell not starting as the others
            zout.writestr(info, data)
    cells = xlsxcells.book(archive)
    assert cells is not None
    assert xlsxcells.sheet(Container(odd.read_bytes()).read(part), cells) is None
    (want,), (got,) = plain.submissions, check([odd], Options()).submissions
    assert got.values == want.values
    assert [f.status for f in check([odd], Options()).files] == [ACCEPTED]


def test_a_label_edited_in_a_file_read_after_its_twin_is_still_noticed(tmp_path: Path) -> None:
    """Labels written in their cells (openpyxl) are remembered once found in place; a later file of
    the same template whose label was edited is not taken for its twin."""
    source = ROOT / "samples" / "inbox" / "Báo cáo Cao Lộc.xlsx"
    book = openpyxl.load_workbook(source)
    twin, edited = tmp_path / "twin.xlsx", tmp_path / "edited.xlsx"
    book.save(twin)
    _meta, fmap = reader.read_meta(CalamineWorkbook.from_path(str(twin)))
    row = next(r for r in fmap.rows if r.label and r.label_cell)
    book[row.sheet][row.label_cell] = row.label + " (sửa)"
    book.save(edited)
    assert b"inlineStr" in Container(twin.read_bytes()).read(
        Container(twin.read_bytes()).sheet_parts(row.sheet)[0]
    )
    codes = []
    for path in (twin, twin, edited):
        _record, sub = reader.read_submission(path, path.name, reader.ReadOptions())
        codes.append({i.code for i in sub.issues})
    assert "label_changed" not in codes[0] | codes[1]
    assert "label_changed" in codes[2], codes
