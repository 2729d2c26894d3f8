"""Issue #5, properties and fuzzing: whatever arrives, a run finishes and accounts for every file.

Three parts:

* Properties of `consolidate` on the sample inbox (hypothesis): the result does not depend on the
  files' names, folders or order, nor on extra ignored files; every file appears exactly once;
  the totals are the sums of the accepted submissions; rejected and superseded files add nothing.
* A byte-mutation fuzzer over three real filled workbooks (xlsx, xls, ods made by LibreOffice):
  bytes flipped, cut, inserted, deleted or duplicated, and for the zip formats also inside an
  inflated XML part, re-zipped. Inputs go in batches of BATCH through one `check` run
  (whose reading workers must contain whatever a file does) in a forked copy of this process (the
  library already imported), so anything that escapes them, a crash or a hang of the run, is seen
  and reported instead of taking pytest down; the child has a memory cap and a time limit.
* Regression inputs: every file under `tests/regressions/` (inputs the fuzzer found) is read the
  same way. A file named `<bug>-<sha>.<ext>` for a bug still listed in KNOWN_BUGS is a strict
  xfail; when the bug is fixed, drop it from KNOWN_BUGS.

Budget: about a minute on a 2-core machine. `MTTQ_FUZZ_EXAMPLES` sets the number of fuzzed inputs
per format (default 2000), `MTTQ_FUZZ_SECONDS` the wall-clock cap per format (default 20);
`MTTQ_FUZZ_RANDOM=1` explores new inputs (CI uses a fixed, derandomized sequence), and
`MTTQ_FUZZ_SAVE` the folder where a failing input is written (default: a temp folder). Run with
`-s` to see the figures: inputs tried, time, outcomes, known-bug hits.
"""

from __future__ import annotations

import collections
import faulthandler
import hashlib
import io
import json
import os
import re
import resource
import select
import shutil
import signal
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mttq_xlsx import Options, check, consolidate
from mttq_xlsx.codes import ACCEPTED, IGNORED, REJECTED, REJECTION_CODES, SUPERSEDED
from mttq_xlsx.json_report import json_report_dict
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import read_roster
from mttq_xlsx.workers import Limits
from tests.accounting import assert_accounted

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inbox"
REGRESSIONS = Path(__file__).resolve().parent / "regressions"
SEEDS = {  # real filled workbooks, saved by LibreOffice
    "xlsx": SAMPLES / "Bieu so lieu 6 thang 2024 - TP Lang Son.xlsx",
    "xls": SAMPLES / "huyen-phia-bac" / "BC 6 thang - Trang Dinh.xls",
    "ods": SAMPLES / "huyen-phia-bac" / "Binh Gia_bieu so lieu.ods",
}
PERIOD = parse_period("2024-6T")
ROSTER = tuple(read_roster(ROOT / "samples" / "don-vi.csv"))

EXAMPLES = int(os.environ.get("MTTQ_FUZZ_EXAMPLES", "2000"))  # per format
SECONDS = float(os.environ.get("MTTQ_FUZZ_SECONDS", "20"))  # per format, wall clock
RANDOM = os.environ.get("MTTQ_FUZZ_RANDOM") == "1"
READ_LIMIT = 2.0  # seconds the reader gives one file (a real one takes < 0.3 s) before rejecting it
TIME_LIMIT = 3.0  # for the child's run beyond READ_LIMIT per file: past it, the run itself hung
BATCH = 8  # mutated files read together in one run
MEMORY_LIMIT = 2 << 30  # bytes of heap for the child reading one input

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the isolation harness needs fork()")


# ====================================================================== isolation harness
@dataclass(frozen=True)
class Outcome:
    """What reading one file did, seen from outside the process that read it."""

    kind: str  # "ok" | "exception" | "signal" | "timeout" | "no_result" (the last four: of the whole run)
    status: str = ""  # of the file, when kind == "ok"
    reason: str = ""
    error: str = ""  # exception type name, or signal name
    message: str = ""
    frames: tuple[str, ...] = ()  # "file.py:function" of the traceback, innermost last
    seconds: float = 0.0  # of the whole run the file was read in
    stderr: str = ""

    def describe(self) -> str:
        if self.kind == "ok":
            return f"{self.status} {self.reason}"
        lines = (self.message or self.stderr).strip().splitlines()
        first = [" < ".join(x.strip() for x in lines[1:4])] if self.kind == "timeout" else lines[:1]
        return f"{self.kind} {self.error}: {first[0][:200] if first else ''} ({' > '.join(self.frames[-4:])})"


