"""Benchmark consolidation, templates and `check` on the files users send (issues #4, #13).

``make bench`` runs ``.venv/bin/python -m tools.bench`` from the repository's root. It

1. builds once, and caches outside the repository (``$MTTQ_BENCH_CACHE`` or
   ``~/.cache/mttq-xlsx-bench/v3/``), the inbox users send: one ``bieu-so-lieu`` workbook per
   commune of the official roster (3,321), made by ``template --roster`` (the library's
   ``write_templates``), filled with deterministic figures and saved again by another program:
   real LibreOffice for one unit in 11 (as xlsx, xls and ods in turn), openpyxl for the others.
   The cache is rebuilt when its stamp differs (``CORPUS_VERSION``, the spec version, a digest
   of what the template writer writes today, the package version, the roster);
2. measures, side by side on the same files, at 100, 1,000 and 3,321 files (the first N of the
   roster), and for each format and program that saved the files:

   - ``mttq-xlsx consolidate`` end to end as a subprocess, with the roster of those units,
     writing the summary workbook (wall time, from process start to exit, and CPU);
   - the floor: python-calamine in one process reading the sheets consolidate reads
     (the cover, the forms, ``_mttq``), nothing else;
   - what a user would write instead: openpyxl ``read_only=True, data_only=True`` reading every
     row of those sheets (it reads .xlsx only: its time on the .xlsx files is scaled to all);

   then where the time of one consolidate goes (start-up, listing, reading and checks on the
   worker processes, combining, the summary), ``template --roster`` for every commune, and
   ``check`` of one file of each kind; and prints each of the issue's targets with PASS or FAIL
   (the exit status is 1 when one fails). openpyxl at the largest size is extrapolated from the
   1,000-file run unless ``--openpyxl-full`` is given; the table says so.

How the files reach consolidate is an inbox kind (``--inbox``, all by default): the sizes and
formats above use a folder; at the largest size the same files also arrive as messages, one
workbook each, in an mbox, a Maildir (both built with ``tools/sample_mail.py``'s writer and cached
beside the corpus, under its stamp) and an IMAP folder of a real pymap server on this computer,
filled by APPEND with each message's arrival; each is measured in turn with the folder, and
their JSON reports must give the folder's totals (issue #11).
Peak memory is given two ways: the largest single process (``ru_maxrss`` of the waited child,
which includes its reaped worker processes) and the whole process tree at once (proportional
set size of the child and all its descendants, sampled every 50 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from mttq_xlsx import __version__, load_spec
from mttq_xlsx.fieldmap import META_SHEET
from mttq_xlsx.periods import VIETNAM, parse_period
from mttq_xlsx.roster import Unit, all_communes, read_roster, write_roster
from mttq_xlsx.spec import Field, Spec

ROOT = Path(__file__).resolve().parents[1]  # the children run from here, so `tools` imports

CORPUS_VERSION = 3  # bump when the generated figures or the way the files are made change
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
OPENPYXL = "openpyxl"
LIBREOFFICE = "LibreOffice"
LIBREOFFICE_EVERY = 11  # one unit in 11 (302 of 3,321) fills its file in LibreOffice
LIBREOFFICE_FORMATS = ("xlsx", "xls", "ods")  # taken in turn by those units


@dataclass(frozen=True)
class Corpus:
    folder: Path  # the filled workbooks
    roster: Path  # every unit of the corpus
    files: tuple[Path, ...]  # in roster order
    units: tuple[Unit, ...]
    every: int = LIBREOFFICE_EVERY

    def groups(self) -> dict[str, list[Path]]:
        """The files by format and the program that saved them ("xlsx, openpyxl", "ods, LibreOffice"…)."""
        found: dict[str, list[Path]] = {}
        for i, path in enumerate(self.files):
            program, fmt = saver(i, self.every)
            found.setdefault(f"{fmt}, {program}", []).append(path)
        return found


def saver(index: int, every: int = LIBREOFFICE_EVERY) -> tuple[str, str]:
    """(program, format) that fills and saves the file of the unit at `index` of the roster (with
    `every` 0, openpyxl every one)."""
    if every and index % every == every // 2:
        return LIBREOFFICE, LIBREOFFICE_FORMATS[(index // every) % len(LIBREOFFICE_FORMATS)]
    return OPENPYXL, "xlsx"


def cache_root() -> Path:
    configured = os.environ.get("MTTQ_BENCH_CACHE")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mttq-xlsx-bench" / f"v{CORPUS_VERSION}"


def template_version() -> str:
    """A digest of what the template writer writes for a unit today: the corpus is rebuilt when the
    templates change, not only when the spec does."""
    import tempfile

    from mttq_xlsx.template import TemplateRequest, write_template

    request = TemplateRequest(load_spec(REPORT_ID), parse_period(PERIOD), generated_at=GENERATED_AT)
    with tempfile.TemporaryDirectory() as scratch:
        unit = Unit("00000", "Xã Mẫu", "", "")
        path = write_template(replace(request, unit=unit), Path(scratch) / "t.xlsx")
        with zipfile.ZipFile(path) as zf:
            parts = [(name, zf.read(name)) for name in sorted(zf.namelist())]
    digest = hashlib.sha256()
    for name, content in parts:
        digest.update(name.encode() + b"\0" + content)
    return digest.hexdigest()[:16]


def corpus_stamp(units: Sequence[Unit], every: int = LIBREOFFICE_EVERY) -> dict[str, Any]:
    report = load_spec(REPORT_ID)
    return {
        "corpus_version": CORPUS_VERSION,
        "report_id": REPORT_ID,
        "spec_version": report.version,
        "template_version": template_version(),
        "package_version": __version__,
        "period": PERIOD,
        "units": len(units),
        "first": units[0].code if units else "",
        "last": units[-1].code if units else "",
        "libreoffice_every": every,
    }


def corpus_names(units: Sequence[Unit], every: int = LIBREOFFICE_EVERY) -> list[str]:
    """Each unit's file name: the template's, with the suffix of the format it was saved as."""
    from mttq_xlsx.template import template_filename

    report, period = load_spec(REPORT_ID), parse_period(PERIOD)
    names = []
    for i, unit in enumerate(units):
        name = template_filename(report, period, unit)
        names.append(str(Path(name).with_suffix("." + saver(i, every)[1])))
    return names


def _cells(unit: Unit, where: Mapping[str, tuple[str, str]]) -> list[tuple[str, str, Any]]:
    """(sheet, cell, value) of each figure the unit fills in."""
    values = unit_values(load_spec(REPORT_ID), unit)
    return [(*where[field_id], value) for field_id, value in values.items()]


def _fill_with_openpyxl(job: tuple[Path, Path, list[tuple[str, str, Any]]]) -> Path:
    """What a program other than the template writer makes of the file: openpyxl loads it, the
    figures are typed into the input cells, and it saves it in its own way."""
    from openpyxl import load_workbook

    src, dst, cells = job
    wb = load_workbook(src)
    for sheet, cell, value in cells:
        wb[sheet][cell].value = value
    wb.save(dst)
    return dst


def _fill_with_libreoffice(jobs: list[tuple[Path, Path, list[tuple[str, str, Any]]]]) -> None:
    from tools import libreoffice

    batch = [
        {
            "src": src,
            "dst": dst,
            "cells": [
                {"sheet": sheet, "cell": cell, "value": {"date": v.isoformat()} if isinstance(v, date) else v}
                for sheet, cell, v in cells
            ],
        }
        for src, dst, cells in jobs
    ]
    failed = [r.get("error") for r in libreoffice.run_jobs(batch, timeout=3600) if not r.get("ok")]
    if failed:
        raise RuntimeError(f"LibreOffice could not fill {len(failed)} files: {failed[0]}")


def build_corpus(
    folder: Path, units: Sequence[Unit], jobs: int = 2, every: int = LIBREOFFICE_EVERY
) -> Corpus:
    """The inbox users send (replacing `folder`): the per-unit templates `template --roster` writes,
    each filled with its unit's figures and saved again by another program, LibreOffice for one
    unit in `every` (as xlsx, xls and ods in turn), openpyxl for the others; and the roster."""
    import mttq_xlsx
    from mttq_xlsx import fieldmap
    from mttq_xlsx.template import template_filename
    from tools.sample_plan import read_field_map

    tmp = folder.with_name(folder.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / CORPUS_DIR).mkdir(parents=True)
    write_roster(units, tmp / ROSTER)
    templates = tmp / "templates"
    report, period = load_spec(REPORT_ID), parse_period(PERIOD)
    mttq_xlsx.write_templates(report, templates, period, roster=tmp / ROSTER, generated_at=GENERATED_AT)
    where = read_field_map(templates / template_filename(report, period, units[0]))[1].cells
    assert fieldmap.META_SHEET not in {sheet for sheet, _ in where.values()}
    work: dict[str, list[tuple[Path, Path, list[tuple[str, str, Any]]]]] = {OPENPYXL: [], LIBREOFFICE: []}
    for i, (unit, name) in enumerate(zip(units, corpus_names(units, every), strict=True)):
        src = templates / template_filename(report, period, unit)
        work[saver(i, every)[0]].append((src, tmp / CORPUS_DIR / name, _cells(unit, where)))
    # LibreOffice runs in processes of its own: a thread waits for each of its sessions, and the
    # openpyxl workers start from a fresh server process (forking beside threads can hang)
    forkserver = multiprocessing.get_context("forkserver")
    with ThreadPoolExecutor(jobs) as sessions, ProcessPoolExecutor(jobs, mp_context=forkserver) as pool:
        started = [sessions.submit(_fill_with_libreoffice, work[LIBREOFFICE][i::jobs]) for i in range(jobs)]
        list(pool.map(_fill_with_openpyxl, work[OPENPYXL], chunksize=16))
        for session in started:
            session.result()
    shutil.rmtree(templates)
    (tmp / STAMP).write_text(json.dumps(corpus_stamp(units, every), indent=2), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    files = tuple(folder / CORPUS_DIR / name for name in corpus_names(units, every))
    return Corpus(folder / CORPUS_DIR, folder / ROSTER, files, tuple(units), every)


def ensure_corpus(root: Path, units: Sequence[Unit], jobs: int = 2, log: Any = print) -> Corpus:
    """The cached corpus under `root`, rebuilt only when its stamp differs or a file is missing.
    Without LibreOffice here, openpyxl saves every file, and the tables say so."""
    from tools import libreoffice

    folder = root / REPORT_ID
    stamp = folder / STAMP
    missing = libreoffice.available()
    every = 0 if missing else LIBREOFFICE_EVERY
    wanted = corpus_stamp(units, every)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(stamp.read_text(encoding="utf-8")) == wanted:
            files = tuple(folder / CORPUS_DIR / name for name in corpus_names(units, every))
            if all(p.is_file() for p in files):
                return Corpus(folder / CORPUS_DIR, folder / ROSTER, files, tuple(units), every)
    if missing:
        log(f"LibreOffice cannot be used here ({missing}): openpyxl saves every file of the corpus.")
    saved = f"LibreOffice (one in {every}: xlsx, xls, ods) and openpyxl (the others)" if every else "openpyxl"
    log(
        f"Building the corpus: {len(units)} workbooks into {folder}: the templates of "
        f"`template --roster`, filled and saved again by {saved}, {jobs} processes; a few minutes…"
    )
    start = time.perf_counter()
    corpus = build_corpus(folder, units, jobs, every)
    log(f"  built in {time.perf_counter() - start:.1f} s")
    return corpus


# ------------------------------------------------------------------------------ inboxes
# How files reach `mttq-xlsx consolidate SOURCE`: each kind makes, from files of the corpus, a
# SOURCE that holds them: a folder, as users save their attachments, or a mailbox of one message
# per unit, each with its unit's workbook (an mbox file, a Maildir; IMAP: `ImapInbox`). `--inbox`
# picks the kinds measured.
InboxKind = Callable[["Corpus", Sequence[Path], Path], Path]
MAIL_VERSION = 1  # bump when the messages built for the mailbox kinds change
MAIL_STYLES = ("gmail", "outlook", "thunderbird", "apple", "raw")  # how the units' clients write
RECEIVED = datetime(2025, 12, 1, 8, 0, tzinfo=VIETNAM)  # the first message's arrival


def folder_inbox(corpus: Corpus, files: Sequence[Path], where: Path) -> Path:
    """A folder holding the files (hard links, else copies), kept while it holds the same ones."""
    names = {p.name for p in files}
    same = where.is_dir() and {p.name for p in where.iterdir()} == names
    if same and all((where / p.name).stat().st_ino == p.stat().st_ino for p in files):
        return where
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    for p in files:
        try:
            os.link(p, where / p.name)  # consolidate follows symlinks only inside the inbox
        except OSError:
            shutil.copy2(p, where / p.name)
    return where


def mail_messages(corpus: Corpus, files: Sequence[Path]) -> Iterator[tuple[datetime, bytes]]:
    """(arrival, message) of each file: its unit's message, the workbook attached under its own
    name, written as one of `MAIL_STYLES` writes it (tools/sample_mail.py), a minute apart."""
    from tools import sample_mail

    at = {p: i for i, p in enumerate(corpus.files)}
    for n, path in enumerate(files):
        unit = corpus.units[at[path]]
        style = MAIL_STYLES[n % len(MAIL_STYLES)]
        received = RECEIVED + timedelta(minutes=n)
        raw = sample_mail.message(
            sender=(f"MTTQ {unit.name}", f"mttq.{unit.code}@gmail.com"),
            subject=f"Báo cáo năm {PERIOD} - {unit.name}",
            sent=received - timedelta(seconds=17),
            message_id=f"bench-{unit.code}@mail.gmail.com",
            text=f"Kính gửi Ban Thường trực,\n{unit.name} xin gửi biểu số liệu năm {PERIOD}.",
            attachments=(sample_mail.Attachment(path.name, path.read_bytes(), style),),
            client="webmail" if style == "raw" else style,
            received=received,
        )
        yield received, raw


def mail_cache(corpus: Corpus) -> Path:
    """Where the mailboxes made of this corpus are kept: beside it, under its stamp (a rebuilt
    corpus, or other messages, make new ones)."""
    stamp = (corpus.folder.parent / STAMP).read_bytes() + f"/mail {MAIL_VERSION}".encode()
    return corpus.folder.parent / f"mail-{hashlib.sha256(stamp).hexdigest()[:12]}"


def _built(where: Path, build: Callable[[Path], None]) -> Path:
    """`where`, built by `build` (into a temporary name, then renamed) unless it is there already."""
    if not where.exists():
        where.parent.mkdir(parents=True, exist_ok=True)
        tmp = where.with_name(where.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.unlink(missing_ok=True)
        build(tmp)
        tmp.rename(where)
    return where


def mbox_inbox(corpus: Corpus, files: Sequence[Path], where: Path) -> Path:
    """An mbox as Gmail Takeout writes one, one message per file."""
    from tools import sample_mail

    def build(tmp: Path) -> None:
        tmp.write_bytes(sample_mail.mbox(list(mail_messages(corpus, files))))

    return _built(where.with_suffix(".mbox"), build)


def maildir_inbox(corpus: Corpus, files: Sequence[Path], where: Path) -> Path:
    """A Maildir, one message per file in new/, delivered (modified) at its arrival."""

    def build(tmp: Path) -> None:
        for sub in ("tmp", "new", "cur"):
            (tmp / sub).mkdir(parents=True)
        for n, (received, raw) in enumerate(mail_messages(corpus, files)):
            stamp = received.timestamp()
            path = tmp / "new" / f"{int(stamp)}.M{n}P1.bench"
            path.write_bytes(raw)
            os.utime(path, (stamp, stamp))

    return _built(where, build)


INBOX_KINDS: dict[str, InboxKind] = {"folder": folder_inbox, "mbox": mbox_inbox, "maildir": maildir_inbox}
MAIL_KINDS = ("mbox", "maildir", "imap")  # measured at the largest size, against the folder
KINDS = ("folder", *MAIL_KINDS)
APPEND_CHUNK = 50  # messages per MULTIAPPEND
KIND_TARGETS = {"mbox": 1.3, "maildir": 1.3, "imap": 2.0}  # × the folder's time (#11)


class ImapInbox:
    """A real IMAP server on this computer (pymap, in memory, as the tests start it), holding the
    files' messages, delivered by APPEND with their arrival as INTERNALDATE."""

    folder = "INBOX"

    def __init__(self, corpus: Corpus, files: Sequence[Path], scratch: Path) -> None:
        self.corpus, self.files, self.scratch = corpus, files, scratch
        self._stack = contextlib.ExitStack()
        self.url = ""
        self.seeding = math.nan  # seconds to deliver the messages

    def __enter__(self) -> ImapInbox:
        from tools.mail_servers import imap_server

        server = self._stack.enter_context(imap_server(self.scratch, debug=False))
        start = time.perf_counter()
        messages = [{"msg": raw, "date": at} for at, raw in mail_messages(self.corpus, self.files)]
        with server.client() as client:  # MULTIAPPEND: an APPEND a message waits ~40 ms for the server
            for first in range(0, len(messages), APPEND_CHUNK):
                client.multiappend(self.folder, messages[first : first + APPEND_CHUNK])
        self.seeding = time.perf_counter() - start
        self.url = f"{server.url}/{self.folder}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @staticmethod
    def env() -> dict[str, str]:
        from tools.mail_servers import PASSWORD

        return {**os.environ, "MTTQ_MAIL_PASSWORD": PASSWORD}


