"""The raw-file scans (`mttq_xlsx.rawcells`) on what LibreOffice-made files do not show: BOOLERR
records, encrypted BIFF, covered and repeated ODS cells, a far column, and cut-off input.

Whole workbooks made by LibreOffice (error values in xlsx/xls/ods, far cells) are read end to end
in tests/test_robustness.py.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Sequence

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from mttq_xlsx.container import MAX_CELLS
from mttq_xlsx.rawcells import RawCells, excel_error, scan_ods, scan_xls, xlsx_sheet

SHEET = "Số liệu"


# ---------------------------------------------------------------------- xlsx
ONE = "<v>1</v>"
SHEET_DATA = {  # how programs (and hostile hands) write a worksheet's rows and cells
    "excel-far-row-height": f'<row r="1"><c r="A1">{ONE}</c></row>'
    '<row r="1048576" ht="30" customHeight="1"/>',
    "libreoffice-far-row-height": f'<row r="3"><c r="B3" t="n">{ONE}</c></row>'
    '<row r="1048576" customFormat="false" ht="34" customHeight="true"></row>',
    "formatted-far-cells": f'<row r="2"><c r="C2">{ONE}</c><c r="XFD2" s="0"/></row>'
    '<row r="1048576"><c r="A1048576" s="0"/><c r="XFD1048576" s="0"></c></row>',
    "one-far-cell": f'<row r="1048576"><c r="XFD1048576" t="n">{ONE}</c></row>',
    "far-cell-in-a-near-row": f'<row r="2"><c r="AB2">{ONE}</c><c r="D70000">{ONE}</c></row>',
    "attributes-reordered": f"<row r='5'><c s='0' r='K5'>{ONE}</c><c t=\"n\" r=\"C90000\">{ONE}</c></row>",
    "cells-without-address": f'<row r="80000"><c>{ONE}</c><c t="n">{ONE}</c></row><row><c>{ONE}</c></row>',
    "lowercase-address": f'<row r="9"><c r="ab75000">{ONE}</c></row>',
    "slash-in-an-attribute": f'<row r="1"><c r="E77000" x="a/>b">{ONE}</c></row>',
    "self-closing-rows-do-not-advance": f'<row r="7"/><row/><row><c>{ONE}</c></row>',
    "address-after-a-line-break": f'<row r="2"><c r="B2">{ONE}</c><c\n\tr="AB70000">{ONE}</c></row>',
}


def with_sheet_data(sheet_data: str) -> tuple[bytes, bytes]:
    """An xlsx (made by xlsxwriter) whose only worksheet holds `sheet_data`; and that worksheet XML."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    book.add_worksheet().write("A1", 1)
    book.close()
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(out) as zin:
        xml = zin.read(part).decode()
        xml = re.sub(r"<sheetData>.*</sheetData>", f"<sheetData>{sheet_data}</sheetData>", xml)
        xml = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', xml)
        rebuilt = io.BytesIO()
        with zipfile.ZipFile(rebuilt, "w") as zout:
            for info in zin.infolist():
                zout.writestr(info, xml if info.filename == part else zin.read(info.filename))
    return rebuilt.getvalue(), xml.encode()


@pytest.mark.parametrize("name", sorted(SHEET_DATA))
def test_xlsx_area_is_what_calamine_allocates(name: str) -> None:
    """The area from A1 to the farthest cell that calamine reads a value from (its own answer, on a
    sheet whose cells lie close together so that asking is cheap), whatever the rows and the
    dimension say; and the quick bound is never below it."""
    data, xml = with_sheet_data(SHEET_DATA[name])
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    end_row, end_col = sheet.end or (-1, -1)
    assert xlsx_sheet(xml, 0)[0] == (end_row + 1) * (end_col + 1)
    assert xlsx_sheet(xml, MAX_CELLS)[0] >= (end_row + 1) * (end_col + 1)


# ---------------------------------------------------------------------- xls
def records(*items: tuple[int, bytes]) -> bytes:
    return b"".join(struct.pack("<HH", typ, len(body)) + body for typ, body in items)


