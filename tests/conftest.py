"""Shared test setup: a small roster, and the check that every JSON report the tests make
validates against the package's schema. (`tools` is importable: pytest puts the repository root
on sys.path, see `pythonpath` in pyproject.toml.)"""

from __future__ import annotations

import pytest

from mttq_xlsx.roster import Unit

pytest_plugins = ("tests.report_schema",)


@pytest.fixture(scope="session")
def three_units() -> tuple[Unit, ...]:
    """Three communes of Lạng Sơn, as a roster CSV would give them."""
    return (
        Unit("05977", "Phường Đông Kinh", "20", "phuong"),
        Unit("06184", "Xã Đồng Đăng", "20", "xa"),
        Unit("06385", "Xã Hữu Lũng", "20", "xa"),
    )