def make_inbox(
    corpus: Corpus, files: Sequence[Path], root: Path, name: str, kind: str = "folder"
) -> tuple[Path, Path]:
    """The SOURCE of `kind` holding `files` of the corpus (a mailbox kept beside the corpus), and
    a roster of their units."""
    place = root if kind == "folder" else mail_cache(corpus)
    source = INBOX_KINDS[kind](corpus, files, place / f"{kind}-{name}")
    roster = root / f"don-vi-{name}.csv"
    at = {p: i for i, p in enumerate(corpus.files)}
    units = [corpus.units[at[p]] for p in files]
    if not roster.is_file() or [u.code for u in read_roster(roster)] != [u.code for u in units]:
        write_roster(units, roster)
    return source, roster


def subset_inbox(corpus: Corpus, n: int, root: Path, kind: str = "folder") -> tuple[Path, Path]:
    """The first `n` files of the corpus as an inbox of `kind`, and their roster."""
    return make_inbox(corpus, corpus.files[:n], root, str(n), kind)


# ------------------------------------------------------------------------------ floors
def read_sheets() -> tuple[str, ...]:
    """The sheets consolidate reads: the cover, the report's forms and the field map."""
    report = load_spec(REPORT_ID)
    return (report.cover.sheet, *(f.sheet for f in report.forms), META_SHEET)


