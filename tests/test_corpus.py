"""Issue #9: real files nobody on this team wrote, consolidated in one run of the command.

The inbox is every file of `tests/corpus` (the public test files of calamine, python-calamine,
xlrd and XlsxWriter: see its README) plus the LibreOffice-made sample inbox (`samples/inbox`,
under `samples/`). One `mttq-xlsx consolidate --report` run in a subprocess; the tests read
what it printed and wrote: every file listed once, the reason code a person reading the file in
LibreOffice would agree with (`tests/corpus/expected.toml`; every other spreadsheet is
`not_a_template`), no English in a message, no traceback, and the sample units' figures accepted
and summed to the province's report.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from mttq_xlsx.codes import ACCEPTED, IGNORED, REJECTED
from mttq_xlsx.container import SPREADSHEET_SUFFIXES
from tools import sample_plan as plan

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
SOURCES = ("calamine", "python-calamine", "xlrd", "xlsxwriter")
SAMPLES = "samples"  # the folder of the inbox that holds samples/inbox
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "expected.toml").read_text(encoding="utf-8"))
DEFAULT = {"status": REJECTED, "reason": "not_a_template"}
ZIP = "xlrd/sample.zip"  # xlrd's test of a zip that is not a workbook: it holds an empty sample.txt


# Words of library error text (calamine, zipfile, olefile, msoffcrypto, Python) that are not
# Vietnamese syllables, so a Vietnamese message never holds them outside a quoted name.
_ENGLISH_WORDS = """
    about after allocation allowed archive are attribute bad been before bounds buffer byte bytes
    called cannot cell column could corrupt corrupted damaged decode decrypt denied detect
    directory does empty encoding encrypted encryption end eof error errors exception expected
    expecting failed failure file files find float for format found from got has have header
    index integer invalid is large length line magic many memory missing must node none not null
    number of offset open out overflow panic panicked parse parsing password permission position
    protected range read record relationship root row sector sheet should signature size small
    stream string such supported table that the this too truncated type unable unexpected
    unknown unrecognized unsupported unwrap value version was were when which while with
    workbook worksheet wrong
