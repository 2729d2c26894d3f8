"""Periods, and atomic output that leaves the old file intact whatever goes wrong."""

from __future__ import annotations

import errno
import os
from datetime import date
from pathlib import Path

import pytest

from mttq_xlsx.errors import OutputError, UsageError
from mttq_xlsx.output import atomic_path, reason
from mttq_xlsx.periods import current_period, parse_period


def test_six_month_and_annual_periods() -> None:
    half = parse_period("2024-6T")
    assert (half.start, half.end, half.deadline) == (date(2024, 1, 1), date(2024, 6, 30), date(2024, 6, 10))
    assert half.label == "6 tháng đầu năm 2024"
    year = parse_period("2023")
    assert (year.end, year.deadline, year.label) == (date(2023, 12, 31), date(2023, 11, 22), "năm 2023")


def test_custom_data_range() -> None:
    cut = parse_period("2024-6T", end=date(2024, 6, 3))
    assert cut.contains(date(2024, 6, 3)) and not cut.contains(date(2024, 6, 4))


@pytest.mark.parametrize("text", ["2024-7T", "24", "2024/6T", "", "1999"])
def test_bad_period_text(text: str) -> None:
    with pytest.raises(UsageError, match=r"Kỳ báo cáo|Năm"):
        parse_period(text)


def test_start_after_end_is_refused() -> None:
    with pytest.raises(UsageError, match="sau ngày kết thúc"):
        parse_period("2024", start=date(2024, 7, 1), end=date(2024, 6, 1))


def test_current_period_switches_after_the_six_month_deadline() -> None:
    assert current_period(date(2026, 6, 10)).id == "2026-6T"
    assert current_period(date(2026, 6, 11)).id == "2026"


def test_atomic_write_replaces_and_is_readable_by_others(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("mới")
    assert target.read_text() == "mới"
    assert target.stat().st_mode & 0o044  # not private like a mkstemp file
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_write_keeps_the_permissions_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("cũ")
    target.chmod(0o600)
    with atomic_path(target) as tmp:
        tmp.write_text("mới")
    assert target.read_text() == "mới"
    assert target.stat().st_mode & 0o777 == 0o600


def test_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("cũ")
    with pytest.raises(OutputError, match="Không ghi được"), atomic_path(target) as tmp:
        tmp.write_text("nửa chừng")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert target.read_text() == "cũ"
    assert list(tmp_path.iterdir()) == [target]


def test_file_open_in_excel_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "tong-hop.xlsx"
    target.write_bytes(b"old")
    (tmp_path / "~$tong-hop.xlsx").write_bytes(b"lock")
    with pytest.raises(OutputError, match="đang được mở"), atomic_path(target):
        pass
    assert target.read_bytes() == b"old"


def test_folder_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="Không tạo được thư mục"), atomic_path(blocker / "sub" / "a.txt"):
        pass


def test_system_errors_are_told_in_vietnamese(tmp_path: Path) -> None:
    """The system's own words (strerror) are English; every error gets Vietnamese words."""
    loop = tmp_path / "vong"
    loop.symlink_to(loop)
    raised = []
    for path in (tmp_path, loop, tmp_path / "khong-co" / "x"):
        with pytest.raises(OSError) as info:
            path.read_bytes()
        raised.append(info.value)
    raised.append(OSError(errno.EHOSTDOWN, os.strerror(errno.EHOSTDOWN)))  # one without words of its own
    told = [reason(exc) for exc in raised]
    assert told == [
        "đó là một thư mục",
        "liên kết trỏ vòng quanh",
        "đường dẫn không tồn tại",
        f"lỗi hệ thống số {errno.EHOSTDOWN}",
    ]
    assert not any(exc.strerror in text for exc, text in zip(raised, told, strict=True))