def floor_calamine(paths: Iterable[Path]) -> tuple[int, int]:
    """python-calamine reading the sheets consolidate reads, nothing else: (files, cells)."""
    from python_calamine import CalamineWorkbook

    files = cells = 0
    sheets = read_sheets()
    for p in paths:
        wb = CalamineWorkbook.from_path(str(p))
        for name in sheets:
            cells += sum(len(r) for r in wb.get_sheet_by_name(name).to_python())
        files += 1
    return files, cells


def floor_openpyxl(paths: Iterable[Path]) -> tuple[int, int]:
    """What a user would write: openpyxl read-only, cached values, every row of the same sheets.
    It reads .xlsx (and .xlsm) only: (files read, cells)."""
    from openpyxl import load_workbook

    files = cells = 0
    sheets = read_sheets()
    for p in paths:
        if p.suffix.lower() not in {".xlsx", ".xlsm"}:
            continue
        wb = load_workbook(p, read_only=True, data_only=True)
        for name in sheets:
            for row in wb[name].iter_rows(values_only=True):
                cells += len(row)
        wb.close()
        files += 1
    return files, cells


FLOORS = {"calamine": floor_calamine, "openpyxl": floor_openpyxl}


def _floor_main(kind: str, list_file: Path) -> None:
    """Child-process entry: time one floor over the files listed (one path a line)."""
    paths = [Path(line) for line in list_file.read_text(encoding="utf-8").splitlines() if line]
    start = time.perf_counter()
    files, cells = FLOORS[kind](paths)
    print(json.dumps({"seconds": time.perf_counter() - start, "cells": cells, "files": files}))


