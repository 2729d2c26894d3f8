"""Worker processes that no single item can take down (mttq_xlsx/workers.py).

The tasks below do to a worker what a damaged file does to calamine: abort the process, ask for
more memory than the cap, spin without end, or raise. The files that really do it are read
through the same path in tests/test_fuzz.py (regressions) and tests/test_robustness.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mttq_xlsx.workers import Failed, Limits, run

LIMITS = Limits(seconds=2.0, memory=200 << 20)


def behave(item: str) -> str:
    """What one item does to the worker that handles it."""
    if item == "abort":
        os.abort()
    if item == "spin":
        while True:
            pass
    if item == "hoard":
        chunks = []
        while True:
            chunks.append(bytearray(64 << 20))  # touched: a real allocation, not a reservation
    if item == "bug":
        raise ValueError("a bug in the task, not in the item")
    return f"{item} read by {os.getpid()}"


def _all(items: list[str], workers: int = 2, batch_size: int = 3) -> dict[int, str | Failed]:
    return dict(run(behave, items, workers=workers, limits=LIMITS, batch_size=batch_size))


def test_every_item_comes_back_once_with_its_index() -> None:
    items = [f"file {i}" for i in range(20)]
    results = _all(items)
    assert sorted(results) == list(range(20))
    assert all(str(results[i]).startswith(f"{item} read by ") for i, item in enumerate(items))
    assert {str(r).rsplit(" ", 1)[1] for r in results.values()} != {str(os.getpid())}  # not in-process


@pytest.mark.parametrize("workers", [1, 2])
def test_an_aborting_item_fails_alone_and_the_rest_of_its_batch_is_read(workers: int) -> None:
    items = ["a", "b", "abort", "c", "d", "abort", "e"]
    results = _all(items, workers=workers)
    assert sorted(results) == list(range(len(items)))
    for i, item in enumerate(items):
        if item == "abort":
            failed = results[i]
            assert isinstance(failed, Failed) and failed.kind == "crash"
            assert "SIGABRT" in failed.detail
        else:
            assert str(results[i]).startswith(f"{item} read by ")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the memory cap is set on Linux only")
def test_an_item_that_wants_too_much_memory_fails_as_memory() -> None:
    results = _all(["a", "hoard", "b"], workers=1)
    assert isinstance(results[1], Failed) and results[1].kind == "memory"
    assert str(results[0]).startswith("a read by ") and str(results[2]).startswith("b read by ")


def test_a_spinning_item_is_stopped_at_the_time_limit() -> None:
    start = time.monotonic()
    results = _all(["a", "spin", "b", "c"], workers=2, batch_size=2)
    elapsed = time.monotonic() - start
    assert isinstance(results[1], Failed) and results[1].kind == "timeout"
    assert "over 2 s" in results[1].detail
    assert [str(results[i]).split(" read")[0] for i in (0, 2, 3)] == ["a", "b", "c"]
    assert elapsed < LIMITS.seconds + 5  # the run went on after the limit instead of waiting


def test_a_bug_in_the_task_is_raised_not_hidden() -> None:
    with pytest.raises(ValueError, match="a bug in the task"):
        _all(["a", "bug", "b"], workers=1)


def test_no_worker_outlives_the_run() -> None:
    import multiprocessing

    _all(["a", "abort", "b", "c"], workers=2)
    assert multiprocessing.active_children() == []


def test_workers_that_cannot_start_stop_the_run_instead_of_looping() -> None:
    items = ["a", "b", "c"]
    with pytest.raises(RuntimeError, match="die on start"):
        dict(run(behave, items, workers=2, limits=LIMITS, setup=os.abort))


SPAWNED_RUN = r"""
import multiprocessing, sys
from pathlib import Path
from mttq_xlsx import Options, consolidate
from mttq_xlsx.periods import parse_period
from mttq_xlsx.workers import Limits

if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")  # as on Windows and macOS: nothing inherited
    result = consolidate(Path(sys.argv[1]), Options(period=parse_period("2024-6T"), limits=Limits(seconds=2)))
    for record in result.files:
        print(record.path, record.status, record.reason)
"""


def test_reading_works_when_workers_are_spawned_not_forked(tmp_path: Path) -> None:
    """Windows and macOS start workers fresh: the task, its setup and the options must travel."""
    root = Path(__file__).resolve().parents[1]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy2(
        root / "samples" / "inbox" / "huyen-phia-bac" / "BC 6 thang - Trang Dinh.xls", inbox / "a.xls"
    )
    shutil.copy2(root / "tests" / "regressions" / "calamine_hang-d3ac21714f71.ods", inbox / "hang.ods")
    script = tmp_path / "spawned.py"
    script.write_text(SPAWNED_RUN, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script), str(inbox)], capture_output=True, text=True, timeout=120, cwd=root
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines() == ["a.xls accepted ", "hang.ods rejected corrupt_file"]
