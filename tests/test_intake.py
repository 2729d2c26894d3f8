"""What an inbox holds (mttq_xlsx/intake.py): zips of reports, as Gmail's "Tải xuống tất cả" and
Windows tools make them, and file names that are not UTF-8. The reports inside are the unit
reports of samples/inbox, which real LibreOffice filled and saved."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import unicodedata
import zipfile
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

from mttq_xlsx import Options, check, consolidate
from mttq_xlsx.cli import main
from mttq_xlsx.codes import ACCEPTED, IGNORED, REJECTED, SUPERSEDED
from mttq_xlsx.consolidation import Consolidation
from mttq_xlsx.container import MAX_UNCOMPRESSED, SPREADSHEET_SUFFIXES
from mttq_xlsx.intake import LOCK_FILE, MAX_ZIP_MEMBERS, NESTED_ZIP, NOT_READ
from mttq_xlsx.json_report import json_report_dict
from mttq_xlsx.periods import VIETNAM, parse_period
from tests.accounting import assert_accounted

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inbox"
ROSTER = ROOT / "samples" / "don-vi.csv"
LANG_SON = SAMPLES / "Bieu so lieu 6 thang 2024 - TP Lang Son.xlsx"  # unit 178
TRANG_DINH = SAMPLES / "huyen-phia-bac" / "BC 6 thang - Trang Dinh.xls"  # 180
BINH_GIA = SAMPLES / "huyen-phia-bac" / "Binh Gia_bieu so lieu.ods"  # 181
CAO_LOC = SAMPLES / "Báo cáo Cao Lộc.xlsx"  # 183
VAN_QUAN = SAMPLES / "BC Van Quan 6T2024.xls"  # 184, its ratio typed wrong: an error
HUU_LUNG_OLD = SAMPLES / "huyen-phia-nam" / "Huu Lung - bieu so lieu.xlsx"  # 186, saved 5/6
HUU_LUNG_NEW = SAMPLES / "huyen-phia-nam" / "gui-lai" / "Huu Lung - bieu so lieu (da sua).ods"  # 186, 8/6
LOC_BINH = SAMPLES / "huyen-phia-nam" / "Báo cáo 6 tháng Lộc Bình.ods"  # 188
NOTE = SAMPLES / "ghi-chu.txt"
PERIOD = parse_period("2024-6T")
REPORT_ID = "bieu-so-lieu"
ZIPPED_AT = (2024, 6, 20, 8, 0, 0)  # later than every sample's own saved time


# ---------------------------------------------------------------------- helpers
def cp1258(text: str) -> bytes:
    """A name as Vietnamese Windows (code page 1258) writes it: letters with their vowel marks
    where the code page has them, tone marks as combining characters after them."""
    out = b""
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            out += unicodedata.normalize("NFC", parts[:-1]).encode("cp1258") + parts[-1].encode("cp1258")
    return out


def write_zip(target: Path, members: list[tuple[Any, ...]]) -> Path:
    """A zip of (name, content[, date_time]); content is bytes or a file to copy. A name given as
    bytes is stored as exactly those bytes without the UTF-8 flag, as old Windows tools do:
    written under an ASCII stand-in of the same length, then swapped in both headers."""
    swaps: dict[bytes, bytes] = {}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for number, (name, content, *when) in enumerate(members):
            if isinstance(name, bytes):
                stand_in = f"{number:04d}".encode() + b"#" * (len(name) - 4)
                swaps[stand_in], name = name, stand_in.decode()
            data = content.read_bytes() if isinstance(content, Path) else content
            zf.writestr(zipfile.ZipInfo(name, date_time=when[0] if when else ZIPPED_AT), data)
    raw = target.read_bytes()
    for stand_in, name in swaps.items():
        assert raw.count(stand_in) == 2, "the stand-in name must occur once in each header"
        raw = raw.replace(stand_in, name)
    target.write_bytes(raw)
    return target


def zip_headers(data: bytes, name: bytes) -> list[int]:
    """Offsets of a member's local header and central directory entry."""
    found = []
    at = data.find(b"PK\x01\x02")
    while at != -1:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + length] == name:
            found += [struct.unpack_from("<I", data, at + 42)[0], at]
        at = data.find(b"PK\x01\x02", at + 4)
    return found


