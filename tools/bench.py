"""Benchmark the consolidate path on every commune of Vietnam (issue #4).

``make bench`` runs ``.venv/bin/python -m tools.bench`` from the repository's root. It

1. builds once, and caches outside the repository (``$MTTQ_BENCH_CACHE`` or
   ``~/.cache/mttq-xlsx-bench/``), a corpus of 3,321 filled ``bieu-so-lieu`` workbooks, one per
   commune of the official roster, plus the roster CSV; the cache is rebuilt when its stamp
   (spec version + ``CORPUS_VERSION`` + package version) differs;
2. measures, side by side on the same files, at 100, 1,000 and 3,321 files (the first N of the
   corpus, hard-linked into a folder of their own):

   - ``mttq-xlsx consolidate`` end to end as a subprocess, with the roster of those N units,
     writing the summary workbook (wall time, from process start to exit);
   - the floor: python-calamine reading every sheet of every file, nothing else;
   - what a user would write instead: openpyxl ``read_only=True, data_only=True`` reading
     every row of every sheet;

   each in its own subprocess so peaks of memory are separate, and prints a table with the
   ratios. openpyxl at the largest size is extrapolated (linearly) from the 1,000-file run
   unless ``--openpyxl-full`` is given; the table says so.

Peak memory is given two ways: the largest single process (``ru_maxrss`` of the waited child,
which includes its reaped worker processes) and the whole process tree at once (proportional
set size of the child and all its descendants, sampled every 50 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from mttq_xlsx import __version__, load_spec
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import Unit, all_communes, read_roster, write_roster
from mttq_xlsx.spec import Field, Spec

ROOT = Path(__file__).resolve().parents[1]  # the children run from here, so `tools` imports

CORPUS_VERSION = 2  # bump when the generated figures or the file layout change
REPORT_ID = "bieu-so-lieu"
PERIOD = "2025"
GENERATED_AT = datetime(2025, 12, 1, 8, 0, 0)  # pinned: the same corpus on every machine
SIZES = (100, 1000, 3321)
BLANK_SHARE = 0.05  # share of numeric inputs left blank
TEXT_SHARE = 0.6  # share of text inputs filled
STAMP = "stamp.json"
CORPUS_DIR = "corpus"
ROSTER = "don-vi.csv"

# ------------------------------------------------------------------------------ figures
# Ratio numerators as a share of their denominator (parts within wholes): (low, high).
SHARE = {
    "kdc_van_hoa": (0.6, 1.0),
    "gd_van_hoa": (0.75, 0.98),
    "ho_ngheo": (0.0, 0.12),
    "ho_ngheo_ho_tro_nha": (0.0, 0.3),
    "ho_thoat_ngheo": (0.1, 0.6),
    "kdc_noi_sinh_hoat": (0.7, 1.0),
    "nguoi_bhyt": (0.85, 1.0),
    "nguoi_co_cong_tro_giup": (0.5, 1.0),
    "nguoi_nuoc_hop_ve_sinh": (0.8, 1.0),
    "khieu_nai_giai_quyet": (0.6, 1.0),
    "to_cao_giai_quyet": (0.5, 1.0),
    "kdc_co_to_hoa_giai": (0.8, 1.0),
    "hoa_giai_thanh": (0.5, 1.0),
}
# Integer ranges by field id, then by unit of measure; amounts get a float range by unit.
COUNT_BY_FIELD = {
    "tong_don_vi_xa": (1, 1),
    "tong_kdc": (4, 45),
    "dan_so": (3_000, 60_000),
    "nguoi_co_cong": (10, 600),
    "ho_ngheo_doan_the_ho_tro": (0, 150),
    "khieu_nai_tiep_nhan": (0, 40),
    "to_cao_tiep_nhan": (0, 15),
    "hoa_giai_so_vu": (0, 60),
    "nguoi_tham_tang_qua": (0, 3_000),
}
COUNT_BY_UNIT = {
    "văn bản": (0, 25),
    "cuộc": (0, 300),
    "lượt người": (0, 25_000),
    "tài liệu": (0, 5_000),
    "mô hình": (0, 15),
    "HTX": (0, 6),
    "CLB": (0, 30),
    "người": (0, 2_000),
    "hộ": (0, 400),
    "tổ": (0, 40),
    "đơn": (0, 40),
    "vụ": (0, 40),
    "nguồn tin": (0, 50),
}
AMOUNT_BY_UNIT = {"triệu đồng": (0.0, 5_000.0, 3), "m²": (0.0, 20_000.0, 1), "ngày": (0.0, 8_000.0, 0)}
TEXTS = (
    "Hoạt động nền nếp, đúng kế hoạch.",
    "Hoàn thành tốt nhiệm vụ; phối hợp chặt chẽ với các ngành.",
    "Còn một số hạn chế ở khu dân cư vùng sâu, cần tăng cường giám sát.",
    "Tổ chức 4 cuộc giám sát, kiến nghị 12 nội dung, đã được giải quyết 10.",
    "Đạt và vượt chỉ tiêu đề ra.",
)
NAMES = ("Nguyễn Thị Hoa", "Trần Văn Minh", "Lê Thị Thu Hằng", "Phạm Quốc Bảo", "Hoàng Đức Anh")


def unit_values(report: Spec, unit: Unit) -> dict[str, Any]:
    """The figures one commune sends: deterministic per unit code, parts within their wholes.

    Numeric inputs get plausible values (about 5 % left blank), ratio numerators a share of
    their denominator, amounts decimals; some text fields and the cover's person, phone and date.
    Derived fields (totals, ratios) are left to the workbook's formulas.
    """
    rng = random.Random(f"mttq-bench/{CORPUS_VERSION}/{unit.code}")
    index = report.field_index
    numerator_of = {f.numerator: f.denominator for f in report.fields if f.type == "ratio"}
    values: dict[str, Any] = {}
    period = parse_period(PERIOD)

    def number(f: Field) -> int | float | None:
        if f.id in values:
            return values[f.id]
        whole_id = numerator_of.get(f.id)
        if whole_id is not None and index[whole_id].is_input:
            whole = number(index[whole_id])
            low, high = SHARE.get(f.id, (0.0, 1.0))
            if whole is None:
                value: int | float | None = rng.randint(0, 50)
            else:
                value = min(whole, round(whole * rng.uniform(low, high)))
        elif f.id == "tong_ho" and number(index["dan_so"]) is not None:
            value = round(values["dan_so"] / rng.uniform(3.3, 4.6))
        elif f.type == "count":
            low_i, high_i = COUNT_BY_FIELD.get(f.id) or COUNT_BY_UNIT.get(f.unit, (0, 100))
            value = rng.randint(low_i, high_i)
        else:
            low_f, high_f, decimals = AMOUNT_BY_UNIT.get(f.unit, (0.0, 1_000.0, 2))
            value = round(rng.uniform(low_f, high_f), decimals)
            if decimals == 0:
                value = int(value)
        if rng.random() < BLANK_SHARE and f.id not in numerator_of.values():
            value = None  # a denominator stays filled so every ratio can be checked
        values[f.id] = value
        return value

    for f in report.fields:
        if not f.is_input or f.prefill or f.table:
            continue
        if f.is_numeric:
            number(f)
        elif f.type == "date":
            values[f.id] = period.end + timedelta(days=rng.randint(1, 20))
        elif f.type == "text":
            if f.id == "dien_thoai":
                values[f.id] = f"09{rng.randint(10_000_000, 99_999_999)}"
            elif f.id in {"nguoi_lap", "thu_truong"}:
                values[f.id] = rng.choice(NAMES)
            elif rng.random() < TEXT_SHARE:
                values[f.id] = rng.choice(TEXTS)[: f.max_length or 255]
    return {k: v for k, v in values.items() if v is not None}


# ------------------------------------------------------------------------------ corpus
@dataclass(frozen=True)
class Corpus:
    folder: Path  # the workbooks
    roster: Path  # every unit of the corpus
    files: tuple[Path, ...]  # in roster order
    units: tuple[Unit, ...]


def cache_root() -> Path:
    configured = os.environ.get("MTTQ_BENCH_CACHE")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mttq-xlsx-bench"


def corpus_stamp(units: Sequence[Unit]) -> dict[str, Any]:
    report = load_spec(REPORT_ID)
    return {
        "corpus_version": CORPUS_VERSION,
        "report_id": REPORT_ID,
        "spec_version": report.version,
        "package_version": __version__,
        "period": PERIOD,
        "units": len(units),
        "first": units[0].code if units else "",
        "last": units[-1].code if units else "",
    }


def _write_one(job: tuple[Unit, Path]) -> Path:
    from mttq_xlsx.template import TemplateRequest, template_filename, write_template

    unit, folder = job
    report = load_spec(REPORT_ID)
    period = parse_period(PERIOD)
    request = TemplateRequest(
        report, period, unit=unit, generated_at=GENERATED_AT, values=unit_values(report, unit)
    )
    return write_template(request, folder / template_filename(report, period, unit))


def build_corpus(folder: Path, units: Sequence[Unit], jobs: int = 2) -> Corpus:
    """Write one filled workbook per unit and the roster into `folder` (replaced if present)."""
    tmp = folder.with_name(folder.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / CORPUS_DIR).mkdir(parents=True)
    work = [(u, tmp / CORPUS_DIR) for u in units]
    if jobs > 1 and len(units) > 20:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            written = list(pool.map(_write_one, work, chunksize=16))
    else:
        written = [_write_one(job) for job in work]
    write_roster(units, tmp / ROSTER)
    (tmp / STAMP).write_text(json.dumps(corpus_stamp(units), indent=2), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    files = tuple(folder / CORPUS_DIR / p.name for p in written)
    return Corpus(folder / CORPUS_DIR, folder / ROSTER, files, tuple(units))


def ensure_corpus(root: Path, units: Sequence[Unit], jobs: int = 2, log: Any = print) -> Corpus:
    """The cached corpus under `root`, rebuilt only when its stamp differs."""
    folder = root / "bieu-so-lieu"
    stamp = folder / STAMP
    wanted = corpus_stamp(units)
    from mttq_xlsx.template import template_filename

    with contextlib.suppress(OSError, ValueError):
        if json.loads(stamp.read_text(encoding="utf-8")) == wanted:
            report, period = load_spec(REPORT_ID), parse_period(PERIOD)
            files = tuple(folder / CORPUS_DIR / template_filename(report, period, u) for u in units)
            if all(p.is_file() for p in files):
                return Corpus(folder / CORPUS_DIR, folder / ROSTER, files, tuple(units))
    log(f"Building the corpus: {len(units)} workbooks into {folder} ({jobs} processes)…")
    start = time.perf_counter()
    corpus = build_corpus(folder, units, jobs)
    log(f"  built in {time.perf_counter() - start:.1f} s")
    return corpus


def subset_inbox(corpus: Corpus, n: int, root: Path) -> tuple[Path, Path]:
    """A folder holding the first `n` workbooks (hard links, else copies) and their roster."""
    folder = root / f"inbox-{n}"
    roster = root / f"don-vi-{n}.csv"
    names = {p.name for p in corpus.files[:n]}
    reusable = folder.is_dir() and roster.is_file() and {p.name for p in folder.iterdir()} == names
    if reusable and all((folder / p.name).stat().st_ino == p.stat().st_ino for p in corpus.files[:n]):
        return folder, roster
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for p in corpus.files[:n]:
        try:
            os.link(p, folder / p.name)  # consolidate follows symlinks only inside the inbox
        except OSError:
            shutil.copy2(p, folder / p.name)
    write_roster(corpus.units[:n], roster)
    return folder, roster


# ------------------------------------------------------------------------------ floors
def floor_calamine(paths: Iterable[Path]) -> int:
    """Every sheet of every file with python-calamine, nothing else; returns the cell count."""
    from python_calamine import CalamineWorkbook

    cells = 0
    for p in paths:
        wb = CalamineWorkbook.from_path(str(p))
        for name in wb.sheet_names:
            cells += sum(len(r) for r in wb.get_sheet_by_name(name).to_python())
    return cells


def floor_openpyxl(paths: Iterable[Path]) -> int:
    """What a user would write: openpyxl read-only, cached values, every row of every sheet."""
    from openpyxl import load_workbook

    cells = 0
    for p in paths:
        wb = load_workbook(p, read_only=True, data_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                cells += len(row)
        wb.close()
    return cells


FLOORS = {"calamine": floor_calamine, "openpyxl": floor_openpyxl}


def phases(inbox: Path, roster: Path, out: Path) -> list[dict[str, Any]]:
    """Where the time of one consolidate run goes, measured in a fresh process."""
    run = run_child([sys.executable, "-m", "tools.bench", "--phases", str(inbox), str(roster), str(out)])
    return json.loads(run.stdout.strip().splitlines()[-1])


def _phases_main(inbox: Path, roster: Path, out: Path) -> None:
    """Child-process entry: the steps of `mttq-xlsx consolidate`, through the library API, each
    timed; "workers" is the CPU the reading processes used. Prints the steps as JSON."""
    import resource

    marks: list[tuple[str, float, float, float]] = []

    def mark(name: str) -> None:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        marks.append((name, time.perf_counter(), time.process_time(), usage.ru_utime + usage.ru_stime))

    mark("start")
    import mttq_xlsx.cli  # what the command imports, before it reads anything

    mark("import the CLI")
    units = read_roster(roster)
    mark("read the roster")
    result = mttq_xlsx.consolidate(inbox, roster=units, period=PERIOD)
    mark("read, check and combine every file")
    mttq_xlsx.write_summary(result, out, per_unit="auto")
    mark("write the summary")
    steps = [
        {"step": b[0], "wall": b[1] - a[1], "cpu_main": b[2] - a[2], "cpu_workers": b[3] - a[3]}
        for a, b in itertools.pairwise(marks)
    ]
    print(json.dumps(steps))


def _floor_main(kind: str, list_file: Path) -> None:
    """Child-process entry: time one floor over the files listed (one path a line)."""
    paths = [Path(line) for line in list_file.read_text(encoding="utf-8").splitlines() if line]
    start = time.perf_counter()
    cells = FLOORS[kind](paths)
    print(json.dumps({"seconds": time.perf_counter() - start, "cells": cells, "files": len(paths)}))


# ------------------------------------------------------------------------------ measuring
def _children(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += parents.get(p, [])
    return tree


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError):
        return 0


class _TreeSampler(threading.Thread):
    """The peak of memory used by a process and all its descendants at one moment."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kib = pid, interval, 0
        self.done = threading.Event()

    def run(self) -> None:
        if not Path("/proc/self/stat").exists():
            return
        while not self.done.is_set():
            total = sum(_pss_kib(p) for p in _children(self.pid))
            self.peak_kib = max(self.peak_kib, total)
            self.done.wait(self.interval)