"""
ENGLISH = frozenset(_ENGLISH_WORDS.split())


def _corpus_files() -> list[str]:
    found = []
    for source in SOURCES:
        for folder, _dirs, names in os.walk(CORPUS / source):
            found += [Path(folder, n).relative_to(CORPUS).as_posix() for n in names]
    return sorted(found)


CORPUS_FILES = _corpus_files()
SAMPLE_FILES = {f"{SAMPLES}/{s.path}": s for s in plan.sample_files()}


def _expected(path: str) -> dict[str, Any]:
    if path in SAMPLE_FILES:
        sample = SAMPLE_FILES[path]
        return {"status": sample.status, "reason": sample.reason}
    return {**DEFAULT, **EXPECTED.get(path, {})}


@dataclass(frozen=True)
class Run:
    inbox: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    report: dict[str, Any]
    summary: Path

    def entry(self, path: str) -> dict[str, Any]:
        (entry,) = [f for f in self.report["files"] if f["path"] == path]
        return entry


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("corpus")
    inbox = root / "hop-thu"
    for source in SOURCES:
        shutil.copytree(CORPUS / source, inbox / source)
    shutil.copytree(ROOT / "samples" / "inbox", inbox / SAMPLES)
    summary, report = root / "tong-hop.xlsx", root / "bao-cao.json"
    command = [
        *(sys.executable, "-m", "mttq_xlsx.cli", "consolidate", str(inbox), "-o", str(summary)),
        *("--roster", str(ROOT / "samples" / "don-vi.csv"), "--period", plan.PERIOD),
        *("--deadline", plan.DEADLINE.isoformat(), "--report", str(report)),
    ]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=root)
    seconds = time.monotonic() - start
    assert report.is_file(), f"no JSON report; exit {done.returncode}, stderr:\n{done.stderr[-3000:]}"
    return Run(
        inbox,
        done.returncode,
        done.stdout,
        done.stderr,
        seconds,
        json.loads(report.read_text(encoding="utf-8")),
        summary,
    )


def english_in(message: str, names: list[str]) -> list[str]:
    """The English words of a message, once quoted names, file names, cell references and option
    names are taken out."""
    text = re.sub(r"“[^”]*”", " ", message)
    for name in names:
        text = text.replace(name, " ")
    text = re.sub(r"--[\w-]+|\S+![$A-Z]+[$\d]+|\.\w+", " ", text)
    words = []
    for token in re.findall(r"\w+", text):
        if token.isascii():
            words += re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", token)  # PanicException: 2 words
    return [w for w in words if w.lower() in ENGLISH]


def _names(run: Run) -> list[str]:
    """Every path and file name of the run, longest first (a name may contain a shorter one)."""
    paths = [f["path"] for f in run.report["files"]]
    return sorted({*paths, *(p.rsplit("/", 1)[-1] for p in paths)}, key=len, reverse=True)


# ---------------------------------------------------------------------- the run as a whole
def test_the_run_ends_with_findings_and_no_traceback(run: Run) -> None:
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert run.stderr == ""
    assert f"Đã đọc {len(run.report['files'])} tệp" in run.stdout
    assert f"Bảng tổng hợp: {run.summary}" in run.stdout
    assert run.seconds < 120, f"{run.seconds:.1f} s for {len(CORPUS_FILES)} corpus files"


def test_every_file_is_listed_exactly_once(run: Run) -> None:
    listed = Counter(f["path"] for f in run.report["files"])
    on_disk = {
        Path(folder, name).relative_to(run.inbox).as_posix()
        for folder, _dirs, names in os.walk(run.inbox)
        for name in names
    }
    zips = {p for p in on_disk if p.endswith(".zip")}
    assert {p: n for p, n in listed.items() if n > 1} == {}
    assert {p for p in on_disk - zips if p not in listed} == set()
    # a zip is listed itself (when it cannot be opened) or by its members ("name.zip › member")
    assert all(p in on_disk or any(p.startswith(f"{z} › ") for z in zips) for p in listed)
    assert all(z in listed or any(p.startswith(f"{z} › ") for p in listed) for z in zips)


def test_summary_sources_sheet_lists_the_same_files(run: Run) -> None:
    rows = CalamineWorkbook.from_path(str(run.summary)).get_sheet_by_name("Nguồn").to_python()
    header = next(i for i, row in enumerate(rows) if row[:2] == ["STT", "Tệp"])
    listed = [row[1] for row in rows[header + 1 :] if row[1]]
    assert listed == [f["path"] for f in run.report["files"]]


# ---------------------------------------------------------------------- each file
@pytest.mark.parametrize("path", [p for p in CORPUS_FILES if p != ZIP] + list(SAMPLE_FILES))
def test_reason_a_libreoffice_reader_would_agree_with(run: Run, path: str) -> None:
    entry, want = run.entry(path), _expected(path)
    assert (entry["status"], entry["reason"]) == (want["status"], want["reason"]), entry["message"]
    if entry["status"] in (REJECTED, IGNORED):
        assert entry["message"]
    assert english_in(entry["message"], _names(run)) == [], entry["message"]
    for words in want.get("says", []):
        assert words in entry["message"], entry["message"]


def test_no_english_in_any_issue_message(run: Run) -> None:
    names = _names(run)
    english = {
        i["message"]: found for i in run.report["issues"] if (found := english_in(i["message"], names))
    }
    assert english == {}


def test_the_english_check_sees_library_text() -> None:
    """The check itself: library text is found, Vietnamese with names and options is not."""
    names = ["calamine/too_small.xls", "too_small.xls"]
    assert english_in("Tệp bị hỏng, không đọc được (Cannot detect file format).", []) == [
        "Cannot",
        "detect",
        "file",
        "format",
    ]
    assert english_in("Tệp bị hỏng (PanicException: index out of range).", []) == [
        "Panic",
        "Exception",
        "index",
        "out",
        "of",
        "range",
    ]
    vietnamese = (
        "Trang tính “Sheet1” của too_small.xls có ô Sheet1!A1 sai; hãy lưu lại thành .xlsx "
        "hoặc chạy lại với --password."
    )
    assert english_in(vietnamese, names) == []


def test_a_zip_in_the_inbox_is_opened(run: Run) -> None:
    """xlrd's sample.zip holds an empty sample.txt: the member is listed (ignored), not the zip."""
    inside = [f for f in run.report["files"] if f["path"].startswith(ZIP)]
    assert [(f["path"], f["status"], f["reason"]) for f in inside] == [
        (f"{ZIP} › sample.txt", IGNORED, "not_a_report")
    ]
    assert inside[0]["source"]["kind"] == "zip"


def test_ignored_message_names_every_format_read(run: Run) -> None:
    message = run.entry("xlrd/sample.txt")["message"]
    assert [s for s in sorted(SPREADSHEET_SUFFIXES) if s not in message] == []


# ---------------------------------------------------------------------- the units' reports
def test_unit_reports_are_accepted_and_summed(run: Run) -> None:
    accepted = {f["path"] for f in run.report["files"] if f["status"] == ACCEPTED}
    assert accepted == {f"{SAMPLES}/{s.path}" for s in plan.accepted_files()}
    assert sorted(run.report["units"]) == sorted(plan.CODES)
    totals = run.report["totals"][plan.REPORT_ID]
    for field_id, want in plan.expected_totals().items():
        assert totals[field_id] == (pytest.approx(want) if want is not None else None), field_id
    # the province's own figures: 739 of 1,014 mediations, from the eleven units' files
    assert {k: totals[k] for k in plan.PROVINCE_REPORT} == plan.PROVINCE_REPORT
    units = run.report["units"]
    assert totals["hoa_giai_so_vu"] == sum(u[plan.REPORT_ID]["hoa_giai_so_vu"] for u in units.values())
    assert run.report["completeness"]["received"] == len(plan.UNITS)