def patch_member(source: Path, target: Path, name: str, *, size: int | None = None, flags: int = 0) -> Path:
    """Rewrite a member's declared uncompressed size and OR its flag bits, in both headers."""
    data = bytearray(source.read_bytes())
    local, central = zip_headers(bytes(data), name.encode())
    for at, size_at, flags_at in ((local, 22, 6), (central, 24, 8)):
        if size is not None:
            struct.pack_into("<I", data, at + size_at, size)
        struct.pack_into("<H", data, at + flags_at, struct.unpack_from("<H", data, at + flags_at)[0] | flags)
    target.write_bytes(bytes(data))
    return target


def without_saved_time(source: Path, target: Path) -> Path:
    """A LibreOffice xlsx without docProps/core.xml: a workbook that carries no saved time."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != "docProps/core.xml":
                zout.writestr(info, zin.read(info.filename))
    return target


@functools.cache
def truth(source: Path) -> dict[str, Any]:
    """What the JSON report says of a sample read on its own: its unit's figures and its file."""
    report = json_report_dict(check([source], Options(period=PERIOD)))
    (code,) = report["units"]
    return {"code": code, "values": report["units"][code][REPORT_ID], "file": report["files"][0]}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [a if isinstance(a, str) else str(a) for a in args])


def by_path(result: Consolidation) -> dict[str, Any]:
    return {f.path: f for f in result.files}


# ---------------------------------------------------------------------- a zipped inbox
ZIPPED = {  # path users see -> (status, the sample inside or the reason it is not read)
    "Cao Lộc.xlsx": (ACCEPTED, CAO_LOC),
    "bao-cao.zip › Bình Gia/bc.ods": (ACCEPTED, BINH_GIA),  # the UTF-8 flag set
    "bao-cao.zip › Lang Son Ü.xlsx": (ACCEPTED, LANG_SON),  # cp437, as DOS-era tools wrote
    "bao-cao.zip › Lộc Bình/bc.ods": (ACCEPTED, LOC_BINH),  # UTF-8 without the flag
    "bao-cao.zip › Tràng Định - báo cáo.xls": (ACCEPTED, TRANG_DINH),  # cp1258, Vietnamese Windows
    "bao-cao.zip › cũ/bao-cao-cu.zip": (IGNORED, NESTED_ZIP),
    "bao-cao.zip › ghi-chú.txt": (IGNORED, NOT_READ),
    "bao-cao.zip › ~$bc.xlsx": (IGNORED, LOCK_FILE),
}


@pytest.fixture(scope="module")
def zipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An inbox with a unit's file beside a zip of four more, as Gmail and Windows zip them."""
    inbox = tmp_path_factory.mktemp("zipped") / "hop-thu"
    inbox.mkdir()
    shutil.copy2(CAO_LOC, inbox / "Cao Lộc.xlsx")
    inner = write_zip(inbox.parent / "bao-cao-cu.zip", [("Văn Quan.xls", VAN_QUAN)])
    cp1258_name = cp1258("Tràng Định - báo cáo.xls")
    assert b"\xd0" in cp1258_name and b"\xf2" in cp1258_name  # Đ, and the dot below of ị, combining
    with pytest.raises(UnicodeDecodeError):
        cp1258_name.decode("utf-8")
    cp437_name = "Lang Son Ü.xlsx".encode("cp437")
    with pytest.raises(UnicodeDecodeError):  # so it cannot pass for cp1258 either
        cp437_name.decode("cp1258")
    write_zip(
        inbox / "bao-cao.zip",
        [
            ("Bình Gia/", b""),
            ("Bình Gia/bc.ods", BINH_GIA),
            (cp1258_name, TRANG_DINH),
            (cp437_name, LANG_SON),
            ("Lộc Bình/bc.ods".encode(), LOC_BINH),
            ("ghi-chú.txt", NOTE),
            ("cũ/bao-cao-cu.zip", inner),
            ("~$bc.xlsx", b"\x08vanphong"),
        ],
    )
    with zipfile.ZipFile(inbox / "bao-cao.zip") as zf:
        flagged = {i.filename: bool(i.flag_bits & 0x800) for i in zf.infolist()}
    assert flagged["Bình Gia/bc.ods"] and sum(flagged.values()) == 4  # the other three stored raw
    return inbox


