"""Shared test setup: a small roster. (`tools` is importable: pytest puts the repository root on
sys.path, see `pythonpath` in pyproject.toml.)"""

from __future__ import annotations

import pytest

from mttq_xlsx.roster import Unit


@pytest.fixture(scope="session")
def three_units() -> tuple[Unit, ...]:
    """Three communes of Lạng Sơn, as a roster CSV would give them."""
    return (
        Unit("05977", "Phường Đông Kinh", "20", "phuong"),
        Unit("06184", "Xã Đồng Đăng", "20", "xa"),
        Unit("06385", "Xã Hữu Lũng", "20", "xa"),
    )