# ------------------------------------------------------------------------------ phases
def _phases_main(inbox: str, roster: Path, out: Path) -> None:
    """Child-process entry: the steps of `mttq-xlsx consolidate`, through the library, each timed
    (wall, CPU of this process, CPU of the reading workers); prints them as JSON. Reading ends
    when the last file is read (the last progress call); combining is what follows."""
    import resource

    def now() -> tuple[float, float, float]:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.perf_counter(), time.process_time(), usage.ru_utime + usage.ru_stime

    marks = [("start", now())]
    import mttq_xlsx.cli  # what the command imports, before it reads anything
    from mttq_xlsx import ingest, mailboxes

    options = ingest.Options(period=parse_period(PERIOD), roster=tuple(read_roster(roster)))
    imap = mailboxes.kind(inbox) == "imap"  # the password from MTTQ_MAIL_PASSWORD, as `ImapInbox.env`
    access = mailboxes.MailAccess(insecure=imap)
    marks.append(("start-up: import, roster", now()))
    last: list[tuple[float, float, float]] = []

    def progress(done: int, total: int) -> None:
        if done == total:
            last.append(now())

    with ingest.collected([inbox], options, access) as entries:
        marks.append(("listing the inbox (IMAP: fetching)", now()))
        result = ingest.read_entries(entries, options, progress, None if imap else Path(inbox))
    done = now()  # the workers' CPU is known once they have ended, after the last file
    read = last[-1] if last else done
    workers = min(os.cpu_count() or 1, len(entries))
    marks.append((f"reading and checks, {workers} worker processes", (read[0], read[1], done[2])))
    marks.append(("combining", done))
    mttq_xlsx.write_summary(result, out, per_unit="auto")
    marks.append(("writing the summary", now()))
    steps = [
        {
            "step": b[0],
            "wall": b[1][0] - a[1][0],
            "cpu_main": b[1][1] - a[1][1],
            "cpu_workers": b[1][2] - a[1][2],
        }
        for a, b in itertools.pairwise(marks)
    ]
    print(json.dumps(steps))