def test_zipped_reports_are_read_as_if_loose(zipped: Path) -> None:
    result = consolidate(zipped, Options(period=PERIOD))
    report = assert_accounted(result, zipped, list(ZIPPED))  # every member once; totals are the sums
    files = {f["path"]: f for f in report["files"]}
    for path, (status, what) in ZIPPED.items():
        assert files[path]["status"] == status, (path, files[path]["message"])
        if status == IGNORED:
            assert (files[path]["reason"], files[path]["message"]) == ("not_a_report", what)
            continue
        want = truth(what)
        assert report["units"][files[path]["unit_code"]][REPORT_ID] == want["values"], path
        assert files[path]["sha256"] == sha(what)  # the member's bytes are the sample's
        assert files[path]["saved_at"] == want["file"]["saved_at"]  # its own saved time, not the zip's
    assert sorted(report["units"]) == ["178", "180", "181", "183", "188"]  # not 184 of the nested zip
    assert files["bao-cao.zip › ~$bc.xlsx"]["sha256"] == hashlib.sha256(b"\x08vanphong").hexdigest()
    assert report["totals"][REPORT_ID]["hoa_giai_so_vu"] == sum(
        truth(s)["values"]["hoa_giai_so_vu"] for s in (CAO_LOC, BINH_GIA, LANG_SON, LOC_BINH, TRANG_DINH)
    )


def test_provenance_of_files_and_members(zipped: Path) -> None:
    report = json_report_dict(consolidate(zipped, Options(period=PERIOD)))
    sources = {f["path"]: f["source"] for f in report["files"]}
    blank = {"message_id": "", "sender": "", "subject": "", "received_at": None}
    assert sources["Cao Lộc.xlsx"] == {"kind": "file", "attachment": ""} | blank
    assert (
        sources["bao-cao.zip › Tràng Định - báo cáo.xls"]
        == {
            "kind": "zip",
            "attachment": "Tràng Định - báo cáo.xls",
        }
        | blank
    )
    assert sources["bao-cao.zip › Bình Gia/bc.ods"]["attachment"] == "Bình Gia/bc.ods"


def test_zipped_inbox_through_the_cli(zipped: Path, tmp_path: Path) -> None:
    """The run a clerk makes on the folder holding Gmail's zip: what the summary and JSON say."""
    before = {p: sha(p) for p in zipped.rglob("*") if p.is_file()}
    summary, json_report = tmp_path / "tong-hop.xlsx", tmp_path / "bao-cao.json"
    args = ["--roster", ROSTER, "--period", "2024-6T", "--deadline", "2024-06-10", "--report", json_report]
    result = run("consolidate", zipped, "-o", summary, *args)
    assert result.exit_code == 1, result.output  # six of the eleven units have not reported
    assert "Đã đọc 8 tệp: 5 được nhận, 0 bị loại, 0 bị thay thế bởi bản mới hơn, 3 bỏ qua." in result.stdout
    assert "Đã nhận 5/11 đơn vị" in result.stdout
    report = json.loads(json_report.read_text(encoding="utf-8"))
    assert sorted(f["path"] for f in report["files"]) == sorted(ZIPPED)
    assert report["completeness"]["received"] == 5
    book = openpyxl.load_workbook(summary)
    sources = [[c.value for c in row] for row in book["Nguồn"].iter_rows()]
    shown = {v for row in sources for v in row if isinstance(v, str)}
    assert set(ZIPPED) <= shown
    progress = {v for row in book["Tiến độ"].iter_rows() for v in (c.value for c in row)}
    assert "bao-cao.zip › Tràng Định - báo cáo.xls" in progress
    assert {p: sha(p) for p in zipped.rglob("*") if p.is_file()} == before  # the inbox is only read