@dataclass
class Run:
    seconds: float  # wall time of the child (process start to exit) or its own measure
    max_rss_mb: float  # the largest single process (the child or one of its reaped workers)
    tree_mb: float  # the whole tree at its peak (sampled PSS)
    returncode: int
    stdout: str
    spread: tuple[float, float] | None = None  # fastest and slowest of the repeats
    cpu: float = 0.0  # user + system seconds of the child and its reaped workers


def run_child(cmd: Sequence[str], env: Mapping[str, str] | None = None) -> Run:
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(env or os.environ), cwd=ROOT
    )
    sampler = _TreeSampler(proc.pid)
    sampler.start()
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=("out", proc.stdout), daemon=True),
        threading.Thread(target=drain, args=("err", proc.stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    sampler.done.set()
    sampler.join()
    out, err = chunks.get("out", b""), chunks.get("err", b"")
    if proc.returncode not in (0, 1):
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode}:\n{err.decode(errors='replace')[-3000:]}"
        )
    return Run(
        seconds,
        usage.ru_maxrss / 1024,
        sampler.peak_kib / 1024,
        proc.returncode,
        out.decode(errors="replace"),
        cpu=usage.ru_utime + usage.ru_stime,
    )


def measure_consolidate(inbox: Path, roster: Path, out: Path, extra: Sequence[str] = ()) -> Run:
    exe = Path(sys.executable).with_name("mttq-xlsx")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mttq_xlsx.cli"]
    cmd += ["consolidate", str(inbox), "-o", str(out), "--roster", str(roster), "--period", PERIOD]
    return run_child([*cmd, *extra])


