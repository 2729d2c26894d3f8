"""Copies of a zip with members replaced (mttq_xlsx.zipparts), against what zipfile writes."""

from __future__ import annotations

import io
import zipfile

import pytest

from mttq_xlsx.zipparts import ZipCopier

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