def test_newest_wins_when_the_newer_one_is_in_a_zip_listed_first(tmp_path: Path) -> None:
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    shutil.copy2(HUU_LUNG_OLD, inbox / "Huu Lung - bieu so lieu.xlsx")  # saved 5/6
    write_zip(inbox / "00-gui-lai.zip", [("Huu Lung (da sua).ods", HUU_LUNG_NEW)])  # saved 8/6
    result = consolidate(inbox, Options(period=PERIOD))
    paths = [f.path for f in result.files]
    assert paths == ["00-gui-lai.zip › Huu Lung (da sua).ods", "Huu Lung - bieu so lieu.xlsx"]
    newer, older = result.files
    assert (newer.status, older.status) == (ACCEPTED, SUPERSEDED)
    assert older.message == "Đơn vị đã gửi bản mới hơn: 00-gui-lai.zip › Huu Lung (da sua).ods."
    assert json_report_dict(result)["units"]["186"][REPORT_ID] == truth(HUU_LUNG_NEW)["values"]


def test_member_without_a_saved_time_takes_its_zip_time_as_vietnam_time(tmp_path: Path) -> None:
    """Zip times carry no zone. 20:00 on the deadline day is on time in Vietnam (it would be
    03:00 the next day if read as UTC); 06:30 the next day is late."""
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    write_zip(
        inbox / "bao-cao.zip",
        [
            ("Lang Son.xlsx", without_saved_time(LANG_SON, tmp_path / "a.xlsx"), (2024, 6, 10, 20, 0, 0)),
            ("Cao Loc.xlsx", without_saved_time(CAO_LOC, tmp_path / "b.xlsx"), (2024, 6, 11, 6, 30, 0)),
        ],
    )
    result = consolidate(inbox, Options(period=PERIOD, deadline=datetime(2024, 6, 10).date()))
    files = by_path(result)
    on_time, late = files["bao-cao.zip › Lang Son.xlsx"], files["bao-cao.zip › Cao Loc.xlsx"]
    assert (on_time.status, late.status) == (ACCEPTED, ACCEPTED)
    assert on_time.saved_at == datetime(2024, 6, 10, 20, 0, tzinfo=VIETNAM)
    assert late.saved_at == datetime(2024, 6, 11, 6, 30, tzinfo=VIETNAM)
    assert (on_time.late, late.late) == (False, True)
    assert result.completeness.late == ["183"]


# ---------------------------------------------------------------------- zips that must not be opened
def test_damaged_zips_are_listed_once_and_the_run_goes_on(tmp_path: Path) -> None:
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    whole = write_zip(tmp_path / "whole.zip", [("Lang Son.xlsx", LANG_SON), ("Cao Loc.xlsx", CAO_LOC)])
    (inbox / "tai-chua-xong.zip").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    (inbox / "khong-phai-zip.zip").write_bytes(b"Thu moi hop\n" * 100)
    shutil.copy2(TRANG_DINH, inbox / "Trang Dinh.xls")
    result = consolidate(inbox, Options(period=PERIOD))
    assert_accounted(result, inbox)  # each zip once, by its own name
    files = by_path(result)
    for name in ("tai-chua-xong.zip", "khong-phai-zip.zip"):
        assert (files[name].status, files[name].reason) == (REJECTED, "corrupt_file")
        assert files[name].message.startswith("Tệp nén bị hỏng hoặc tải về chưa xong")
        assert files[name].sha256 == sha(inbox / name)
    assert files["Trang Dinh.xls"].status == ACCEPTED


def deflated_zeros(target: Path, megabytes: int) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("bao-cao.xlsx", "w") as w:
        for _ in range(megabytes):
            w.write(bytes(1 << 20))
    return target


def overlapping(target: Path, copies: int) -> Path:
    """A zip whose directory lists one member `copies` times, every entry on the same bytes."""
    one = write_zip(target.parent.parent / "one.zip", [("Lang Son.xlsx", LANG_SON)])
    data = one.read_bytes()
    end = len(data) - 22  # the end record, without a comment
    size, start = struct.unpack_from("<II", data, end + 12)
    entry = data[start : start + size]
    directory = b"".join(entry.replace(b"Lang Son", f"Lang{n:04d}".encode()) for n in range(copies))
    eocd = bytearray(data[end:])
    struct.pack_into("<HHII", eocd, 8, copies, copies, len(directory), start)
    target.write_bytes(data[:start] + directory + bytes(eocd))
    return target


def many_members(target: Path, count: int, size: int = 0) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for n in range(count):
            zf.writestr(f"{n}.txt", bytes(size))
    return target