def measure_floor(kind: str, paths: Sequence[Path], scratch: Path) -> Run:
    listing = scratch / f"files-{kind}-{len(paths)}.txt"
    listing.write_text("\n".join(str(p) for p in paths) + "\n", encoding="utf-8")
    run = run_child([sys.executable, "-m", "tools.bench", "--floor", kind, str(listing)])
    result = json.loads(run.stdout.strip().splitlines()[-1])
    run.seconds = result["seconds"]  # reading only: the interpreter's start is not counted
    return run


def _median(runs: list[Run]) -> Run:
    """The median run, with the fastest and slowest times and the highest peaks of all."""
    ordered = sorted(runs, key=lambda r: r.seconds)
    mid = ordered[len(ordered) // 2]
    return Run(
        mid.seconds,
        max(r.max_rss_mb for r in runs),
        max(r.tree_mb for r in runs),
        mid.returncode,
        mid.stdout,
        (ordered[0].seconds, ordered[-1].seconds),
        mid.cpu,
    )


@dataclass
class Row:
    files: int
    consolidate: Run
    calamine: Run
    openpyxl: Run | None
    openpyxl_seconds: float  # measured, or extrapolated
    openpyxl_extrapolated: bool
    repeats: int


def machine() -> dict[str, str]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kib / 1024 / 1024:.1f} GiB"

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "-"

    return {
        "cores (nproc)": str(os.cpu_count()),
        "CPU": cpu or platform.processor() or "?",
        "RAM": mem or "?",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "mttq-xlsx": __version__,
        "python-calamine": version("python-calamine"),
        "openpyxl": version("openpyxl"),
        "xlsxwriter": version("xlsxwriter"),
        "click": version("click"),
    }


