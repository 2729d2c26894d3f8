"""Files from elsewhere: workbooks nobody on this project wrote (tests/data/external/, see its
README), workbooks encrypted by real LibreOffice and by msoffcrypto-tool, and formats that are not
read. Each is listed with the reason a person opening it in LibreOffice would agree with, and a
message in Vietnamese, with no English in it, that says what to do.
"""

from __future__ import annotations

import functools
import random
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import olefile
import pytest

from mttq_xlsx import Options, check
from mttq_xlsx.codes import ACCEPTED, REJECTED
from mttq_xlsx.model import FileRecord
from mttq_xlsx.workers import Limits
from tools import libreoffice as lo

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT / "tests" / "data" / "external"
REGRESSIONS = ROOT / "tests" / "regressions"
SAMPLES = ROOT / "samples" / "inbox"
XLSX = SAMPLES / "Bieu so lieu 6 thang 2024 - TP Lang Son.xlsx"  # unit 178, made by LibreOffice
XLS = SAMPLES / "huyen-phia-bac" / "BC 6 thang - Trang Dinh.xls"
ODS = SAMPLES / "huyen-phia-bac" / "Binh Gia_bieu so lieu.ods"
PASSWORD = "Mặt trận 2024"  # not ASCII: the password is encoded as each format says
CORPUS_PASSWORD = "1234"  # of python-calamine's and calamine's password test files
SAVED = datetime(2024, 6, 5, 9, 30, tzinfo=UTC)


def check_one(path: Path, password: str | None = None) -> FileRecord:
    return check([path], password=password).files[0]


@functools.cache
def truth() -> dict[str, Any]:
    """The figures of the untouched sample the encrypted copies are made from."""
    result = check([XLSX])
    assert result.files[0].status == ACCEPTED
    return dict(result.submissions[0].values)


# ====================================================================== far rows and cells
@pytest.mark.parametrize("name", ["xlsxwriter/comment03.xlsx", "calamine/issue_174.xlsx"])
def test_formatted_far_rows_and_cells_are_not_far_cells(name: str) -> None:
    """Excel's row element for the last row, with no cell (comment03, saved by Excel), and
    Gnumeric's formatted empty cells out to XFD1048576 (issue_174): nothing there holds a value,
    so the files are read, and refused only for not being templates."""
    record = check_one(EXTERNAL / name)
    assert (record.status, record.reason) == (REJECTED, "not_a_template"), record