def xls_stream(
    *cells: tuple[int, bytes],
    dimensions: tuple[int, int, int, int] = (0, 30, 0, 6),
    encrypted: bool = False,
    more_sheets_at: Sequence[int] = (),
) -> bytes:
    """A BIFF8 Workbook stream with one sheet holding `cells` (records after its DIMENSIONS), and
    more BOUNDSHEET records pointing at those offsets into that sheet, as damage can make them."""
    filepass = [(0x002F, b"\x01\x00" + bytes(52))] if encrypted else []  # RC4, right after the BOF

    def globals_(offset: int) -> bytes:
        sheets = [(SHEET, offset), *((f"S{i}", offset + at) for i, at in enumerate(more_sheets_at))]
        boundsheets = [
            (0x0085, struct.pack("<IBBBB", at, 0, 0, len(name), 1) + name.encode("utf-16-le"))
            for name, at in sheets
        ]
        bof = (0x0809, struct.pack("<HH", 0x0600, 0x0005) + bytes(12))
        return records(bof, *filepass, *boundsheets, (0x000A, b""))

    sheet = records(
        (0x0809, struct.pack("<HH", 0x0600, 0x0010) + bytes(12)),
        (0x0200, struct.pack("<IIHHH", *dimensions, 0)),
        *cells,
        (0x000A, b""),
    )
    return globals_(len(globals_(0))) + sheet


def formula_error(row: int, col: int, code: int) -> tuple[int, bytes]:
    result = bytes([2, 0, code, 0, 0, 0, 0xFF, 0xFF])
    return 0x0006, struct.pack("<HHH", row, col, 15) + result + bytes(6) + b"\x00\x00"


def boolerr(row: int, col: int, value: int, is_error: int) -> tuple[int, bytes]:
    return 0x0205, struct.pack("<HHHBB", row, col, 15, value, is_error)


def test_xls_error_values_from_formulas_and_constants() -> None:
    stream = xls_stream(formula_error(24, 3, 0x07), boolerr(2, 1, 0x2A, 1), boolerr(3, 1, 1, 0))
    found = scan_xls(stream, MAX_CELLS)
    assert found.errors == {SHEET: {"D25": "#DIV/0!", "B3": "#N/A"}}  # B4 holds TRUE, not an error
    assert found.too_large == {}


def test_xls_dimensions_are_checked_as_calamine_reserves_them() -> None:
    assert scan_xls(xls_stream(dimensions=(0, 65536, 0, 256)), MAX_CELLS).too_large == {SHEET: 65536 * 256}
    assert scan_xls(xls_stream(dimensions=(0, 65536, 0, 30)), MAX_CELLS).too_large == {}


def test_xls_dimensions_that_cannot_be_true_mark_the_sheet_damaged() -> None:
    """Rows inverted (a fuzz-found .xls): calamine's arithmetic wraps round to billions of cells."""
    found = scan_xls(xls_stream(dimensions=(70, 5, 0, 8)), MAX_CELLS)
    assert found.damaged == {SHEET} and found.too_large
    assert scan_xls(xls_stream(dimensions=(0, 85, 0, 8)), MAX_CELLS).damaged == set()


def test_encrypted_xls_is_left_to_calamine() -> None:
    """After FILEPASS the record bodies are ciphertext: a DIMENSIONS read from them means nothing."""
    assert scan_xls(xls_stream(dimensions=(0, 65536, 0, 256), encrypted=True), MAX_CELLS) == RawCells()


def test_damaged_sheet_offsets_do_not_walk_a_sheet_twice() -> None:
    """100 BOUNDSHEET records pointing into one sheet: each record is read once, not 100 times."""
    cells = [boolerr(row, 0, 0x2A, 1) for row in range(2000)]
    stream = xls_stream(*cells, more_sheets_at=[38 + 12 * i for i in range(100)])  # at its records
    found = scan_xls(stream, MAX_CELLS)
    assert list(found.errors) == [SHEET] and len(found.errors[SHEET]) == 2000