def render(rows: list[Row]) -> str:
    head = (
        "| files | consolidate s | consolidate CPU s | calamine floor s | openpyxl s "
        "| openpyxl / consolidate | consolidate / floor | consolidate ms/file "
        "| peak MB consolidate (tree / largest) | peak MB floor | peak MB openpyxl |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        cons = f"{r.consolidate.seconds:.2f}"
        if r.consolidate.spread and r.repeats > 1:
            cons += f" ({r.consolidate.spread[0]:.2f}–{r.consolidate.spread[1]:.2f})"
        opx = f"{r.openpyxl_seconds:.2f}" + (" (extrapolated)" if r.openpyxl_extrapolated else "")
        ratio = f"{r.openpyxl_seconds / r.consolidate.seconds:.1f}×"
        if math.isnan(r.openpyxl_seconds):
            opx = ratio = "-"
        opx_mb = f"{r.openpyxl.tree_mb:.0f}" if r.openpyxl else "-"
        lines.append(
            f"| {r.files:,} | {cons} | {r.consolidate.cpu:.2f} | {r.calamine.seconds:.2f} | {opx} "
            f"| {ratio} "
            f"| {r.consolidate.seconds / r.calamine.seconds:.2f}× "
            f"| {1000 * r.consolidate.seconds / r.files:.2f} "
            f"| {r.consolidate.tree_mb:.0f} / {r.consolidate.max_rss_mb:.0f} "
            f"| {r.calamine.tree_mb:.0f} | {opx_mb} |"
        )
    return head + "\n".join(lines) + "\n"


def render_phases(by_size: dict[int, list[dict[str, Any]]]) -> str:
    """Each step's wall time (CPU of the main process + of the reading workers) at each size."""
    sizes = sorted(by_size)
    lines = [
        "Where the time goes: one run per size through the library, in a fresh process; "
        "wall seconds (CPU seconds: main process + reading workers).",
        "",
        "| step | " + " | ".join(f"{n:,} files" for n in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for i, st in enumerate(by_size[sizes[0]]):
        cells = []
        for n in sizes:
            step = by_size[n][i]
            cells.append(f"{step['wall']:.2f} ({step['cpu_main']:.2f} + {step['cpu_workers']:.2f})")
        lines.append(f"| {st['step']} | " + " | ".join(cells) + " |")
    totals = [sum(st["wall"] for st in by_size[n]) for n in sizes]
    lines.append("| total | " + " | ".join(f"{t:.2f}" for t in totals) + " |")
    return "\n".join(lines) + "\n"


def verdict(rows: list[Row]) -> list[str]:
    """The issue's targets, each with whether this run meets it."""
    if not rows:
        return []
    big = rows[-1]
    out = [
        f"{'ok ' if big.consolidate.seconds <= 10 else 'NO '} {big.files:,} files end to end in "
        f"{big.consolidate.seconds:.2f} s (target ≤ 10 s)",
    ]
    if not math.isnan(big.openpyxl_seconds):
        out.append(
            f"{'ok ' if big.openpyxl_seconds >= 10 * big.consolidate.seconds else 'NO '} "
            f"{big.openpyxl_seconds / big.consolidate.seconds:.1f}× faster than openpyxl (target ≥ 10×)"
            + (" [openpyxl extrapolated]" if big.openpyxl_extrapolated else "")
        )
    out += [
        f"{'ok ' if big.consolidate.seconds <= 2.5 * big.calamine.seconds else 'NO '} "
        f"{big.consolidate.seconds / big.calamine.seconds:.2f}× the calamine floor (target ≤ 2.5×)",
        f"{'ok ' if big.consolidate.tree_mb < 1024 else 'NO '} peak memory "
        f"{big.consolidate.tree_mb:.0f} MB for the whole process tree (target < 1 GB)",
    ]
    if len(rows) >= 2:
        # The cost of each extra file between two sizes: flat when time grows linearly.
        pairs = list(itertools.pairwise(rows))
        marginal = [
            1000 * (b.consolidate.seconds - a.consolidate.seconds) / (b.files - a.files) for a, b in pairs
        ]
        steps = ", ".join(
            f"{a.files:,}→{b.files:,}: {m:.2f} ms" for (a, b), m in zip(pairs, marginal, strict=True)
        )
        ok = marginal[-1] <= 1.3 * min(marginal)
        out.append(f"{'ok ' if ok else 'NO '} time grows linearly (each extra file costs {steps})")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="inbox sizes to run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure (median taken)")
    parser.add_argument("--jobs", type=int, default=2, help="processes to build the corpus")
    parser.add_argument("--cache", type=Path, default=None, help="cache folder")
    parser.add_argument("--openpyxl-full", action="store_true", help="run openpyxl at every size")
    parser.add_argument("--no-openpyxl", action="store_true", help="skip openpyxl")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    parser.add_argument("--build-only", action="store_true", help="build the corpus and stop")
    parser.add_argument("--no-phases", action="store_true", help="skip timing each step of consolidate")
    parser.add_argument("--floor", nargs=2, metavar=("KIND", "LIST"), help=argparse.SUPPRESS)
    parser.add_argument("--phases", nargs=3, metavar=("INBOX", "ROSTER", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        _floor_main(args.floor[0], Path(args.floor[1]))
        return 0
    if args.phases:
        _phases_main(*map(Path, args.phases))
        return 0

    root = (args.cache or cache_root()).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    corpus = ensure_corpus(root, all_communes(), jobs=args.jobs)
    if args.build_only:
        print(f"Corpus ready: {corpus.folder} ({len(corpus.files)} files), roster {corpus.roster}")
        return 0
    sizes = sorted({min(int(s), len(corpus.files)) for s in args.sizes.split(",") if s.strip()})
    scratch = root / "runs"
    scratch.mkdir(exist_ok=True)
    load_before = os.getloadavg()
    if load_before[0] > 1.0:
        print(f"Note: load average {load_before[0]:.2f}: other work on this machine will slow the runs.")
    floor_calamine(corpus.files[: sizes[-1]])  # warm the page cache once, as a second run would be

    rows: list[Row] = []
    opx_per_file: float | None = None
    for n in sizes:
        inbox, roster = subset_inbox(corpus, n, root)
        paths = sorted(inbox.iterdir())
        out = scratch / f"tong-hop-{n}.xlsx"
        print(f"{n:>5} files: consolidate, calamine floor ×{args.repeat}", end="", flush=True)
        cons_runs, cal_runs = [], []
        for _ in range(args.repeat):  # alternated, so a change of load hits both alike
            cons_runs.append(measure_consolidate(inbox, roster, out))
            cal_runs.append(measure_floor("calamine", paths, scratch))
        cons, cal = _median(cons_runs), _median(cal_runs)
        print(f": {cons.seconds:.2f} s, {cal.seconds:.2f} s", end="", flush=True)
        opx: Run | None = None
        extrapolated = False
        if args.no_openpyxl:
            opx_seconds = math.nan
        elif args.openpyxl_full or n < sizes[-1] or opx_per_file is None or len(sizes) == 1:
            print("; openpyxl", end="", flush=True)
            opx = measure_floor("openpyxl", paths, scratch)
            opx_seconds = opx.seconds
            opx_per_file = opx.seconds / n
            print(f" {opx.seconds:.2f} s", end="", flush=True)
        else:
            opx_seconds, extrapolated = opx_per_file * n, True
        print()
        rows.append(Row(n, cons, cal, opx, opx_seconds, extrapolated, args.repeat))

    by_size: dict[int, list[dict[str, Any]]] = {}
    if not args.no_phases:
        print("Timing each step of consolidate…")
        for n in sizes:
            inbox, roster = subset_inbox(corpus, n, root)
            by_size[n] = phases(inbox, roster, scratch / f"phases-{n}.xlsx")
    load_after = os.getloadavg()
    table = render(rows)
    info = machine()
    info["load average (1 min) before / after"] = f"{load_before[0]:.2f} / {load_after[0]:.2f}"
    print()
    print(table)
    for line in verdict(rows):
        print(line)
    print()
    print("; ".join(f"{k}: {v}" for k, v in info.items()))
    print(
        f"consolidate: wall time of `mttq-xlsx consolidate INBOX -o OUT --roster ROSTER --period "
        f"{PERIOD}` (start, import, read, check, write summary, exit), median of {args.repeat} "
        "(fastest–slowest); its CPU s (user + system, with the reading workers) moves less with "
        "other load on the machine than wall time does. "
        "Floors: time inside one process reading every sheet (interpreter start not counted)."
    )
    phase_text = render_phases(by_size) if by_size else ""
    if phase_text:
        print()
        print(phase_text)
    if args.markdown:
        text = (
            f"Measured {date.today().isoformat()}.\n\n{table}\n"
            + "\n".join(f"- {line}" for line in verdict(rows))
            + "\n\n"
            + "\n".join(f"- {k}: {v}" for k, v in info.items())
            + "\n"
            + (f"\n{phase_text}" if phase_text else "")
        )
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