# ====================================================================== encrypted workbooks
@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Encrypted copies of a real report (LibreOffice: xls, ods with AES-256 and, saved as ODF 1.1,
    with Blowfish; msoffcrypto-tool: xlsx), and what LibreOffice makes of some external files."""
    reason = lo.available()
    if reason is not None:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("external")
    common = {"src": XLSX, "password": PASSWORD, "modified": SAVED.isoformat()}
    jobs = {
        "locked.xls": common,
        "locked.ods": common,
        "locked-odf11.ods": {**common, "odf_version": "1.1"},
        # does LibreOffice open them without a password, and what does saving as .xlsx give
        "issue_385.xlsx": {"src": EXTERNAL / "calamine" / "issue_385.xls"},
        "pass_protected.xlsx": {"src": EXTERNAL / "calamine" / "pass_protected.ods"},
        "biff4.xlsx": {"src": EXTERNAL / "xlrd" / "biff4_no_format_no_window2.xls"},
    }
    names = list(jobs)
    results = lo.run_jobs([{**jobs[n], "dst": root / n} for n in names])
    files: dict[str, Any] = {
        n: (root / n if r.get("ok") else r.get("error")) for n, r in zip(names, results, strict=True)
    }
    files["locked.xlsx"] = root / "locked.xlsx"
    subprocess.run(
        [Path(sys.executable).parent / "msoffcrypto-tool", "-e", "-p", PASSWORD, XLSX, files["locked.xlsx"]],
        check=True,
    )
    return files


LOCKED = ["locked.xlsx", "locked.xls", "locked.ods", "locked-odf11.ods"]
CORPUS_LOCKED = [
    "python-calamine/password.xls",  # RC4 CryptoAPI
    "python-calamine/password.xlsx",  # standard encryption
    "python-calamine/password.xlsb",  # agile encryption
    "calamine/pass_protected.ods",  # AES-256-CBC, PBKDF2 from SHA-256
]


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", LOCKED)
def test_encrypted_report_is_password_protected_then_opened_with_the_password(
    made: dict[str, Any], name: str
) -> None:
    path = made[name]
    record = check_one(path)
    assert (record.status, record.reason) == (REJECTED, "password_protected"), record
    assert "--password" in record.message
    result = check([path], password=PASSWORD)
    assert result.files[0].status == ACCEPTED, result.files[0]
    assert result.submissions[0].values == truth()


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", ["locked.xls", "locked.ods", "locked-odf11.ods"])
def test_decrypted_workbook_keeps_its_saved_time(made: dict[str, Any], name: str) -> None:
    """The ods saved time is in meta.xml, encrypted like the figures (the xls one is not)."""
    record = check([made[name]], password=PASSWORD).files[0]
    assert record.saved_at == SAVED


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", LOCKED)
def test_wrong_password_is_named_as_such(made: dict[str, Any], name: str) -> None:
    record = check_one(made[name], password="sai mật khẩu")
    assert (record.status, record.reason) == (REJECTED, "password_protected"), record
    assert "không mở được" in record.message and record.detail


@pytest.mark.parametrize("name", CORPUS_LOCKED)
def test_corpus_encrypted_files_are_password_protected_then_read(name: str) -> None:
    record = check_one(EXTERNAL / name)
    assert (record.status, record.reason) == (REJECTED, "password_protected"), record
    opened = check_one(EXTERNAL / name, password=CORPUS_PASSWORD)
    assert (opened.status, opened.reason) == (REJECTED, "not_a_template"), opened  # read: no `_mttq`


def test_excel_built_in_password_opens_without_asking() -> None:
    """issue_385.xls is encrypted with `VelvetSweatshop`, which Excel uses for a workbook protected
    only against changes and opens without asking: it is read, as any workbook."""
    record = check_one(EXTERNAL / "calamine" / "issue_385.xls")
    assert (record.status, record.reason) == (REJECTED, "not_a_template"), record


def test_encryption_that_is_not_handled_says_so(tmp_path: Path) -> None:
    """An Excel 95 workbook with a FILEPASS record (made from calamine's real BIFF5 file: three empty
    records after the BOF become FILEPASS and one empty record, same length): msoffcrypto-tool does
    not decrypt Excel 95, and the message says that the unit must send it without a password."""
    path = tmp_path / "Excel 95 co mat khau.xls"
    shutil.copy(EXTERNAL / "calamine" / "biff5_write.xls", path)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        book = bytearray(ole.openstream("Book").read())
        assert book[22:34] == bytes.fromhex("bf000000 c0000000 e2000000")
        book[22:34] = struct.pack("<HHHH", 0x002F, 4, 0, 0) + bytes.fromhex("e2000000")
        ole.write_stream("Book", bytes(book))
    for password in (None, "1234"):
        record = check_one(path, password=password)
        assert (record.status, record.reason) == (REJECTED, "password_protected"), record
    assert "chưa mở được" in record.message and "không đặt mật khẩu" in record.message


@pytest.mark.libreoffice
def test_ods_encrypted_otherwise_says_so(made: dict[str, Any], tmp_path: Path) -> None:
    """Newer LibreOffice versions can encrypt with AES-GCM, which ODF 1.2 does not have: the
    manifest names it (here written into the manifest of a LibreOffice 7.4 file), and the file is
    not guessed at."""
    path = tmp_path / "Binh Gia moi.ods"
    with zipfile.ZipFile(made["locked.ods"]) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "META-INF/manifest.xml":
                data = data.replace(b"2001/04/xmlenc#aes256-cbc", b"2009/xmlenc11#aes256-gcm")
            zout.writestr(info, data)
    record = check_one(path, password=PASSWORD)
    assert (record.status, record.reason) == (REJECTED, "password_protected"), record
    assert "chưa mở được" in record.message and "aes256-gcm" in record.detail


@pytest.mark.libreoffice
def test_libreoffice_agrees_which_files_need_a_password(made: dict[str, Any]) -> None:
    assert isinstance(made["issue_385.xlsx"], Path)  # opened without a password
    assert "could not open" in made["pass_protected.xlsx"]  # asks for one: opening headless fails


# ====================================================================== formats not read
def spreadsheet_ml() -> bytes:
    """A workbook saved as Excel 2003 XML (SpreadsheetML), as Excel writes it."""
    return (
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">\n'
        ' <Worksheet ss:Name="Số liệu"><Table><Row><Cell><Data ss:Type="Number">1014</Data></Cell></Row>'
        "</Table></Worksheet>\n</Workbook>\n"
    ).encode()


UNSUPPORTED: dict[str, Any] = {  # name in the inbox -> bytes, and what the message calls it
    "biff4.xls": ((EXTERNAL / "xlrd" / "biff4_no_format_no_window2.xls").read_bytes(), "Excel 4.0"),
    "text.xls": ((EXTERNAL / "calamine" / "too_small.xls").read_bytes(), "văn bản"),
    "excel-2003.xls": (spreadsheet_ml(), "XML của Excel 2003"),
    "web-page.xls": (
        b"\xef\xbb\xbf<!DOCTYPE html><html><body><table><tr><td>1</td></tr></table>",
        "trang web",
    ),
    "csv.xlsx": ("ma,ten\r\n178,Thành phố Lạng Sơn\r\n".encode("utf-16"), "văn bản"),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_formats_that_are_not_read_say_save_as_xlsx(name: str, tmp_path: Path) -> None:
    data, called = UNSUPPORTED[name]
    path = tmp_path / name
    path.write_bytes(data)
    record = check_one(path)
    assert (record.status, record.reason) == (REJECTED, "unsupported_format"), record
    assert called in record.message and "lưu lại thành .xlsx" in record.message
    assert "hỏng" not in record.message


@pytest.mark.libreoffice
def test_old_excel_saved_again_as_xlsx_is_read(made: dict[str, Any]) -> None:
    """What the message asks for works: LibreOffice opens the Excel 4.0 file, saves it as .xlsx,
    and that is read (refused only for not being a template)."""
    record = check_one(made["biff4.xlsx"])
    assert (record.status, record.reason) == (REJECTED, "not_a_template"), record


@pytest.mark.parametrize("name", ["calamine/biff5_write.xls", "calamine/strict_iso_paths.xlsx"])
def test_excel_95_and_strict_open_xml_are_read(name: str) -> None:
    record = check_one(EXTERNAL / name)
    assert (record.status, record.reason) == (REJECTED, "not_a_template"), record


TO_STRICT = [  # transitional -> strict namespaces (ISO/IEC 29500-1, as Excel saves "Strict Open XML")
    (
        "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "http://purl.oclc.org/ooxml/spreadsheetml/main",
    ),
    (
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties",
        "http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties",
    ),
    (
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "http://purl.oclc.org/ooxml/officeDocument/relationships",
    ),
    ("http://schemas.openxmlformats.org/drawingml/2006/main", "http://purl.oclc.org/ooxml/drawingml/main"),
]


def test_report_saved_as_strict_open_xml_is_accepted(tmp_path: Path) -> None:
    strict = tmp_path / "Lang Son strict.xlsx"
    with zipfile.ZipFile(XLSX) as zin, zipfile.ZipFile(strict, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith((".xml", ".rels")):
                text = data.decode()
                for transitional, iso in TO_STRICT:
                    text = text.replace(transitional, iso)
                if info.filename == "xl/workbook.xml":
                    text = text.replace("<workbook ", '<workbook conformance="strict" ', 1)
                data = text.encode()
            zout.writestr(info, data)
    with zipfile.ZipFile(strict) as zf:
        assert b"purl.oclc.org/ooxml/spreadsheetml/main" in zf.read("xl/workbook.xml")
    result = check([strict])
    assert result.files[0].status == ACCEPTED, result.files[0]
    assert result.submissions[0].values == truth()


# ====================================================================== no English
# Words of the libraries' own messages (calamine, zipfile, msoffcrypto, the workers) that must never
# reach a message. Names of formats and programs (Excel, LibreOffice, HTML, CSV, XML, MB) are not
# English prose and are allowed.
ENGLISH = re.compile(
    r"\b(cannot|could|detect|file|format|error|invalid|zip|expected|failed|found|not|the|is|of|"
    r"signal|exit|code|memory|allocation|panic|sector|stream|record|unexpected|larger|declared|size|"
    r"bytes?|index|range|buffer|checksum|deflate|corrupt|workbook|sheet|attribute|decode|input|"
    r"password|protected|encrypted|unsupported|over|missing|header|truncated|wrong|bad)\b",
    re.IGNORECASE,
)


def english_in(message: str) -> list[str]:
    """English words in a message, leaving out what it quotes (file and sheet names, typed text), the
    command-line options and the names of files and sheets parts (`_mttq`, `.xlsx`, `Err:502`)."""
    plain = re.sub(r"“[^”]*”|--[\w-]+|\S*\w[./\\:]\w\S*|(?<!\w)\.\w+", " ", message)
    return ENGLISH.findall(plain)


def broken_inputs() -> dict[str, bytes]:
    """Damaged, hostile and odd files of every kind the tests know, by name in an inbox."""
    inputs = {
        f"external-{p.parent.name}-{p.name}": p.read_bytes()
        for p in EXTERNAL.glob("*/*.*")
        if p.suffix != ".md"
    }
    inputs |= {f"regression-{p.name}": p.read_bytes() for p in REGRESSIONS.glob("*.*") if p.suffix != ".md"}
    inputs |= {f"unsupported-{name}": data for name, (data, _) in UNSUPPORTED.items()}
    rnd = random.Random(9)
    for source in (XLSX, XLS, ODS):
        data = source.read_bytes()
        for cut in (0, 8, 600, len(data) // 3, len(data) // 2, len(data) - 30):
            inputs[f"cut{cut}-{source.name}"] = data[:cut]
        for i in range(12):
            flipped = bytearray(data)
            for _ in range(4):
                flipped[rnd.randrange(len(flipped))] = rnd.randrange(256)
            inputs[f"flip{i}-{source.name}"] = bytes(flipped)
    inputs["random.xlsx"] = rnd.randbytes(5000)
    inputs["random-after-ole-magic.xls"] = bytes.fromhex("D0CF11E0A1B11AE1") + rnd.randbytes(5000)
    inputs["random-after-zip-magic.xlsx"] = b"PK\x03\x04" + rnd.randbytes(5000)
    return inputs


def test_no_english_in_any_message(tmp_path: Path) -> None:
    """Every message about a damaged, encrypted, odd or hostile file is Vietnamese; what the
    libraries said is kept in the JSON report's `detail`."""
    paths = []
    for name, data in broken_inputs().items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)
    result = check(paths, Options(limits=Limits(seconds=3)))
    assert len(result.files) == len(paths)
    found = {f.path: english_in(f.message) for f in result.files if english_in(f.message)}
    found |= {f"{i.path} ({i.code})": english_in(i.message) for i in result.issues if english_in(i.message)}
    assert not found, found
    with_detail = [f for f in result.files if f.detail]
    assert with_detail and all(f.reason for f in with_detail)  # the raw text is kept, beside a reason
    wrong = check([p for p in paths if "password" in p.name], Options(password="sai"))
    assert not {f.path: english_in(f.message) for f in wrong.files if english_in(f.message)}


