"""Copies of a zip with members replaced (mttq_xlsx.zipparts), against what zipfile writes."""

from __future__ import annotations

import io
import os
import random
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.packager import Packager

from mttq_xlsx import zipparts
from mttq_xlsx.zipparts import DeflatingZipFile, ZipCopier

MEMBERS = {"a.xml": b"<a>" + b"x" * 5000 + b"</a>", "b/c.xml": "Xã Đồng Đăng".encode(), "d.bin": b"\0" * 99}


def written(members: dict[str, bytes], kinds: dict[str, int]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, (1980, 1, 31, 0, 0, 0))
            info.compress_type = kinds[name]
            info.external_attr = 0o600 << 16
            zf.writestr(info, content)
    return out.getvalue()


@pytest.mark.parametrize("kind", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_a_copy_is_the_zip_zipfile_writes_with_the_new_content(kind: int) -> None:
    kinds = {"a.xml": zipfile.ZIP_DEFLATED, "b/c.xml": kind, "d.bin": zipfile.ZIP_STORED}
    copier = ZipCopier(written(MEMBERS, kinds))
    assert copier.read("b/c.xml") == MEMBERS["b/c.xml"]
    new = {"b/c.xml": "Phường Đông Kinh, a longer name".encode(), "d.bin": b"\1" * 7}
    copy = copier.copy(new)
    assert copy == written(MEMBERS | new, kinds)
    with zipfile.ZipFile(io.BytesIO(copy)) as zf:
        assert zf.testzip() is None
        assert {n: zf.read(n) for n in zf.namelist()} == MEMBERS | new
    assert copier.copy({}) == written(MEMBERS, kinds)


def test_only_members_it_holds_are_replaced() -> None:
    copier = ZipCopier(written(MEMBERS, dict.fromkeys(MEMBERS, zipfile.ZIP_DEFLATED)))
    with pytest.raises(KeyError, match=r"e\.xml"):
        copier.copy({"e.xml": b""})


def test_a_zip_with_data_descriptors_is_refused() -> None:
    """Sizes written after the data (what a zip written to a pipe has): not a zip it copies."""
    data = bytearray(written(MEMBERS, dict.fromkeys(MEMBERS, zipfile.ZIP_DEFLATED)))
    data[data.find(b"PK\x01\x02") + 8] |= 0x08  # the first member's flags in the directory
    with pytest.raises(ValueError, match=r"a\.xml"):
        ZipCopier(bytes(data))


def test_deflating_on_threads_writes_what_zipfile_writes(tmp_path: Path) -> None:
    """Members written from files, deflated on two threads, are the bytes ZipFile.write writes:
    large ones (deflated in pieces), small, empty and stored ones, in their order."""
    rng = random.Random(13)
    files = {
        "xl/worksheets/sheet1.xml": "".join(
            f'<c r="A{i}"><v>{rng.random()}</v></c>' for i in range(40_000)
        ).encode(),
        "xl/styles.xml": b"<styleSheet/>" * 50,
        "xl/media/image1.png": bytes(rng.randrange(256) for _ in range(20_000)),
        "docProps/empty.xml": b"",
    }
    for name, content in files.items():
        (tmp_path / name.replace("/", "_")).write_bytes(content)

    def written(cls: type[zipfile.ZipFile]) -> bytes:
        out = tmp_path / f"{cls.__name__}.zip"
        with cls(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in files:
                stored = name.endswith(".png")
                zf.write(tmp_path / name.replace("/", "_"), name, zipfile.ZIP_STORED if stored else None)
        return out.read_bytes()

    assert written(DeflatingZipFile) == written(zipfile.ZipFile)
    with zipfile.ZipFile(tmp_path / "DeflatingZipFile.zip") as zf:
        assert zf.testzip() is None
        assert {n: zf.read(n) for n in zf.namelist()} == files


def test_parts_deflated_as_xlsxwriter_writes_them_are_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within `deflating_in_parallel`, each part xlsxwriter's packager writes is deflated while
    it writes the next ones: the workbook is byte for byte the one xlsxwriter writes alone."""
    rng = random.Random(7)

    def workbook(path: Path) -> bytes:
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        wb.set_properties({"created": datetime(2025, 1, 1)})
        fmt = wb.add_format({"num_format": "#,##0.00"})
        for n in range(3):
            ws = wb.add_worksheet(f"Trang {n}")
            for row in range(3000):
                ws.write_number(row, 0, rng.random(), fmt)
                ws.write_string(row, 1, f"Xã {rng.randrange(10**6)} — {row}")
        wb.close()
        return path.read_bytes()

    alone = workbook(tmp_path / "alone.xlsx")
    rng.seed(7)
    ahead: list[bool] = []  # per part zipped: whether it was being deflated already
    take = zipparts._Ahead.take

    def spy(self: Any, filename: Any, level: Any) -> Any:
        ahead.append(str(filename) in self.files)
        return take(self, filename, level)

    monkeypatch.setattr(zipparts._Ahead, "take", spy)
    with zipparts.deflating_in_parallel(xlsxwriter.workbook):
        assert xlsxwriter.workbook.Packager is not Packager
        together = workbook(tmp_path / "together.xlsx")
    assert xlsxwriter.workbook.Packager is Packager and xlsxwriter.workbook.ZipFile is zipfile.ZipFile
    if (os.cpu_count() or 1) > 1:
        assert ahead.count(True) == len(ahead) - 1, "the parts were not deflated as they were written"
    assert together == alone