def run_isolated(paths: list[Path], memory: int = MEMORY_LIMIT) -> list[Outcome]:
    """`check(paths)` in a forked child with a heap cap: one Outcome per path, or, when the
    run itself crashed or hung, that one Outcome for every path (reported, not suffered)."""
    timeout = TIME_LIMIT + READ_LIMIT * len(paths)  # even if every file stalls its worker
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            try:
                os.close(read_end)
                faulthandler.disable()  # pytest's handler writes to the real stderr
                os.dup2(err.fileno(), 1)
                os.dup2(err.fileno(), 2)
                faulthandler.register(signal.SIGUSR1, file=err, all_threads=False)  # where it hangs
                os.environ["RUST_BACKTRACE"] = "0"
                hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
                resource.setrlimit(resource.RLIMIT_DATA, (memory, hard))
                payload: dict[str, Any]
                try:
                    records = check(paths, Options(limits=Limits(seconds=READ_LIMIT))).files
                    payload = {"kind": "ok", "files": [[r.status, r.reason] for r in records]}
                except BaseException as exc:  # a Rust panic is a BaseException
                    frames = traceback.extract_tb(exc.__traceback__)
                    payload = {
                        "kind": "exception",
                        "error": type(exc).__name__,
                        "message": str(exc)[:500],
                        "frames": [f"{Path(f.filename).name}:{f.name}" for f in frames],
                    }
                os.write(write_end, json.dumps(payload).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        chunks: list[bytes] = []
        timed_out = False
        deadline = start + timeout
        try:
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    timed_out = True
                    break
                ready, _, _ = select.select([read_end], [], [], left)
                if ready:
                    chunk = os.read(read_end, 1 << 16)
                    if not chunk:
                        break
                    chunks.append(chunk)
        finally:
            if timed_out:
                os.kill(pid, signal.SIGUSR1)  # the child writes its Python stack to stderr ...
                time.sleep(0.3)
                os.kill(pid, signal.SIGKILL)  # ... and goes
            _, status = os.waitpid(pid, 0)
            os.close(read_end)
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read(16000).decode("utf-8", "replace")  # the head: panic text, innermost frames
    if timed_out:
        return [Outcome("timeout", error=f"over {timeout:g} s", seconds=seconds, stderr=stderr)] * len(paths)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return [Outcome("signal", error=name, seconds=seconds, stderr=stderr)] * len(paths)
    if not chunks:
        return [Outcome("no_result", seconds=seconds, stderr=stderr)] * len(paths)
    data = json.loads(b"".join(chunks))
    if data["kind"] != "ok":
        data["frames"] = tuple(data.get("frames", ()))
        return [Outcome(**data, seconds=seconds, stderr=stderr)] * len(paths)
    return [Outcome("ok", status, reason, seconds=seconds) for status, reason in data["files"]]


def problem(outcome: Outcome) -> str | None:
    """Why an outcome breaks the contract, or None: accepted (or superseded by another accepted
    file of the batch for the same unit), or rejected with a known code, in time."""
    if outcome.kind != "ok":
        return outcome.describe()
    if outcome.status not in (ACCEPTED, SUPERSEDED, REJECTED):
        return f"status {outcome.status!r} for a spreadsheet file"
    if outcome.status == REJECTED and outcome.reason not in REJECTION_CODES:
        return f"unknown rejection code {outcome.reason!r}"
    return None


# ====================================================================== known, open bugs
@dataclass(frozen=True)
class KnownBug:
    reason: str
    matches: Callable[[Outcome], bool]


# Crash classes found by this fuzzer and not fixed yet (see docs/robustness.md). The fuzzer counts
# inputs that hit one and goes on looking for new ones; regression files named after one are strict
# xfails. Remove an entry once the bug is fixed.
KNOWN_BUGS: dict[str, KnownBug] = {
    # none open. Fixed: "memory" (a damaged .xls made calamine abort or take gigabytes) and
    # "calamine_hang" (a damaged .ods made it spin for minutes): files are now read in worker
    # processes with a memory cap and a time limit (mttq_xlsx/workers.py), and rejected cleanly.
}


def known_bug(outcome: Outcome) -> str | None:
    return next((name for name, bug in KNOWN_BUGS.items() if bug.matches(outcome)), None)


# ====================================================================== mutations
WHERE = st.sampled_from(("start", "any", "end"))  # zip directories sit at the end, OLE headers at the start
OPERATION = st.one_of(
    st.tuples(st.just("flip"), WHERE, st.integers(0, 1 << 30), st.integers(1, 255)),
    st.tuples(st.just("truncate"), WHERE, st.integers(0, 1 << 30)),
    st.tuples(st.just("insert"), WHERE, st.integers(0, 1 << 30), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), WHERE, st.integers(0, 1 << 30), st.integers(1, 64)),
    st.tuples(st.just("duplicate"), WHERE, st.integers(0, 1 << 30), st.integers(1, 2048)),
)
EDGE = 4096  # "start"/"end" positions fall within this many bytes of the start/end


