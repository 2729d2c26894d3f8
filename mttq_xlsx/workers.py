"""Run a task over many items in worker processes that no single item can take down.

The spreadsheet parser (calamine) is Rust: on some damaged files it aborts the whole process,
asks for gigabytes or spins for minutes, and none of that can be caught in Python. So every item
is handled in a worker process with a memory cap (where the system has one) and a time limit.
A worker that dies or stalls is killed and replaced; the item it was on comes back as `Failed`
and the rest of its batch goes to another worker.
"""

from __future__ import annotations

import contextlib
import faulthandler
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

STDERR_KEPT = 64_000  # bytes of what a dead worker wrote that are looked at
STDERR_SHOWN = 600  # characters of it shown when the workers cannot start at all


@dataclass(frozen=True)
class Limits:
    seconds: float = 60.0  # for one item; a real workbook takes well under a second
    memory: int | None = 400 << 20  # bytes a worker may allocate beyond what it had at start


@dataclass(frozen=True)
class Failed:
    """An item whose worker died or stalled on it."""

    kind: str  # "timeout" | "memory" | "crash"
    detail: str  # the signal or exit code, and the end of what the worker wrote to stderr


@dataclass
class _Worker(Generic[Item]):
    process: Any  # multiprocessing.Process (the context's own class)
    conn: Connection
    started: Any  # shared counter: how many items of its batch the worker has begun
    stderr_path: str
    batch: list[tuple[int, Item]] = field(default_factory=list)
    seen: int = 0  # `started` when last looked at
    since: float = 0.0  # when it was seen to begin its current item

    def stop(self) -> str:
        """Kill the process and return the start of what it wrote to stderr."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        try:
            with open(self.stderr_path, "rb") as f:
                text = f.read(STDERR_KEPT).decode("utf-8", "replace")
        except OSError:
            text = ""
        with contextlib.suppress(OSError):
            os.unlink(self.stderr_path)
        return text

    def give(self, batch: list[tuple[int, Item]]) -> bool:
        self.started.value = self.seen = 0
        try:
            self.conn.send([item for _, item in batch])
        except OSError:  # it died while idle
            return False
        self.batch, self.since = batch, time.monotonic()
        return True

    def stalled(self, seconds: float) -> bool:
        now = time.monotonic()
        if self.started.value != self.seen:
            self.seen, self.since = self.started.value, now
        return now - self.since > seconds


def run(
    task: Callable[[Item], Result],
    items: Sequence[Item],
    *,
    workers: int,
    limits: Limits,
    setup: Callable[..., None] | None = None,
    setup_args: tuple[Any, ...] = (),
    batch_size: int = 1,
) -> Iterator[tuple[int, Result | Failed]]:
    """Yield (index in `items`, result or Failed) for every item, a batch at a time.

    `task` and `setup` run in the workers (`setup(*setup_args)` once per worker); they must be
    module-level functions. An exception raised by `task` is raised here, as it would be in-process.
    A worker sends back a whole batch at once (one message, not one per item; batches of at most
    `batch_size`, smaller towards the end); when it dies, its shared counter says which item it
    was on, and the other items of the batch are read again.
    """
    pending = deque(_batches(list(enumerate(items)), batch_size, workers))
    context = multiprocessing.get_context()
    pool: list[_Worker[Item]] = []
    idle_deaths = 0
    try:
        while pending or any(w.batch for w in pool):
            while pending and len(pool) < max(1, workers):
                pool.append(_start(context, task, setup, setup_args, limits.memory))
            for w in list(pool):
                if not w.batch and pending:
                    batch = pending.popleft()
                    if not w.give(batch):  # nothing of the batch is to blame
                        pending.appendleft(batch)
                        pool.remove(w)
                        w.stop()
            busy = [w for w in pool if w.batch]
            if not busy:
                continue
            # wake up now and then to see whether a worker is still moving through its batch
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy], min(1.0, limits.seconds))
            for w in busy:
                batch, failed = w.batch, ""
                try:
                    results = w.conn.recv() if w.conn.poll() else None
                except (EOFError, OSError):  # the pipe broke: the worker is dead
                    results, failed = None, "crash"
                if results is not None:
                    w.batch, idle_deaths = [], 0
                    for (index, _), (outcome, value) in zip(batch, results, strict=True):
                        if outcome == "raised":
                            raise value
                        yield index, Failed("memory", value) if outcome == "memory" else value
                    continue
                if not failed and not w.process.is_alive():
                    failed = "crash"
                if not failed and w.stalled(limits.seconds):
                    failed = "timeout"
                if failed:
                    pool.remove(w)
                    if w.started.value == 0:  # it died before beginning any item: none is to blame
                        pending.appendleft(batch)
                        idle_deaths += 1
                        if idle_deaths > 2 * workers + 2:  # a broken setup, not a bad item
                            raise RuntimeError(f"worker processes die on start: {w.stop()[-STDERR_SHOWN:]}")
                        w.stop()
                        continue
                    on = w.started.value - 1  # the item it was on; results before it are lost
                    yield batch[on][0], _failure(w, failed, limits)
                    rest = batch[:on] + batch[on + 1 :]
                    if rest:
                        pending.appendleft(rest)
        for w in pool:
            with contextlib.suppress(OSError):
                w.conn.send(None)
    finally:
        for w in pool:
            w.stop()


def _batches(numbered: list[tuple[int, Item]], size: int, workers: int) -> Iterator[list[tuple[int, Item]]]:
    """Batches of at most `size` items, smaller towards the end (each at most an eighth of what is
    left for each worker), so that the workers run out of work at about the same time."""
    start = 0
    while start < len(numbered):
        step = max(1, min(size, (len(numbered) - start) // (8 * max(1, workers))))
        yield numbered[start : start + step]
        start += step


def _failure(w: _Worker[Any], kind: str, limits: Limits) -> Failed:
    stderr = w.stop()
    code = w.process.exitcode
    if kind == "crash" and ("memory allocation" in stderr or "MemoryError" in stderr):
        kind = "memory"
    how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
    detail = f"over {limits.seconds:g} s" if kind == "timeout" else how
    last = [line for line in stderr.strip().splitlines() if line.strip()][-1:]
    return Failed(kind, f"{detail}: {last[0][:300]}" if last else detail)


def _start(
    context: Any,
    task: Callable[[Any], Any],
    setup: Callable[..., None] | None,
    setup_args: tuple[Any, ...],
    memory: int | None,
) -> _Worker[Any]:
    ours, theirs = context.Pipe()
    started = context.RawValue("l", 0)
    fd, stderr_path = tempfile.mkstemp(prefix="mttq-worker-", suffix=".log")
    os.close(fd)
    process = context.Process(
        target=_serve, args=(theirs, started, task, setup, setup_args, memory, stderr_path), daemon=True
    )
    process.start()
    theirs.close()
    return _Worker(process, ours, started, stderr_path)


def _serve(
    conn: Connection,
    started: Any,
    task: Callable[[Any], Any],
    setup: Callable[..., None] | None,
    setup_args: tuple[Any, ...],
    memory: int | None,
    stderr_path: str,
) -> None:
    """A worker's life: take a batch, count the items begun, send back the results, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    log = os.open(stderr_path, os.O_WRONLY | os.O_APPEND)
    os.dup2(log, 2)  # a Rust abort message goes here, not onto the user's screen
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    faulthandler.disable()  # if the parent had it on, its dumps would go to the parent's screen
    os.environ["RUST_BACKTRACE"] = "0"  # a Rust backtrace means nothing to the user
    if memory is not None:
        _cap_memory(memory)
    if setup is not None:
        setup(*setup_args)
    while True:
        batch = conn.recv()
        if batch is None:
            return
        results = []
        for number, item in enumerate(batch, 1):
            started.value = number
            try:
                results.append(("done", task(item)))
            except MemoryError:  # the failed allocation is gone: say so and go on
                results.append(("memory", "MemoryError"))
            except Exception as exc:  # a bug, not a bad file: the parent raises it
                results.append(("raised", exc))
        conn.send(results)


def _cap_memory(extra: int) -> None:
    """Let this process allocate at most `extra` more bytes (Linux; elsewhere only the time limit holds)."""
    if not sys.platform.startswith("linux"):
        return
    import resource

    used = 0
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                used = int(line.split()[1]) * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = used + extra
    for cap in (soft, hard):  # never loosen a cap someone already set
        if cap != resource.RLIM_INFINITY:
            limit = min(limit, cap)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
