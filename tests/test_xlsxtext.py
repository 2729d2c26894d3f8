"""Sheets of texts read without calamine (mttq_xlsx.xlsxtext): whenever it gives a grid, calamine
gives the same one for that sheet, on workbooks saved by Excel (the corpus), LibreOffice,
openpyxl and xlsxwriter, and on texts that need care; and it leaves to calamine what it does not
read the same way."""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from mttq_xlsx import Options, check, xlsxtext
from mttq_xlsx.container import Container
from mttq_xlsx.fieldmap import META_SHEET
from mttq_xlsx.workers import Limits
from tools import libreoffice

ROOT = Path(__file__).resolve().parents[1]
TEXTS = (  # each on a sheet of its own, beside a plain one
    "Xã Đồng Đăng",
    " lead",
    "trail ",
    "\tTab",
    "line\nbreak",
    "\nnew line first",
    "cr\r\nlf",
    "cr\ronly",
    "nbsp\u00a0",
    "\u3000ideographic space",
    "a_x0041_b",
    "_X0041_",
    "nha_van_hoa_xa_ty_le",
    "_xa_",
    "a & b < c > d \" e ' f",
    "emoji 😀",
    "\x01control",
    "\x7f",
    "",
    "  ",
    "\u2028line separator",
    "next line\u0085",
    "<r>rich</r>",
    "&amp;",
    "\ufeffbom",
    "e\u0301",
    "\x00nul",
)


def grids(path: Path) -> Iterator[tuple[str, list[list[str]] | None, list[list[object]]]]:
    """(sheet, what text_grid reads, what calamine reads) for every sheet of an xlsx."""
    data = path.read_bytes()
    archive = Container(data)
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    strings = archive.member(xlsxtext.SHARED_STRINGS)
    shared = archive.read(strings) if strings else b""
    for name in book.sheet_names:
        (part,) = archive.sheet_parts(name)
        grid = xlsxtext.text_grid(archive.read(part), shared)
        yield name, grid, book.get_sheet_by_name(name).to_python(skip_empty_area=False)


def assert_as_calamine(paths: list[Path]) -> int:
    """Every grid read equals calamine's; how many sheets were read."""
    read = 0
    for path in paths:
        for name, grid, want in grids(path):
            if grid is not None:
                assert grid == want, f"{path.name}: {name}"
                read += 1
    return read


def odd_texts(folder: Path) -> list[Path]:
    """TEXTS written by xlsxwriter (shared and inline strings) and by openpyxl (inline strings)."""
    paths = []
    for inline in (False, True):
        path = folder / f"xlsxwriter-{'inline' if inline else 'shared'}.xlsx"
        book = xlsxwriter.Workbook(path, {"constant_memory": inline, "strings_to_urls": False})
        for i, text in enumerate(TEXTS):
            sheet = book.add_worksheet(f"S{i}")
            sheet.write_string(0, 0, "ok")
            sheet.write_string(1, 1 + i % 3, text)
        sheet = book.add_worksheet("empty")
        sheet.write_string(0, 0, "ok")
        sheet.write_string(2, 2, "")  # an empty text still counts as a cell
        sheet.write_blank(5, 5, None, book.add_format({"bold": True}))  # a formatted blank does not
        book.close()
        paths.append(path)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for i, text in enumerate(TEXTS):
        sheet = wb.create_sheet(f"S{i}")
        sheet["A1"] = "ok"
        with contextlib.suppress(openpyxl.utils.exceptions.IllegalCharacterError):  # control characters
            sheet.cell(2, 2 + i % 3, text)
    paths.append(folder / "openpyxl.xlsx")
    wb.save(paths[-1])
    return paths


def test_the_field_maps_of_the_samples_are_read_as_calamine_reads_them() -> None:
    """Every `_mttq` sheet of the sample inbox's xlsx files (LibreOffice saved them) is read."""
    maps = []
    for path in sorted((ROOT / "samples" / "inbox").rglob("*.xlsx")):
        try:
            maps += [(path, grid, want) for name, grid, want in grids(path) if name == META_SHEET]
        except Exception:  # the inbox's damaged files
            continue
    assert len(maps) >= 5
    for path, grid, want in maps:
        assert grid == want, path.name