def _position(where: str, raw: int, size: int) -> int:
    if size == 0:
        return 0
    if where == "start":
        return raw % min(size, EDGE)
    if where == "end":
        return size - 1 - raw % min(size, EDGE)
    return raw % size


def mutate(data: bytes, operations: list[tuple]) -> bytes:
    out = bytearray(data)
    for op, where, raw, *args in operations:
        at = _position(where, raw, len(out))
        if op == "flip" and out:
            out[at] ^= args[0]
        elif op == "truncate":
            del out[at:]
        elif op == "insert":
            out[at:at] = args[0]
        elif op == "delete":
            del out[at : at + args[0]]
        elif op == "duplicate":
            out[at:at] = out[at : at + args[0]]
    return bytes(out)


def _parts(fmt: str) -> list[str]:
    if fmt == "xls":
        return []
    with zipfile.ZipFile(SEEDS[fmt]) as zf:
        return sorted(n for n in zf.namelist() if n.endswith(".xml"))


PARTS = {fmt: _parts(fmt) for fmt in SEEDS}


def rezip(data: bytes, part: str, operations: list[tuple]) -> bytes:
    """Mutate the inflated `part` of a zip workbook and zip it again (the zip itself stays valid)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            content = zin.read(info.filename)
            if info.filename == part:
                content = mutate(content, operations)
            zout.writestr(info, content, compress_type=info.compress_type)
    return out.getvalue()


@st.composite
def fuzz_cases(draw: st.DrawFn, fmt: str) -> tuple[str, str, list[tuple]]:
    operations = draw(st.lists(OPERATION, min_size=1, max_size=4))
    if PARTS[fmt] and draw(st.booleans()):
        return ("part", draw(st.sampled_from(PARTS[fmt])), operations)
    return ("bytes", "", operations)


def build(fmt: str, case: tuple[str, str, list[tuple]]) -> bytes:
    kind, part, operations = case
    seed = SEEDS[fmt].read_bytes()
    return rezip(seed, part, operations) if kind == "part" else mutate(seed, operations)


def _save_failure(data: bytes, fmt: str, what: str) -> Path:
    folder = Path(os.environ.get("MTTQ_FUZZ_SAVE") or Path(tempfile.gettempdir()) / "mttq-fuzz-failures")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"new-{hashlib.sha256(data).hexdigest()[:12]}.{fmt}"
    path.write_bytes(data)
    (folder / f"{path.name}.txt").write_text(what + "\n", encoding="utf-8")
    return path


FUZZ_FIGURES: dict[str, dict[str, Any]] = {}


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_fuzz_mutated_workbooks(fmt: str, tmp_path: Path) -> None:
    """No mutation of a real workbook crashes, hangs or escapes the known rejection codes.

    Each example is a batch of BATCH mutated files read in one `check` run, as an inbox is:
    the reading workers must contain whatever one file does, and the batch costs one fork."""
    targets = [tmp_path / f"fuzzed-{i}.{fmt}" for i in range(BATCH)]
    outcomes: collections.Counter[str] = collections.Counter()
    started = time.perf_counter()
    slowest = [0.0]
    last = [started]  # when the last real batch finished (examples past the budget are no-ops)

    @settings(
        max_examples=max(1, EXAMPLES // BATCH),
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(cases=st.lists(fuzz_cases(fmt), min_size=BATCH, max_size=BATCH))
    def one_batch(cases: list[tuple[str, str, list[tuple]]]) -> None:
        if time.perf_counter() - started > SECONDS:
            return  # the wall-clock budget is spent: the remaining examples are no-ops
        inputs = [build(fmt, case) for case in cases]
        for target, data in zip(targets, inputs, strict=True):
            target.write_bytes(data)
        results = run_isolated(targets)
        slowest[0] = max(slowest[0], results[0].seconds)
        for case, data, outcome in zip(cases, inputs, results, strict=True):
            bug = known_bug(outcome)
            if bug:
                outcomes[f"known bug: {bug}"] += 1
                continue
            what = problem(outcome)
            if what:
                outcomes["NEW FAILURE"] += 1
                saved = [_save_failure(other, fmt, what) for other in inputs] if outcome.kind != "ok" else []
                saved.insert(0, _save_failure(data, fmt, what))
                raise AssertionError(
                    f"{fmt} input {case[0]} {case[1]} broke the contract: {what}\nsaved as {saved[0]} "
                    f"(with the rest of its batch when the whole run broke: {len(saved) - 1}): move it to "
                    "tests/regressions/<bug>-<sha>.<ext> and add the bug to KNOWN_BUGS (or fix it)"
                )
            outcomes[f"{outcome.status} {outcome.reason}".strip()] += 1
        last[0] = time.perf_counter()

    one_batch()
    elapsed = last[0] - started
    tried = sum(outcomes.values())
    FUZZ_FIGURES[fmt] = {"inputs": tried, "seconds": round(elapsed, 1), "outcomes": dict(outcomes)}
    print(
        f"\nfuzz {fmt}: {tried} inputs in {elapsed:.1f} s (slowest batch of {BATCH}: {slowest[0]:.2f} s); "
        + ", ".join(f"{k}: {v}" for k, v in outcomes.most_common())
    )
    assert tried > 0


# Inputs of a class still open that the reader now refuses before calamine opens them: they pass.
def _regression_files() -> list[Any]:
    params = []
    for path in sorted(REGRESSIONS.glob("*")):
        if path.suffix.lower() not in {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}:
            continue
        bug = path.name.split("-", 1)[0]
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[bug].reason)] if bug in KNOWN_BUGS else []
        params.append(pytest.param(path, id=path.name, marks=marks))
    return params


@pytest.mark.parametrize("path", _regression_files())
def test_regression_inputs(path: Path) -> None:
    """Every input the fuzzer ever broke the reader with is now accepted or rejected cleanly, in time."""
    (outcome,) = run_isolated([path])
    assert problem(outcome) is None, outcome.describe()


def test_regression_folder_is_not_empty() -> None:
    assert _regression_files(), "tests/regressions/ lost its inputs"


# ====================================================================== properties of consolidate
def _sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.rglob("*") if p.is_file())


SAMPLE_FILES = _sample_files()
OPTIONS = Options(period=PERIOD, roster=ROSTER, deadline=date(2024, 6, 10))
NAME_CHARS = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789 _-()ăâđêôơưáàảãạốồổỗộ")
FOLDERS = st.lists(st.text(NAME_CHARS, min_size=1, max_size=12).map(str.strip).filter(bool), max_size=2)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _content_view(result: Any, sha_of: dict[str, str]) -> dict[str, Any]:
    """The report with every path replaced by the file's content hash, lists made multisets."""
    report = json_report_dict(result)

    def plain(text: str) -> str:  # "… bản mới hơn: <path>." names another file of the inbox
        found = re.search(r": (.+)\.$", text)
        if found and found[1] in sha_of:
            return text[: found.start(1)] + sha_of[found[1]] + text[found.end(1) :]
        return text

    files = collections.Counter(
        json.dumps({**f, "path": sha_of[f["path"]], "message": plain(f["message"])}, sort_keys=True)
        for f in report["files"]
    )
    issues = collections.Counter(
        json.dumps({**i, "path": sha_of[i["path"]], "message": plain(i["message"])}, sort_keys=True)
        for i in report["issues"]
    )
    return {
        "files": files,
        "issues": issues,
        "totals": report["totals"],
        "units": report["units"],
        "completeness": report["completeness"],
    }