# ---------------------------------------------------------------------- ods
EMPTY_ROWS = (
    '<table:table-row table:number-rows-repeated="{n}">'
    '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
)
ERROR_CELL = (
    '<table:table-cell {extra}table:formula="of:={formula}" office:value-type="string" '
    'office:string-value="" calcext:value-type="error"><text:p>{text}</text:p></table:table-cell>'
)
CONTENT = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content><office:body><office:spreadsheet>'
    f'<table:table table:name="{SHEET}" table:style-name="ta1">'
    '<table:table-column table:number-columns-repeated="1024"/>'
    + EMPTY_ROWS.format(n=2)
    # row 3: A3:B3 merged (B3 a covered cell), C3:D3 empty, an error in E3
    + '<table:table-row><table:table-cell table:number-columns-spanned="2" office:value-type="string">'
    "<text:p>Số vụ</text:p></table:table-cell><table:covered-table-cell/>"
    '<table:table-cell table:number-columns-repeated="2"/>'
    + ERROR_CELL.format(extra="", formula="1/0", text="#DIV/0!")
    + '<table:table-cell table:number-columns-repeated="1019"/></table:table-row>'
    # rows 4 and 5 alike: an error in A and B
    + '<table:table-row table:number-rows-repeated="2">'
    + ERROR_CELL.format(extra='table:number-columns-repeated="2" ', formula="SQRT(-1)", text="Err:502")
    + '<table:table-cell table:number-columns-repeated="1022"/></table:table-row>'
    + EMPTY_ROWS.format(n=1048571)  # LibreOffice fills every sheet to its last row
    + '</table:table><table:table table:name="Ghi chú &amp; khác">'
    + EMPTY_ROWS.format(n=1000)
    # row 1001: a value in the 3001st column
    + '<table:table-row><table:table-cell table:number-columns-repeated="3000"/>'
    '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'
    "</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"
).encode()


def test_ods_addresses_count_repeated_and_covered_cells() -> None:
    found = scan_ods(CONTENT, MAX_CELLS)
    assert found.errors == {
        SHEET: {"E3": "#DIV/0!", "A4": "Err:502", "B4": "Err:502", "A5": "Err:502", "B5": "Err:502"}
    }


def test_ods_area_ends_at_the_last_value_not_at_the_filled_rows() -> None:
    found = scan_ods(CONTENT, MAX_CELLS)
    assert found.too_large == {"Ghi chú & khác": 1001 * 3001}  # a far column and a far row
    assert scan_ods(CONTENT, 1001 * 3001).too_large == {}  # 5 rows × 5 columns for the other table


def test_libreoffice_err_codes_get_their_excel_names() -> None:
    assert [excel_error(t) for t in ("Err:502", "Err:522", "Err:512", "#DIV/0!")] == [
        "#VALUE!",
        "#VALUE!",
        "#N/A",
        "",
    ]


# ---------------------------------------------------------------------- damage
def test_cut_off_input_gives_part_of_what_the_whole_gives() -> None:
    """A download cut short: never an exception, never an error cell or area the whole file lacks."""
    stream = xls_stream(formula_error(24, 3, 0x07), boolerr(2, 1, 0x2A, 1), dimensions=(0, 65536, 0, 256))
    for data, scan in ((stream, scan_xls), (CONTENT, scan_ods)):
        whole = scan(data, MAX_CELLS)
        assert whole.errors and whole.too_large
        for cut in range(0, len(data), 7):
            part = scan(data[:cut], MAX_CELLS)
            for sheet, cells in part.errors.items():
                assert cells.keys() <= whole.errors[sheet].keys(), (cut, part)
            assert part.too_large.items() <= whole.too_large.items(), (cut, part)


def test_ods_value_cell_repeated_to_the_end_of_its_row_counts() -> None:
    """Not LibreOffice's empty filler: a self-closing value cell, repeated, that ends its row."""
    rows = (
        '<table:table-row table:number-rows-repeated="1000"><table:table-cell office:value-type="float" '
        'office:value="1" table:number-columns-repeated="16384"/></table:table-row>'
        '<table:table-row><table:table-cell office:value-type="float" office:value="2"/></table:table-row>'
    )
    content = f'<table:table table:name="{SHEET}">{rows}</table:table>'.encode()
    assert scan_ods(content, MAX_CELLS).too_large == {SHEET: 1001 * 16384}