def test_damage_is_told_by_its_likely_cause_and_the_library_text_kept(tmp_path: Path) -> None:
    """Bytes changed inside the compressed form sheet of a real report: the message names the
    compressed part, in Vietnamese; what zipfile said is the detail."""
    data = bytearray(XLSX.read_bytes())
    with zipfile.ZipFile(XLSX) as zf:
        info = max(zf.infolist(), key=lambda i: i.compress_size)  # the form sheet
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2 : start + info.compress_size // 2 + 8] = b"\x00" * 8
    path = tmp_path / "Lang Son.xlsx"
    path.write_bytes(bytes(data))
    record = check_one(path)
    assert (record.status, record.reason) == (REJECTED, "corrupt_file"), record
    assert record.message.startswith("Tệp bị hỏng: phần nén bên trong tệp bị hỏng") and not english_in(
        record.message
    )
    assert re.match(r"(BadZipFile|error|XmlError|CalamineError): ", record.detail), record.detail


def test_the_english_detector_finds_what_it_must() -> None:
    """Without this, the test above would pass on any message."""
    assert english_in("Tệp bị hỏng, không đọc được (Cannot detect file format).") == [
        "Cannot",
        "detect",
        "file",
        "format",
    ]
    assert english_in("Trang tính “Sheet1 error” của tệp bị hỏng; dùng --password.") == []
    assert english_in("Tệp bị hỏng: bộ đọc bảng tính dừng đột ngột (signal SIGABRT).") == ["signal"]