def _place(files: list[Path], inbox: Path, names: list[tuple[list[str], str]]) -> dict[str, str]:
    """Copy `files` into `inbox` under new folders/names (keeping suffixes and lock prefixes)."""
    sha_of: dict[str, str] = {}
    for src, (folders, stem) in zip(files, names, strict=True):
        keep = "~$" if src.name.startswith("~$") else ""
        name = f"{keep}{stem}{src.suffix}"
        target = inbox.joinpath(*folders, name)
        n = 2
        while target.exists():
            target = inbox.joinpath(*folders, f"{keep}{stem} ({n}){src.suffix}")
            n += 1
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        rel = target.relative_to(inbox).as_posix()
        sha_of[rel] = _sha(src)
    return sha_of


def _fresh(root: Path, label: str) -> Path:
    folder = root / label
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _placements(count: int) -> st.SearchStrategy[list[tuple[list[str], str]]]:
    return st.lists(
        st.tuples(FOLDERS, st.text(NAME_CHARS, min_size=1, max_size=40).map(str.strip).filter(bool)),
        min_size=count,
        max_size=count,
    )


PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("MTTQ_PROPERTY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_result_does_not_depend_on_names_folders_or_order(data: st.DataObject, tmp_path: Path) -> None:
    files = data.draw(st.lists(st.sampled_from(SAMPLE_FILES), min_size=1, unique=True), label="files")
    base_names = [([], f"f{i}") for i in range(len(files))]
    shuffled = data.draw(st.permutations(range(len(files))), label="order")
    placements = data.draw(_placements(len(files)), label="names")
    first_inbox, second_inbox = _fresh(tmp_path, "a"), _fresh(tmp_path, "b")
    first = _place(files, first_inbox, base_names)
    second = _place([files[i] for i in shuffled], second_inbox, placements)
    view_a = _content_view(consolidate(first_inbox, OPTIONS), first)
    view_b = _content_view(consolidate(second_inbox, OPTIONS), second)
    assert view_a == view_b


IGNORED_EXTRAS = st.lists(
    st.sampled_from(
        [
            ("ghi chu {}.txt", b"ghi chu"),
            ("~$Bao cao {}.xlsx", b"\x0bNguyen Van A" + b"\x00" * 40),
            (".~lock.Bao cao {}.xlsx#", b"Nguyen Van A,host,01.01.2024 08:00;"),
            ("Thumbs {}.db", b"\xd0\xcf\x11\xe0"),
            ("anh chup {}.jpg", b"\xff\xd8\xff\xe0"),
            ("bao cao {}.pdf", b"%PDF-1.4"),
            ("danh sach {}.csv", "ma,ten\n178,Thành phố Lạng Sơn\n".encode()),
        ]
    ),
    min_size=1,
    max_size=6,
)


@PROPERTY_SETTINGS
@given(
    files=st.lists(st.sampled_from(SAMPLE_FILES), min_size=1, unique=True),
    extras=IGNORED_EXTRAS,
    folders=st.lists(FOLDERS, min_size=6, max_size=6),
)
def test_ignored_files_change_nothing_but_their_own_entries(
    files: list[Path], extras: list[tuple[str, bytes]], folders: list[list[str]], tmp_path: Path
) -> None:
    inbox = _fresh(tmp_path, "inbox")
    sha_of = _place(files, inbox, [([], f"f{i}") for i in range(len(files))])
    before = json_report_dict(consolidate(inbox, OPTIONS))
    added = set()
    for i, (pattern, content) in enumerate(extras):
        target = inbox.joinpath(*folders[i], pattern.format(i))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        added.add(target.relative_to(inbox).as_posix())
    after = json_report_dict(consolidate(inbox, OPTIONS))
    extra_entries = [f for f in after["files"] if f["path"] in added]
    assert sorted(f["path"] for f in extra_entries) == sorted(added)
    assert all(f["status"] == IGNORED for f in extra_entries), extra_entries
    assert [f for f in after["files"] if f["path"] not in added] == before["files"]
    for key in ("issues", "totals", "units", "completeness"):
        assert after[key] == before[key], key
    assert set(sha_of) <= {f["path"] for f in after["files"]}


@PROPERTY_SETTINGS
@given(files=st.lists(st.sampled_from(SAMPLE_FILES), min_size=1, unique=True))
def test_every_file_once_totals_add_up_and_rejected_files_add_nothing(
    files: list[Path], tmp_path: Path
) -> None:
    inbox = _fresh(tmp_path, "all")
    _place(files, inbox, [([], f"f{i}") for i in range(len(files))])
    report = assert_accounted(consolidate(inbox, OPTIONS), inbox)
    # the same inbox without every file that was not accepted gives the same figures
    kept = _fresh(tmp_path, "accepted")
    for f in report["files"]:
        if f["status"] == ACCEPTED:
            shutil.copy2(inbox / f["path"], kept / f["path"])
    again = assert_accounted(consolidate(kept, OPTIONS), kept)
    assert again["totals"] == report["totals"]
    assert again["units"] == report["units"]