def phases(
    inbox: Path | str, roster: Path, out: Path, env: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Where the time of one consolidate run goes, measured in a fresh process."""
    command = [sys.executable, "-m", "tools.bench", "--phases", str(inbox), str(roster), str(out)]
    run = run_child(command, env)
    return json.loads(run.stdout.strip().splitlines()[-1])


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


def _command() -> list[str]:
    exe = Path(sys.executable).with_name("mttq-xlsx")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from mttq_xlsx.cli import main; main()"]


def measure_consolidate(
    source: Path | str,
    roster: Path,
    out: Path,
    env: Mapping[str, str] | None = None,
    report: Path | None = None,
) -> Run:
    """`consolidate SOURCE` (and its JSON `report`); an IMAP address with --insecure (a server on
    this computer) and `env` (its password)."""
    plain = ["--insecure"] if str(source).startswith("imap://") else []
    command = [
        "consolidate",
        str(source),
        *plain,
        "-o",
        str(out),
        "--roster",
        str(roster),
        "--period",
        PERIOD,
    ]
    command += ["--report", str(report)] if report else []
    return run_child([*_command(), *command], env)


def measure_floor(kind: str, paths: Sequence[Path], scratch: Path) -> Run:
    """One floor in a child process; `seconds` is its reading only (not the interpreter's start),
    `stdout` its JSON (files read, cells)."""
    listing = scratch / f"files-{kind}-{len(paths)}-{paths[0].stem if paths else ''}.txt"
    listing.write_text("\n".join(str(p) for p in paths) + "\n", encoding="utf-8")
    run = run_child([sys.executable, "-m", "tools.bench", "--floor", kind, str(listing)])
    result = json.loads(run.stdout.strip().splitlines()[-1])
    run.seconds = result["seconds"]
    run.stdout = json.dumps(result)
    return run


def measure_templates(roster: Path, scratch: Path) -> Run:
    """`mttq-xlsx template REPORT --roster ROSTER` into an empty folder: the generic template and
    one workbook per unit."""
    out = scratch / "templates"
    shutil.rmtree(out, ignore_errors=True)
    try:
        return run_child(
            [*_command(), "template", REPORT_ID, "-o", str(out), "--period", PERIOD, "--roster", str(roster)]
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)


def compile_package() -> None:
    """Write the package's bytecode, as `pip install` does when users install it: an editable
    install (`make setup`) has none until a run writes it, and none is ever written where
    PYTHONDONTWRITEBYTECODE is set, so that every command would compile the sources again
    (about 0.15 s of a `check`'s 0.35 s on the bench machine)."""
    import compileall

    compileall.compile_dir(str(ROOT / "mttq_xlsx"), quiet=1)


def measure_check(path: Path) -> Run:
    return run_child([*_command(), "check", str(path)])


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


def repeated(repeat: int, *measures: Callable[[], Run]) -> list[Run]:
    """Each measure `repeat` times, taken in turn (so a change of load hits them alike): medians."""
    runs: list[list[Run]] = [[] for _ in measures]
    for _ in range(repeat):
        for taken, measure in zip(runs, measures, strict=True):
            taken.append(measure())
    return [_median(r) for r in runs]


@dataclass
class Line:
    """One line of a table: consolidate and the two baselines on the same files."""

    label: str
    files: int
    consolidate: Run
    calamine: Run
    openpyxl_seconds: float  # nan when not measured
    openpyxl_note: str = ""  # "extrapolated", "xlsx only, scaled to all files"
    openpyxl_mb: float = math.nan
    load: tuple[float, float] = (math.nan, math.nan)  # 1-minute load average before and after
    steps: list[dict[str, Any]] = field(default_factory=list)  # one run's steps (`phases`)

    @property
    def reading_ms(self) -> float:
        """CPU of the reading workers per file (reading and checks), from the steps."""
        cpu = sum(step["cpu_workers"] for step in self.steps)
        return 1000 * cpu / self.files if self.steps else math.nan

    @property
    def floor_ratio(self) -> float:
        return self.consolidate.seconds / self.calamine.seconds

    @property
    def openpyxl_ratio(self) -> float:
        return self.openpyxl_seconds / self.consolidate.seconds


def measure_line(
    label: str,
    corpus: Corpus,
    files: Sequence[Path],
    root: Path,
    name: str,
    args: argparse.Namespace,
    openpyxl_per_file: float | None = None,
) -> Line:
    """Consolidate, the calamine floor and openpyxl on `files` (openpyxl extrapolated from
    `openpyxl_per_file` when given)."""
    scratch = root / "runs"
    scratch.mkdir(exist_ok=True)
    source, roster = make_inbox(corpus, files, root, name)
    out = scratch / f"tong-hop-{name}.xlsx"
    load = os.getloadavg()[0]
    cons, cal = repeated(
        args.repeat,
        lambda: measure_consolidate(source, roster, out),
        lambda: measure_floor("calamine", files, scratch),
    )
    opx_seconds, note, opx_mb = math.nan, "", math.nan
    if openpyxl_per_file is not None:
        opx_seconds, note = openpyxl_per_file * len(files), "extrapolated"
    elif not args.no_openpyxl:
        opx = measure_floor("openpyxl", files, scratch)
        read = json.loads(opx.stdout)["files"]
        if read:
            opx_seconds, opx_mb = opx.seconds * len(files) / read, opx.tree_mb
            note = "" if read == len(files) else f"xlsx only ({read:,} files), scaled to all"
    steps = [] if args.no_phases else phases(source, roster, scratch / f"phases-{name}.xlsx")
    return Line(label, len(files), cons, cal, opx_seconds, note, opx_mb, (load, os.getloadavg()[0]), steps)


@dataclass
class KindLine:
    """One inbox kind at one size: consolidate, the folder's consolidate taken in turn with it."""

    kind: str
    files: int
    consolidate: Run
    folder: Run
    same_totals: bool  # the JSON report's totals and accepted files are the folder's
    steps: list[dict[str, Any]] = field(default_factory=list)
    load: tuple[float, float] = (math.nan, math.nan)

    @property
    def ratio(self) -> float:
        return self.consolidate.seconds / self.folder.seconds

    @property
    def cpu_ratio(self) -> float:
        return self.consolidate.cpu / self.folder.cpu


def _read_report(path: Path) -> tuple[Any, int]:
    report = json.loads(path.read_text(encoding="utf-8"))
    return report["totals"], sum(f["status"] == "accepted" for f in report["files"])


def measure_kinds(
    corpus: Corpus, files: Sequence[Path], root: Path, kinds: Sequence[str], args: argparse.Namespace
) -> tuple[list[KindLine], str]:
    """consolidate on `files` arriving as each of `kinds` (and as a folder), measured in turn;
    and a note on how the IMAP server was filled."""
    scratch = root / "runs"
    scratch.mkdir(exist_ok=True)
    name = str(len(files))
    folder, roster = make_inbox(corpus, files, root, name)
    sources: dict[str, tuple[Path | str, Mapping[str, str] | None]] = {"folder": (folder, None)}
    note = ""
    load = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        for kind in kinds:
            if kind == "imap":
                print(f"IMAP: delivering {len(files):,} messages to a pymap server by APPEND…", flush=True)
                imap = stack.enter_context(ImapInbox(corpus, files, scratch))
                sources[kind] = (imap.url, ImapInbox.env())
                note = (
                    f"pymap {metadata.version('pymap')} in memory, filled by APPEND in {imap.seeding:.0f} s"
                )
            elif kind != "folder":
                sources[kind] = (make_inbox(corpus, files, root, name, kind)[0], None)
        print(f"{len(files):,} files as {', '.join(sources)}: consolidate ×{args.repeat}…", flush=True)
        reports = {kind: scratch / f"bao-cao-{kind}.json" for kind in sources}
        runs = repeated(
            args.repeat,
            *(
                lambda k=kind, s=source, e=env: measure_consolidate(  # type: ignore[misc]
                    s, roster, scratch / f"tong-hop-{k}.xlsx", e, reports[k]
                )
                for kind, (source, env) in sources.items()
            ),
        )
        steps = {
            kind: [] if args.no_phases else phases(source, roster, scratch / f"phases-{kind}.xlsx", env)
            for kind, (source, env) in sources.items()
        }
    by_kind = dict(zip(sources, runs, strict=True))
    folder_report = _read_report(reports["folder"])
    return [
        KindLine(
            kind,
            len(files),
            by_kind[kind],
            by_kind["folder"],
            _read_report(reports[kind]) == folder_report,
            steps[kind],
            (load, os.getloadavg()[0]),
        )
        for kind in sources
    ], note


# ------------------------------------------------------------------------------ the report
def _seconds(run: Run, repeats: int) -> str:
    text = f"{run.seconds:.2f}"
    if run.spread and repeats > 1:
        text += f" ({run.spread[0]:.2f}–{run.spread[1]:.2f})"
    return text


def render(lines: list[Line], repeats: int, first: str = "files") -> str:
    head = (
        f"| {first} | files | consolidate s | consolidate CPU s | calamine floor s | openpyxl s "
        "| consolidate / floor | openpyxl / consolidate | consolidate ms/file | reading CPU ms/file "
        "| floor ms/file | peak MB consolidate (tree / largest) | peak MB floor | peak MB openpyxl | load |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    rows = []
    for line in lines:
        opx = ratio = "-"
        if not math.isnan(line.openpyxl_seconds):
            opx = f"{line.openpyxl_seconds:.2f}" + (f" ({line.openpyxl_note})" if line.openpyxl_note else "")
            ratio = f"{line.openpyxl_ratio:.1f}×"
        opx_mb = "-" if math.isnan(line.openpyxl_mb) else f"{line.openpyxl_mb:.0f}"
        cons, cal = line.consolidate, line.calamine
        rows.append(
            f"| {line.label} | {line.files:,} | {_seconds(cons, repeats)} | {cons.cpu:.2f} "
            f"| {_seconds(cal, repeats)} | {opx} | {line.floor_ratio:.2f}× | {ratio} "
            f"| {1000 * cons.seconds / line.files:.2f} | {line.reading_ms:.2f} "
            f"| {1000 * cal.seconds / line.files:.2f} "
            f"| {cons.tree_mb:.0f} / {cons.max_rss_mb:.0f} "
            f"| {cal.tree_mb:.0f} | {opx_mb} | {line.load[0]:.1f} → {line.load[1]:.1f} |"
        )
    return head + "\n".join(rows) + "\n"


def render_kinds(lines: list[KindLine], repeats: int) -> str:
    """consolidate by inbox kind: wall and CPU, against the folder measured in turn with it; then
    where the time goes (one run each): listing (IMAP: fetching), reading (mail: parsing too)."""
    head = (
        "| inbox | files | consolidate s | / folder | consolidate CPU s | CPU / folder | listing s "
        "| reading and checks s | summary s | peak MB (tree / largest) | same totals | load |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n"
    )
    rows = []
    for line in lines:
        steps = {st["step"].split(",")[0].split(" (")[0]: st for st in line.steps}
        shown = {
            name: f"{st['wall']:.2f} ({st['cpu_main']:.2f} + {st['cpu_workers']:.2f})"
            for name, st in steps.items()
        }
        cons = line.consolidate
        rows.append(
            f"| {line.kind} | {line.files:,} | {_seconds(cons, repeats)} | {line.ratio:.2f}× "
            f"| {cons.cpu:.2f} | {line.cpu_ratio:.2f}× | {shown.get('listing the inbox', '-')} "
            f"| {shown.get('reading and checks', '-')} | {shown.get('writing the summary', '-')} "
            f"| {cons.tree_mb:.0f} / {cons.max_rss_mb:.0f} | {'yes' if line.same_totals else 'NO'} "
            f"| {line.load[0]:.1f} → {line.load[1]:.1f} |"
        )
    return head + "\n".join(rows) + "\n"


def render_phases(by_size: dict[int, list[dict[str, Any]]]) -> str:
    """Each step's wall time (CPU of the main process + of the reading workers) at each size."""
    sizes = sorted(by_size)
    lines = [
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


@dataclass
class Target:
    what: str
    met: bool
    shown: str

    def __str__(self) -> str:
        return f"{'PASS' if self.met else 'FAIL'}  {self.what}: {self.shown}"


def targets(
    sizes: list[Line], templates: Run | None, checks: dict[str, Run], kinds: Sequence[KindLine] = ()
) -> list[Target]:
    """The issues' targets (#13; #11 for the mailboxes), each with whether this run meets it."""
    out = []
    if sizes:
        big = sizes[-1]
        out += [
            Target(
                f"consolidate {big.files:,} files end to end ≤ 4 s",
                big.consolidate.seconds <= 4,
                f"{big.consolidate.seconds:.2f} s",
            ),
            Target(
                "consolidate ≤ 1.0× the one-process calamine floor of the sheets it reads",
                big.floor_ratio <= 1.0,
                f"{big.floor_ratio:.2f}× (floor {big.calamine.seconds:.2f} s)",
            ),
        ]
        if not math.isnan(big.openpyxl_seconds):
            note = f" [{big.openpyxl_note}]" if big.openpyxl_note else ""
            out.append(
                Target(
                    "≥ 20× faster than openpyxl read-only",
                    big.openpyxl_ratio >= 20,
                    f"{big.openpyxl_ratio:.1f}×{note}",
                )
            )
        out.append(
            Target(
                "peak memory of the whole process tree < 300 MB",
                big.consolidate.tree_mb < 300,
                f"{big.consolidate.tree_mb:.0f} MB",
            )
        )
        if len(sizes) >= 2:
            a, b = sizes[-2], sizes[-1]
            extra = 1000 * (b.consolidate.seconds - a.consolidate.seconds) / (b.files - a.files)
            mean = 1000 * b.consolidate.seconds / b.files
            out.append(
                Target(
                    f"linear: each file past {a.files:,} costs no more than the average file at {b.files:,}",
                    extra <= 1.1 * mean,
                    f"{extra:.2f} ms per extra file, {mean:.2f} ms per file on average",
                )
            )
    for kind in kinds:
        if kind.kind in KIND_TARGETS:
            limit = KIND_TARGETS[kind.kind]
            fetch = "fetch and consolidate" if kind.kind == "imap" else "consolidate"
            out.append(
                Target(
                    f"{kind.kind}: {fetch} {kind.files:,} messages ≤ {limit:g}× the same files in a folder",
                    kind.ratio <= limit and kind.same_totals,
                    f"{kind.ratio:.2f}× ({kind.consolidate.seconds:.2f} s / {kind.folder.seconds:.2f} s; "
                    f"CPU {kind.cpu_ratio:.2f}×)" + ("" if kind.same_totals else "; NOT the folder's totals"),
                )
            )
    if templates is not None:
        out.append(
            Target(
                "template --roster for every commune ≤ 20 s",
                templates.seconds <= 20,
                f"{templates.seconds:.2f} s",
            )
        )
    if checks:
        group, slowest = max(checks.items(), key=lambda kv: kv[1].seconds)
        out.append(
            Target(
                "check of one file ≤ 0.3 s, start-up included",
                slowest.seconds <= 0.3,
                f"{slowest.seconds:.2f} s (slowest: {group})",
            )
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="inbox sizes to run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure (median taken)")
    parser.add_argument("--jobs", type=int, default=2, help="processes to build the corpus")
    parser.add_argument("--cache", type=Path, default=None, help="cache folder")
    parser.add_argument(
        "--inbox",
        default=",".join(["folder", *MAIL_KINDS]),
        help=f"how the files arrive, measured at the largest size against the folder: {', '.join(KINDS)}",
    )
    parser.add_argument("--openpyxl-full", action="store_true", help="run openpyxl at the largest size too")
    parser.add_argument("--no-openpyxl", action="store_true", help="skip openpyxl")
    parser.add_argument("--no-formats", action="store_true", help="skip the table by format")
    parser.add_argument("--no-phases", action="store_true", help="skip timing each step of consolidate")
    parser.add_argument("--no-templates", action="store_true", help="skip `template --roster` and `check`")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the tables here")
    parser.add_argument("--build-only", action="store_true", help="build the corpus and stop")
    parser.add_argument("--floor", nargs=2, metavar=("KIND", "LIST"), help=argparse.SUPPRESS)
    parser.add_argument("--phases", nargs=3, metavar=("INBOX", "ROSTER", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.inbox.split(",") if k.strip()]
    if unknown := [k for k in kinds if k not in KINDS]:
        parser.error(f"--inbox: unknown kind {', '.join(unknown)} (kinds: {', '.join(KINDS)})")
    if args.floor:
        _floor_main(args.floor[0], Path(args.floor[1]))
        return 0
    if args.phases:
        _phases_main(args.phases[0], Path(args.phases[1]), Path(args.phases[2]))
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
    started = time.perf_counter()
    load_before = os.getloadavg()
    if load_before[0] > 1.0:
        print(f"Note: load average {load_before[0]:.2f}: other work on this machine slows the runs.")
    floor_calamine(corpus.files)  # warm the page cache once, as a second run would find it
    compile_package()

    by_size: list[Line] = []
    opx_per_file: float | None = None
    for n in sizes:
        print(
            f"{n:>5,} files: consolidate and the calamine floor ×{args.repeat}, openpyxl, steps…", flush=True
        )
        extrapolate = opx_per_file if n == sizes[-1] and len(sizes) > 1 and not args.openpyxl_full else None
        line = measure_line(f"{n:,}", corpus, corpus.files[:n], root, str(n), args, extrapolate)
        if not math.isnan(line.openpyxl_seconds) and not line.openpyxl_note.startswith("extrapolated"):
            opx_per_file = line.openpyxl_seconds / n
        by_size.append(line)

    by_format: list[Line] = []
    if not args.no_formats:
        groups = corpus.groups()
        alike = max((len(files) for group, files in groups.items() if LIBREOFFICE in group), default=100)
        for group, files in groups.items():
            print(f"{group}: {min(alike, len(files))} files…", flush=True)
            name = group.replace(", ", "-").lower()
            by_format.append(measure_line(group, corpus, files[:alike], root, name, args))

    by_kind: list[KindLine] = []
    imap_note = ""
    if any(k != "folder" for k in kinds):
        by_kind, imap_note = measure_kinds(corpus, corpus.files[: sizes[-1]], root, kinds, args)

    steps = {line.files: line.steps for line in by_size if line.steps}
    templates: Run | None = None
    checks: dict[str, Run] = {}
    if not args.no_templates:
        print(
            f"template --roster ({len(corpus.units):,} units) ×{args.repeat}, check of one file ×5…",
            flush=True,
        )
        (templates,) = repeated(args.repeat, lambda: measure_templates(corpus.roster, scratch))
        for group, files in corpus.groups().items():
            (checks[group],) = repeated(5, lambda f=files[0]: measure_check(f))  # type: ignore[misc]

    info = machine()
    load_after = os.getloadavg()
    info["load average (1 min) before / after"] = f"{load_before[0]:.2f} / {load_after[0]:.2f}"
    info["bench run"] = f"{time.perf_counter() - started:.0f} s"
    report = [
        f"Measured {date.today().isoformat()}, median of {args.repeat} (fastest–slowest).",
        "",
        "By inbox size (the first N communes of the roster, in a folder):",
        "",
        render(by_size, args.repeat, "inbox"),
    ]
    if by_format:
        report += [
            "By format and the program that saved the files (at this size start-up and the summary "
            "weigh on consolidate; reading CPU is the reading workers' per file):",
            "",
            render(by_format, args.repeat, "saved as"),
        ]
    if by_kind:
        report += [
            f"By inbox kind: the {by_kind[0].files:,} files in a folder, and as as many messages (one "
            "workbook each) in an mbox, a Maildir and an IMAP folder, each run in turn with the folder; "
            "one run each for the steps, wall seconds (CPU: main process + reading workers); mail is "
            "parsed by the reading workers, IMAP fetched while listing"
            + (f"; {imap_note}" if imap_note else "")
            + ":",
            "",
            render_kinds(by_kind, args.repeat),
        ]
    if steps:
        report += [
            "Where the time goes: one run per size through the library, in a fresh process; wall "
            "seconds (CPU seconds: main process + reading workers).",
            "",
            render_phases(steps),
        ]
    if templates is not None:
        report += [
            f"`template {REPORT_ID} --roster` ({len(corpus.units):,} units): "
            f"{_seconds(templates, args.repeat)} s wall, {templates.cpu:.2f} s CPU, "
            f"peak {templates.tree_mb:.0f} MB.",
            "",
            "`check` of one file, wall (start-up included), median of 5: "
            + "; ".join(f"{group} {run.seconds:.2f} s" for group, run in checks.items())
            + ".",
            "",
        ]
    verdict = targets(by_size, templates, checks, by_kind)
    report += [*(f"- {t}" for t in verdict), "", *(f"- {k}: {v}" for k, v in info.items())]
    text = "\n".join(report) + "\n"
    print()
    print(text)
    print(
        "consolidate: wall time of `mttq-xlsx consolidate SOURCE -o OUT --roster ROSTER --period "
        f"{PERIOD}` (start, import, read, check, write the summary, exit); its CPU (user + system, "
        "the reading workers included) moves less with other load than wall time does. Floors: "
        "time inside one process reading the sheets consolidate reads (the interpreter's start not "
        "counted); openpyxl reads .xlsx only."
    )
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0 if all(t.met for t in verdict) else 1


if __name__ == "__main__":
    sys.exit(main())