BOMBS = {  # name -> (build, words of the message)
    "ratio": (lambda p: deflated_zeros(p, 8), "nén chặt bất thường"),
    "overlap": (lambda p: overlapping(p, 50), "chồng lên nhau"),
    "members": (lambda p: many_members(p, MAX_ZIP_MEMBERS + 1), "vượt giới hạn 10.000 tệp"),
    "total": (lambda p: many_members(p, 40, 1 << 20), "lần kích thước của nó"),  # each under the floor
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_zip_bombs_are_refused_whole(kind: str, tmp_path: Path) -> None:
    build, words = BOMBS[kind]
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    bomb = build(inbox / "bom.zip")
    assert bomb.stat().st_size < 2 << 20  # a small file ...
    with zipfile.ZipFile(bomb) as zf:  # ... that zipfile itself would open
        assert zf.infolist()
    shutil.copy2(TRANG_DINH, inbox / "Trang Dinh.xls")
    result = consolidate(inbox, Options(period=PERIOD))
    assert [f.path for f in result.files] == [
        "Trang Dinh.xls",
        "bom.zip",
    ]  # the zip once, none of its members
    files = by_path(result)
    assert (files["bom.zip"].status, files["bom.zip"].reason) == (REJECTED, "file_too_large")
    assert words in files["bom.zip"].message
    assert files["Trang Dinh.xls"].status == ACCEPTED


def test_member_too_large_for_a_report_is_refused_alone(tmp_path: Path) -> None:
    """Stored, not compressed: no bomb, but larger than any report can be."""
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    huge = tmp_path / "huge.xlsx"
    huge.write_bytes(b"PK\x03\x04" + os.urandom(MAX_UNCOMPRESSED))
    with zipfile.ZipFile(inbox / "bao-cao.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.write(huge, "anh-chup.xlsx")
        zf.write(LANG_SON, "Lang Son.xlsx")
    result = consolidate(inbox, Options(period=PERIOD))
    files = by_path(result)
    big = files["bao-cao.zip › anh-chup.xlsx"]
    assert (big.status, big.reason) == (REJECTED, "file_too_large")
    assert files["bao-cao.zip › Lang Son.xlsx"].status == ACCEPTED


def test_member_that_lies_about_its_size_is_refused_alone(tmp_path: Path) -> None:
    """The directory declares fewer bytes than the member inflates to: never trusted."""
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    honest = write_zip(tmp_path / "honest.zip", [("Cao Loc.xlsx", CAO_LOC), ("Lang Son.xlsx", LANG_SON)])
    patch_member(honest, inbox / "bao-cao.zip", "Cao Loc.xlsx", size=CAO_LOC.stat().st_size // 2)
    result = consolidate(inbox, Options(period=PERIOD))
    files = by_path(result)
    liar = files["bao-cao.zip › Cao Loc.xlsx"]
    assert (liar.status, liar.reason) == (REJECTED, "corrupt_file")
    assert "Không giải nén được tệp này" in liar.message
    assert files["bao-cao.zip › Lang Son.xlsx"].status == ACCEPTED
    assert result.totals[REPORT_ID]["hoa_giai_so_vu"] == truth(LANG_SON)["values"]["hoa_giai_so_vu"]


@pytest.mark.skipif(shutil.which("zip") is None, reason="needs Info-ZIP's zip to write an encrypted zip")
def test_member_of_a_zip_with_a_password(tmp_path: Path) -> None:
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    shutil.copy2(LANG_SON, tmp_path / "Lang Son.xlsx")
    subprocess.run(
        ["zip", "-q", "-P", "matkhau", str(inbox / "bao-cao.zip"), "Lang Son.xlsx"], cwd=tmp_path, check=True
    )
    (record,) = consolidate(inbox, Options(period=PERIOD)).files
    assert (record.path, record.status, record.reason) == (
        "bao-cao.zip › Lang Son.xlsx",
        REJECTED,
        "password_protected",
    )
    assert "giải nén (nhập mật khẩu)" in record.message


def test_zip_with_only_folders_is_listed(tmp_path: Path) -> None:
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    write_zip(inbox / "rong.zip", [("Bình Gia/", b""), ("Bình Gia/cũ/", b"")])
    (record,) = consolidate(inbox, Options(period=PERIOD)).files
    assert (record.path, record.status, record.message) == (
        "rong.zip",
        IGNORED,
        "Tệp nén không chứa tệp nào.",
    )
    assert record.sha256 == sha(inbox / "rong.zip")


def test_workbook_renamed_zip_is_read_as_a_workbook(tmp_path: Path) -> None:
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    shutil.copy2(LANG_SON, inbox / "Lang Son.zip")
    shutil.copy2(BINH_GIA, inbox / "Binh Gia.zip")
    result = consolidate(inbox, Options(period=PERIOD))
    assert [(f.path, f.status, f.source.kind) for f in result.files] == [
        ("Binh Gia.zip", ACCEPTED, "file"),
        ("Lang Son.zip", ACCEPTED, "file"),
    ]


def test_check_reads_the_reports_in_a_zip(tmp_path: Path) -> None:
    target = write_zip(tmp_path / "bao-cao.zip", [("Văn Quan.xls", VAN_QUAN), ("Lang Son.xlsx", LANG_SON)])
    result = check([target], Options())
    assert [(f.path, f.status) for f in result.files] == [
        ("bao-cao.zip › Lang Son.xlsx", ACCEPTED),
        ("bao-cao.zip › Văn Quan.xls", ACCEPTED),
    ]
    assert [(i.path, i.code) for i in result.issues if i.severity == "error"] == [
        ("bao-cao.zip › Văn Quan.xls", "ratio_mismatch")
    ]


def test_the_suffixes_named_in_the_message_are_the_ones_read(tmp_path: Path) -> None:
    """One list drives both: every suffix the ignored-file message names is read (a report saved
    under it is accepted, a zip is opened, a saved message's attachment read), .xlsb among them."""
    named = NOT_READ.split("(")[1].rstrip(").").split(", ")
    assert ".xlsb" in named and ".zip" in named and ".eml" in named
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    for suffix in named:  # the content decides how a file is read, the suffix whether it is
        if suffix == ".zip":
            write_zip(inbox / "bao-cao.zip", [("Lang Son.xlsx", LANG_SON)])
        elif suffix == ".eml":
            message = EmailMessage()
            message["From"] = "Thành phố Lạng Sơn <mttq.tplangson@gmail.com>"
            message["Subject"] = "Báo cáo"
            data = LANG_SON.read_bytes()
            message.add_attachment(data, "application", "octet-stream", filename="Lang Son.xlsx")
            (inbox / "thu.eml").write_bytes(bytes(message))
        else:
            shutil.copy2(LANG_SON, inbox / f"Lang Son{suffix}")
    shutil.copy2(LANG_SON, inbox / "Lang Son.csv")
    result = consolidate(inbox, Options(period=PERIOD))
    statuses = {f.path: f.status for f in result.files}
    assert statuses.pop("Lang Son.csv") == IGNORED
    assert len(statuses) == len(SPREADSHEET_SUFFIXES) + 2
    assert set(statuses.values()) == {ACCEPTED, SUPERSEDED}  # the same unit's report, each read
    assert "bao-cao.zip › Lang Son.xlsx" in statuses
    assert "thu.eml › Lang Son.xlsx" in statuses


# ---------------------------------------------------------------------- names that are not UTF-8
VAN_QUAN_NAME = cp1258("Báo cáo Văn Quan.xls")  # a Windows name, unzipped on Linux
VAN_QUAN_SHOWN = "B\\xe1o c\\xe1o V\\xe3n Quan.xls"
NOTE_NAME = b"ghi-chu-\xe1.txt"  # the issue's example
NOTE_SHOWN = "ghi-chu-\\xe1.txt"


@pytest.fixture
def odd_names(tmp_path: Path) -> Path:
    inbox = tmp_path / "hop-thu"
    (inbox / "huyen").mkdir(parents=True)
    shutil.copy2(VAN_QUAN, inbox / os.fsdecode(VAN_QUAN_NAME))
    (inbox / os.fsdecode(NOTE_NAME)).write_bytes(b"x")
    shutil.copy2(TRANG_DINH, inbox / os.fsdecode(b"huyen/Tr\xe0ng \xd0i\xf2nh.xls"))
    return inbox


@pytest.mark.parametrize("per_unit", ["sheets", "rows"])
def test_names_that_are_not_utf8_are_shown_readable(odd_names: Path, tmp_path: Path, per_unit: str) -> None:
    summary, json_report = tmp_path / "tong-hop.xlsx", tmp_path / "bao-cao.json"
    result = run(
        "consolidate",
        odd_names,
        "-o",
        summary,
        "--period",
        "2024-6T",
        "--report",
        json_report,
        "--per-unit",
        per_unit,
    )
    assert result.exit_code == 1, (result.output, result.exception)  # Văn Quan's ratio is wrong
    shown = {VAN_QUAN_SHOWN, NOTE_SHOWN, "huyen/Tr\\xe0ng \\xd0i\\xf2nh.xls"}
    report = json.loads(json_report.read_text(encoding="utf-8"))
    assert {f["path"]: f["status"] for f in report["files"]} == {
        VAN_QUAN_SHOWN: ACCEPTED,
        NOTE_SHOWN: IGNORED,
        "huyen/Tr\\xe0ng \\xd0i\\xf2nh.xls": ACCEPTED,
    }
    assert {f["path"]: f["sha256"] for f in report["files"]}[VAN_QUAN_SHOWN] == sha(VAN_QUAN)
    assert [(i["path"], i["code"]) for i in report["issues"] if i["severity"] == "error"] == [
        (VAN_QUAN_SHOWN, "ratio_mismatch")
    ]
    assert report["units"]["184"][REPORT_ID] == truth(VAN_QUAN)["values"]  # its figures count
    book = openpyxl.load_workbook(summary)
    texts = {
        c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)
    }
    assert set(shown) <= texts
    sources = {row[1].value for row in book["Nguồn"].iter_rows()}
    assert set(shown) <= sources


def test_the_issue_example_writes_its_summary_and_report(tmp_path: Path) -> None:
    """As the issue runs it, in a real process given the name's bytes: `printf x > "$(printf
    'in/ghi-chu-\\xe1.txt')"`, then consolidate. No report received is a finding (exit 1), not a
    crash; the name shows readable on screen and in both outputs."""
    (tmp_path / "in").mkdir()
    (tmp_path / os.fsdecode(b"in/" + NOTE_NAME)).write_bytes(b"x")
    command = ["consolidate", "in", "-o", "y.xlsx", "--period", "2026", "--report", "y.json"]
    done = subprocess.run(
        [sys.executable, "-m", "mttq_xlsx.cli", *command], cwd=tmp_path, capture_output=True, timeout=120
    )
    assert done.returncode == 1, done.stderr.decode(errors="replace")
    assert done.stderr == b""
    assert done.stdout.decode("utf-8").splitlines() == [
        "Báo cáo JSON: y.json",
        "Đã đọc 1 tệp: 0 được nhận, 0 bị loại, 0 bị thay thế bởi bản mới hơn, 1 bỏ qua.",
        "Lỗi: 0; cảnh báo: 0.",
        "Bảng tổng hợp: y.xlsx",
    ]
    report = json.loads((tmp_path / "y.json").read_text(encoding="utf-8"))
    assert [(f["path"], f["status"], f["sha256"]) for f in report["files"]] == [
        (NOTE_SHOWN, IGNORED, hashlib.sha256(b"x").hexdigest())
    ]
    sources = {
        c.value for row in openpyxl.load_workbook(tmp_path / "y.xlsx")["Nguồn"].iter_rows() for c in row
    }
    assert NOTE_SHOWN in sources


def test_check_files_whose_names_are_not_utf8(odd_names: Path) -> None:
    result = run("check", odd_names / os.fsdecode(VAN_QUAN_NAME), odd_names / os.fsdecode(NOTE_NAME))
    assert result.exit_code == 1, (result.output, result.exception)
    lines = result.stdout.splitlines()
    assert lines[0] == f"{VAN_QUAN_SHOWN}: đọc được"
    assert "tỷ lệ ghi 72,97%" in lines[1]
    assert lines[2] == f"{NOTE_SHOWN}: bỏ qua — {NOT_READ}"
