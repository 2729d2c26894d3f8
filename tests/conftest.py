"""Shared test setup: make the repository's `tools/` package importable, a small roster, and the
check that every JSON report the tests make validates against the package's schema."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mttq_xlsx.roster import Unit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest_plugins = ("tests.report_schema",)


@pytest.fixture(scope="session")
def three_units() -> tuple[Unit, ...]:
    """Three communes of Lạng Sơn, as a roster CSV would give them."""
    return (
        Unit("05977", "Phường Đông Kinh", "20", "phuong"),
        Unit("06184", "Xã Đồng Đăng", "20", "xa"),
        Unit("06385", "Xã Hữu Lũng", "20", "xa"),
    )