def test_sheets_excel_and_others_saved_are_read_as_calamine_reads_them() -> None:
    corpus = sorted((ROOT / "tests" / "corpus").rglob("*.xlsx"))
    readable = []
    for path in corpus:
        try:
            next(grids(path), None)
        except Exception:  # damaged, encrypted or hostile files of the corpus: not this test's
            continue
        readable.append(path)
    assert assert_as_calamine(readable) > 150


def test_texts_that_need_care_are_read_as_calamine_reads_them(tmp_path: Path) -> None:
    paths = odd_texts(tmp_path)
    assert assert_as_calamine(paths) > 2 * len(TEXTS)


@pytest.mark.libreoffice
def test_texts_saved_by_libreoffice_are_read_as_calamine_reads_them(tmp_path: Path) -> None:
    if reason := libreoffice.available():
        pytest.skip(reason)
    saved = [
        libreoffice.fill_and_save(path, tmp_path / f"libreoffice-{path.name}")
        for path in odd_texts(tmp_path)
        if not path.name.startswith("xlsxwriter-inline")
    ]
    assert assert_as_calamine(saved) > len(TEXTS)


SHEET = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    "{}</sheetData></worksheet>"
).format
STRINGS = '<sst count="2" uniqueCount="2"><si><t>schema</t></si><si><t>{}</t></si></sst>'.format
PLAIN = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'


@pytest.mark.parametrize(
    ("sheet", "strings"),
    [
        (PLAIN.replace('t="s"><v>1', "><v>1"), STRINGS("x")),  # a number
        (PLAIN.replace("<v>1</v>", "<f>A1</f><v>1</v>"), STRINGS("x")),  # a formula
        (PLAIN.replace("<v>1</v>", "<v>2</v>"), STRINGS("x")),  # an index past the table
        (PLAIN.replace('r="B1"', 'r="B2"'), STRINGS("x")),  # a cell outside its row
        (PLAIN.replace('r="B1"', 'r="XFD1048576"'), STRINGS("x")),  # far away
        (PLAIN.replace("<c r=", '<c s="1" r='), STRINGS("x")),  # attributes in another order
        (PLAIN.replace('"B1"', '"A1"'), STRINGS("x")),  # two cells at one address
        (PLAIN + PLAIN, STRINGS("x")),  # two row elements for one row
        (PLAIN, STRINGS("a_x0041_b")),  # an escaped character
        (PLAIN, STRINGS(" untrimmed")),
        (PLAIN, STRINGS("&nbsp;")),  # an entity XML does not know
        (PLAIN, STRINGS("x").replace("<t>x</t>", "<r><t>x</t></r>")),  # rich text
        (PLAIN, STRINGS("x").replace("<si><t>schema", '<si foo="1"><t>schema')),
    ],
)
def test_what_it_does_not_read_is_left_to_calamine(sheet: str, strings: str) -> None:
    assert xlsxtext.text_grid(SHEET(PLAIN).encode(), STRINGS("x").encode()) == [["schema", "x"]]
    assert xlsxtext.text_grid(SHEET(sheet).encode(), strings.encode()) is None


def test_a_sheet_made_to_make_the_reading_slow_is_read_in_its_time(tmp_path: Path) -> None:
    """Twenty thousand string cells never closed in one row of `_mttq`: each attempt at a cell
    stops at the next one, so the file is dealt with (calamine refuses the XML) long before the
    reading worker's time limit, instead of being stopped by it."""
    source = ROOT / "samples" / "inbox" / "Báo cáo Cao Lộc.xlsx"
    archive = Container(source.read_bytes())
    (part,) = archive.sheet_parts(META_SHEET)
    hostile = b'<row r="1">' + b'<c r="A1" t="s">x</si>' * 20_000 + b"</row>"
    target = tmp_path / "cham.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                data = data.replace(b"<sheetData>", b"<sheetData>" + hostile, 1)
            zout.writestr(info, data)
    result = check([target], Options(limits=Limits(seconds=20)))
    (record,) = result.files
    assert "giây" not in record.message, record.message  # not the time limit's rejection
