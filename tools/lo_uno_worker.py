#!/usr/bin/python3
"""Drive a private headless LibreOffice over UNO: fill cells, recalculate, save.

Run this with Debian's ``/usr/bin/python3`` (the one that can ``import uno``),
not a virtualenv's interpreter. Normally it is spawned by ``tools/libreoffice.py``.

Protocol: ONE JSON list of jobs on stdin, ONE JSON list of results on stdout
(same length and order; ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``).
Exit status 0 when the batch ran (individual jobs may still have failed), 2 when
the batch as a whole failed (bad input, LibreOffice would not start); the reason
is then on stderr.

Job keys (only ``src`` and ``dst`` are required)::

    src            absolute path of the workbook to open (xlsx/xls/ods/...)
    dst            output path; parent folders are created; written atomically
    format         "xlsx" | "xls" | "ods"; default: from dst's suffix
    cells          list of {"sheet", "cell", <one of the actions below>}
                     "value": number -> setValue; string -> setString (stays text);
                              {"date": "2024-03-15"} or {"date": "2024-03-15T08:30"}
                              -> date serial with a date number format; null -> clear
                     "formula": "=D12/D13"        Excel syntax (commas, Sheet!A1)
                     "formula_native": "=D12/D13" LibreOffice API syntax (;, $Sheet.A1)
                     "clear": true                clear contents (formats stay)
                   optional "number_format": format code applied to the cell
    unprotect      true -> unprotect every sheet first (output stays unprotected);
                   otherwise writing a LOCKED cell of a protected sheet is an error
                   (LibreOffice's API would silently allow it)
    remove_sheets  list of sheet names to delete
    rename_sheets  {"old": "new"}
    insert_rows    list of {"sheet", "before_row" (1-based), "count" (default 1)}
    row_heights    list of {"sheet", "row" (1-based), "height" (1/100 mm)}: a row's height
                   set by hand, e.g. of the sheet's last row, as users do by accident
    recalculate    default true -> document.calculateAll() before saving
    modified       optional ISO date-time, e.g. "2024-06-05T09:30:00+07:00" (no offset:
                   local time of this process, i.e. its TZ): stored as the document's
                   last-saved time exactly as LibreOffice stamps a save itself, as
                   local wall-clock time. LibreOffice 7.4 then writes it as it would
                   its own stamp: xlsx dcterms:modified as that wall-clock time with a
                   false "Z", ods meta.xml dc:date naive local, xls summary "last
                   saved" converted to true UTC. LibreOffice stamps the current time
                   on saving a *modified* document; with this key the document is
                   marked unmodified right before storeToURL, so the given time is
                   kept (checked with LibreOffice 7.4, all 3 formats, under
                   TZ=Asia/Ho_Chi_Minh: the same bytes as a real save at that time).

Order inside a job: unprotect, remove_sheets, rename_sheets, insert_rows, row_heights, cells,
recalculate, modified, save. So cell addresses refer to the layout after row insertion and
sheet names after renaming.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from com.sun.star.sheet.AddressConvention import XL_OOX as ADDRESS_CONVENTION_XL_OOX
from com.sun.star.sheet.FormulaLanguage import OOXML as FORMULA_LANGUAGE_OOXML
from com.sun.star.sheet.FormulaLanguage import XL_ENGLISH as FORMULA_LANGUAGE_XL_ENGLISH
from com.sun.star.sheet.FormulaMapGroup import ALL_EXCEPT_SPECIAL as FORMULA_MAP_ALL

FILTERS = {
    "xlsx": "Calc MS Excel 2007 XML",
    "xls": "MS Excel 97",
    "ods": "calc8",
}
JOB_KEYS = {
    "src",
    "dst",
    "format",
    "cells",
    "unprotect",
    "remove_sheets",
    "rename_sheets",
    "insert_rows",
    "row_heights",
    "recalculate",
    "modified",
    "password",
    "odf_version",
}
CELL_ACTIONS = ("value", "formula", "formula_native", "clear")
CELL_KEYS = {"sheet", "cell", "number_format", *CELL_ACTIONS}
# com.sun.star.sheet.CellFlags: VALUE | DATETIME | STRING | FORMULA
CLEAR_CONTENT_FLAGS = 1 | 2 | 4 | 16
# com.sun.star.util.NumberFormat.LOGICAL
NUMBER_FORMAT_LOGICAL = 1024
# Calc error codes worth naming in warnings
ERROR_NAMES = {
    503: "#NUM!",
    504: "parameter list error",
    508: "missing bracket",
    509: "missing operator",
    519: "#VALUE!",
    520: "syntax error",
    522: "circular reference",
    524: "#REF!",
    525: "#NAME?",
    532: "#DIV/0!",
}

CONNECT_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 10.0


class JobError(Exception):
    """A problem with one job; reported as {"ok": false} for that job only."""


def log(msg: str) -> None:
    print(f"lo_uno_worker: {msg}", file=sys.stderr, flush=True)


def prop(name: str, value) -> PropertyValue:
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def describe(exc: BaseException) -> str:
    """UNO exceptions often have an empty str(); their text is in .Message."""
    msg = getattr(exc, "Message", None) or str(exc)
    name = getattr(type(exc), "__pyunointerface__", None) or type(exc).__name__
    return f"{name}: {msg}".strip().rstrip(":")


def pids_with_arg(fragment: str) -> list[int]:
    """Process ids whose command line contains ``fragment`` (Linux /proc scan)."""
    found = []
    needle = fragment.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if needle in cmdline:
            found.append(int(entry))
    return found


class Office:
    """A private soffice process (own pipe name, own profile) and its Desktop."""

    def __init__(self, soffice: str, pipe_name: str, workdir: Path) -> None:
        self.soffice = soffice
        self.pipe_name = pipe_name
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.desktop = None
        self.ctx = None
        self.log_path = workdir / f"soffice-{pipe_name}.log"
        self.starts = 0

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        self.starts += 1
        profile = self.workdir / f"profile-{self.starts}"
        profile.mkdir(parents=True, exist_ok=True)
        cmd = [
            self.soffice,
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            f"-env:UserInstallation={profile.as_uri()}",
            f"--accept=pipe,name={self.pipe_name};urp;",
        ]
        t0 = time.monotonic()
        with open(self.log_path, "ab") as logfh:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=logfh,
                stderr=logfh,
                start_new_session=True,  # own process group -> killpg at the end
            )
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        url = f"uno:pipe,name={self.pipe_name};urp;StarOffice.ComponentContext"
        deadline = t0 + CONNECT_TIMEOUT
        while True:
            try:
                ctx = resolver.resolve(url)
                break
            except NoConnectException:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"soffice exited with status {self.proc.returncode} before "
                        f"accepting connections; its output:\n{self.log_tail()}"
                    ) from None
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"could not connect to soffice within {CONNECT_TIMEOUT:.0f} s; "
                        f"its output:\n{self.log_tail()}"
                    ) from None
                time.sleep(0.1)
        self.ctx = ctx
        self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        log(f"soffice ready in {time.monotonic() - t0:.2f} s (pipe {self.pipe_name})")

    def alive(self) -> bool:
        if self.proc is None or self.proc.poll() is not None or self.desktop is None:
            return False
        try:
            self.desktop.getComponents()
            return True
        except Exception:
            return False

    def stop(self) -> None:
        """Terminate soffice: politely, then the whole process group, then stragglers."""
        desktop, proc = self.desktop, self.proc
        self.desktop = None
        self.proc = None
        if desktop is not None and proc is not None and proc.poll() is None:
            # desktop.terminate() is a synchronous UNO call; never let a hung
            # soffice hang us too.
            t = threading.Thread(target=_quietly, args=(desktop.terminate,), daemon=True)
            t.start()
            t.join(SHUTDOWN_TIMEOUT)
        if proc is not None:
            try:
                # without a connection there is nobody to ask politely: kill now
                proc.wait(timeout=SHUTDOWN_TIMEOUT if desktop is not None else 0.1)
            except subprocess.TimeoutExpired:
                _killpg(proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
            # soffice is a wrapper (oosplash -> soffice.bin): take down the group
            # even when the leader is already gone.
            _killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        for pid in pids_with_arg(f"pipe,name={self.pipe_name};"):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        remove_pipe_files(self.pipe_name)

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return "(no soffice output)"


def remove_pipe_files(pipe_name: str) -> None:
    """A killed soffice leaves its socket behind as /tmp/OSL_PIPE_<uid>_<name>."""
    for folder in ("/tmp", "/var/tmp"):
        for path in Path(folder).glob(f"OSL_PIPE_*_{pipe_name}"):
            with contextlib.suppress(OSError):
                path.unlink()


def _quietly(fn) -> None:
    # the bridge is disposed as soffice goes away: errors here are expected
    with contextlib.suppress(Exception):
        fn()


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


# -- one job -------------------------------------------------------------------
def file_url(path: str) -> str:
    return uno.systemPathToFileUrl(os.path.abspath(path))


def get_sheet(doc, name: str):
    sheets = doc.Sheets
    if not isinstance(name, str) or not sheets.hasByName(name):
        raise JobError(f"no sheet {name!r}; sheets are {list(sheets.ElementNames)!r}")
    return sheets.getByName(name)


def get_range(sheet, ref: str, sheet_name: str):
    try:
        return sheet.getCellRangeByName(ref)
    except Exception as exc:
        msg = f"bad cell reference {ref!r} on sheet {sheet_name!r}: {describe(exc)}"
        raise JobError(msg) from None


def check_writable(sheet, rng, sheet_name: str, ref: str) -> None:
    """Refuse to touch a locked cell of a protected sheet.

    LibreOffice's API writes such cells without complaint (setValue works,
    clearContents silently does nothing), which would hide template bugs.
    """
    if not sheet.isProtected():
        return
    addr = rng.RangeAddress
    rows, cols = addr.EndRow - addr.StartRow + 1, addr.EndColumn - addr.StartColumn + 1
    if rows * cols > 10_000:
        raise JobError(
            f"range {ref!r} on protected sheet {sheet_name!r} is too large to check for "
            'locked cells; pass "unprotect": true or use a smaller range'
        )
    for row in range(rows):
        for col in range(cols):
            if rng.getCellByPosition(col, row).CellProtection.IsLocked:
                raise JobError(
                    f"cell {ref!r} on protected sheet {sheet_name!r} is locked; "
                    'pass "unprotect": true to write it'
                )


class FormulaCompiler:
    """Excel-syntax formulas -> tokens, via com.sun.star.sheet.FormulaParser.

    Plain names (CONCAT, IFS, ...) use the "Excel English" map; formulas with the
    file-format prefixes (_xlfn.CONCAT) use the OOXML map, which requires them.
    """

    def __init__(self, doc) -> None:
        self.doc = doc
        self.parsers: dict[int, object] = {}

    def parser(self, language: int):
        if language not in self.parsers:
            parser = self.doc.createInstance("com.sun.star.sheet.FormulaParser")
            mapper = self.doc.createInstance("com.sun.star.sheet.FormulaOpCodeMapper")
            parser.FormulaConvention = ADDRESS_CONVENTION_XL_OOX
            parser.CompileEnglish = True
            parser.OpCodeMap = mapper.getAvailableMappings(language, FORMULA_MAP_ALL)
            self.parsers[language] = parser
        return self.parsers[language]

    def set(self, cell, formula: str) -> None:
        if not formula.startswith("="):
            formula = "=" + formula
        lowered = formula.lower()
        language = (
            FORMULA_LANGUAGE_OOXML
            if "_xlfn." in lowered or "_xlws." in lowered
            else FORMULA_LANGUAGE_XL_ENGLISH
        )
        tokens = self.parser(language).parseFormula(formula, cell.CellAddress)
        cell.setTokens(tokens)


def number_format_key(doc, code: str) -> int:
    formats = doc.NumberFormats
    locale = uno.createUnoStruct("com.sun.star.lang.Locale")
    locale.Language = "en"
    locale.Country = "US"
    key = formats.queryKey(code, locale, False)
    if key == -1:
        try:
            key = formats.addNew(code, locale)
        except Exception as exc:
            raise JobError(f"bad number format {code!r}: {describe(exc)}") from None
    return key


def date_serial(doc, text: str) -> tuple[float, bool]:
    """(serial number, has_time) for an ISO date or datetime string."""
    try:
        if "T" in text or " " in text.strip():
            value = dt.datetime.fromisoformat(text.strip())
            has_time = True
        else:
            value = dt.datetime.combine(dt.date.fromisoformat(text.strip()), dt.time())
            has_time = False
    except ValueError:
        raise JobError(f"bad date {text!r}; use ISO format YYYY-MM-DD[THH:MM[:SS]]") from None
    null = doc.NullDate
    epoch = dt.datetime(null.Year, null.Month, null.Day)
    delta = value.replace(tzinfo=None) - epoch
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6, has_time


def write_cell(doc, entry: dict, unprotect: bool, compiler: FormulaCompiler) -> str | None:
    """Apply one "cells" entry. Returns a formula to check after recalculation."""
    if not isinstance(entry, dict):
        raise JobError(f"cell entry must be an object, got {entry!r}")
    unknown = set(entry) - CELL_KEYS
    if unknown:
        raise JobError(f"unknown key(s) {sorted(unknown)} in cell entry {entry!r}")
    actions = [k for k in CELL_ACTIONS if k in entry]
    if len(actions) != 1:
        raise JobError(f"cell entry needs exactly one of {CELL_ACTIONS}: {entry!r}")
    action = actions[0]
    sheet_name, ref = entry.get("sheet"), entry.get("cell")
    if not isinstance(ref, str):
        raise JobError(f"cell entry needs a 'cell' reference: {entry!r}")
    sheet = get_sheet(doc, sheet_name)
    rng = get_range(sheet, ref, sheet_name)
    if not unprotect:
        check_writable(sheet, rng, sheet_name, ref)
    addr = rng.RangeAddress
    single = addr.StartRow == addr.EndRow and addr.StartColumn == addr.EndColumn
    value = entry.get("value")

    if action == "clear" or (action == "value" and value is None):
        if action == "clear" and entry["clear"] is not True:
            raise JobError(f'"clear" must be true: {entry!r}')
        rng.clearContents(CLEAR_CONTENT_FLAGS)
        return None
    if not single:
        raise JobError(f"{ref!r}: only 'clear' accepts a range; use single cells")
    cell = rng.getCellByPosition(0, 0)
    fmt_code = entry.get("number_format")
    checked = None

    if action == "value":
        if isinstance(value, bool):
            cell.setValue(1.0 if value else 0.0)
            if fmt_code is None:
                locale = uno.createUnoStruct("com.sun.star.lang.Locale")
                cell.NumberFormat = doc.NumberFormats.getStandardFormat(NUMBER_FORMAT_LOGICAL, locale)
        elif isinstance(value, (int, float)):
            if not math.isfinite(value):
                raise JobError(f"non-finite number {value!r} for {sheet_name}!{ref}")
            cell.setValue(float(value))
        elif isinstance(value, str):
            cell.setString(value)
        elif isinstance(value, dict) and set(value) == {"date"} and isinstance(value["date"], str):
            serial, has_time = date_serial(doc, value["date"])
            cell.setValue(serial)
            if fmt_code is None:
                fmt_code = "YYYY-MM-DD HH:MM:SS" if has_time else "YYYY-MM-DD"
        else:
            raise JobError(f"unsupported value {value!r} for {sheet_name}!{ref}")
    elif action == "formula":
        if not isinstance(entry["formula"], str):
            raise JobError(f"formula must be a string: {entry!r}")
        try:
            compiler.set(cell, entry["formula"])
        except Exception as exc:
            msg = f"formula {entry['formula']!r} at {sheet_name}!{ref}: {describe(exc)}"
            raise JobError(msg) from None
        checked = entry["formula"]
    else:  # formula_native
        if not isinstance(entry["formula_native"], str):
            raise JobError(f"formula_native must be a string: {entry!r}")
        cell.setFormula(entry["formula_native"])
        checked = entry["formula_native"]

    if fmt_code is not None:
        if not isinstance(fmt_code, str):
            raise JobError(f"number_format must be a string: {entry!r}")
        cell.NumberFormat = number_format_key(doc, fmt_code)
    return checked


def set_modification_date(doc, text) -> None:
    """Make ``text`` (ISO date-time) the last-saved time the next store writes.

    LibreOffice overwrites ModificationDate with "now" when it saves a modified
    document (SfxObjectShell::UpdateDocInfoForSave); marking the document
    unmodified after setting the date skips that stamp.
    """
    if not isinstance(text, str):
        raise JobError(f'"modified" must be an ISO date-time string, got {text!r}')
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise JobError(f'bad "modified" {text!r}; use YYYY-MM-DDTHH:MM[:SS][+HH:MM]') from None
    if moment.tzinfo is not None:  # to this process's local wall-clock time, as LibreOffice stamps
        moment = moment.astimezone().replace(tzinfo=None)
    stamp = uno.createUnoStruct("com.sun.star.util.DateTime")
    stamp.Year, stamp.Month, stamp.Day = moment.year, moment.month, moment.day
    stamp.Hours, stamp.Minutes, stamp.Seconds = moment.hour, moment.minute, moment.second
    stamp.NanoSeconds = moment.microsecond * 1000
    stamp.IsUTC = False
    doc.DocumentProperties.ModificationDate = stamp
    doc.setModified(False)


ODF_VERSIONS = {"1.1": 2}  # SvtSaveOptions::ODFDefaultVersion


@contextlib.contextmanager
def odf_version(office: Office, version: str | None):
    """The ODF version LibreOffice saves in, set for the block and restored after."""
    if version is None:
        yield
        return
    provider = office.ctx.ServiceManager.createInstanceWithContext(
        "com.sun.star.configuration.ConfigurationProvider", office.ctx
    )
    node = provider.createInstanceWithArguments(
        "com.sun.star.configuration.ConfigurationUpdateAccess",
        (prop("nodepath", "/org.openoffice.Office.Common/Save/ODF"),),
    )
    before = node.getPropertyValue("DefaultVersion")
    node.setPropertyValue("DefaultVersion", ODF_VERSIONS[version])
    node.commitChanges()
    try:
        yield
    finally:
        node.setPropertyValue("DefaultVersion", before)
        node.commitChanges()


def store(doc, dst: Path, fmt: str, password: str | None = None) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    props = [prop("FilterName", FILTERS[fmt]), prop("Overwrite", True)]
    if password is not None:
        props.append(prop("Password", password))
    try:
        doc.storeToURL(file_url(str(tmp)), tuple(props))
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()


def run_job(office: Office, job) -> dict:
    t0 = time.monotonic()
    if not isinstance(job, dict):
        raise JobError(f"job must be an object, got {type(job).__name__}")
    unknown = set(job) - JOB_KEYS
    if unknown:
        raise JobError(f"unknown job key(s) {sorted(unknown)}")
    src, dst = job.get("src"), job.get("dst")
    if not isinstance(src, str) or not isinstance(dst, str):
        raise JobError('job needs "src" and "dst" paths')
    if not os.path.isfile(src):
        raise JobError(f"source not found: {src}")
    dst_path = Path(os.path.abspath(dst))
    fmt = job.get("format") or dst_path.suffix.lower().lstrip(".")
    if fmt not in FILTERS:
        raise JobError(f"unknown format {fmt!r}; use one of {sorted(FILTERS)}")
    unprotect = bool(job.get("unprotect", False))
    cells = job.get("cells") or []
    if not isinstance(cells, list):
        raise JobError('"cells" must be a list')

    # Work on a private copy: LibreOffice puts a .~lock file next to what it
    # opens (a crash would leave a stale one beside src, and a locked file makes
    # loadComponentFromURL return None; concurrent batches sharing a template
    # would collide). Loading ReadOnly avoids the lock but makes some API calls
    # (sheet rename, number formats) silently do nothing.
    scratch = Path(tempfile.mkdtemp(prefix="job-", dir=office.workdir))
    try:
        copy = scratch / Path(src).name
        shutil.copyfile(src, copy)
        return _run_loaded(office, job, copy, dst_path, fmt, unprotect, cells, t0)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_loaded(office, job, copy, dst_path, fmt, unprotect, cells, t0) -> dict:
    src = job["src"]
    doc = office.desktop.loadComponentFromURL(
        file_url(str(copy)),
        "_blank",
        0,
        (
            prop("Hidden", True),
            prop("MacroExecutionMode", 0),  # NEVER_EXECUTE
            prop("UpdateDocMode", 0),  # NO_UPDATE: don't fetch external links
        ),
    )
    if doc is None or not hasattr(doc, "Sheets"):
        if doc is not None:
            doc.close(True)
        raise JobError(f"LibreOffice could not open {src} as a spreadsheet")
    warnings: list[str] = []
    try:
        if unprotect:
            for name in doc.Sheets.ElementNames:
                sheet = doc.Sheets.getByName(name)
                if sheet.isProtected():
                    try:
                        sheet.unprotect("")
                    except Exception as exc:
                        msg = f"cannot unprotect sheet {name!r}: {describe(exc)}"
                        raise JobError(msg) from None

        for name in job.get("remove_sheets") or []:
            get_sheet(doc, name)
            doc.Sheets.removeByName(name)
            if doc.Sheets.hasByName(name):
                raise JobError(f"removing sheet {name!r} failed")

        renames = job.get("rename_sheets") or {}
        if not isinstance(renames, dict):
            raise JobError('"rename_sheets" must be an object {"old": "new"}')
        for old, new in renames.items():
            get_sheet(doc, old).setName(new)
            if not doc.Sheets.hasByName(new):
                raise JobError(f"renaming sheet {old!r} to {new!r} failed")

        for ins in job.get("insert_rows") or []:
            if not isinstance(ins, dict) or not isinstance(ins.get("before_row"), int):
                raise JobError(f"bad insert_rows entry {ins!r}")
            sheet = get_sheet(doc, ins.get("sheet"))
            count = ins.get("count", 1)
            if not isinstance(count, int) or count < 1 or ins["before_row"] < 1:
                raise JobError(f"bad insert_rows entry {ins!r}")
            if sheet.isProtected():
                raise JobError(
                    f'cannot insert rows into protected sheet {ins["sheet"]!r}; pass "unprotect": true'
                )
            sheet.Rows.insertByIndex(ins["before_row"] - 1, count)

        for entry in job.get("row_heights") or []:
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(k), int) and entry[k] >= 1 for k in ("row", "height")
            ):
                raise JobError(f"bad row_heights entry {entry!r}")
            get_sheet(doc, entry.get("sheet")).Rows.getByIndex(entry["row"] - 1).Height = entry["height"]

        compiler = FormulaCompiler(doc)
        formulas = []
        for entry in cells:
            formula = write_cell(doc, entry, unprotect, compiler)
            if formula is not None:
                formulas.append((entry, formula))

        if job.get("recalculate", True):
            doc.calculateAll()
            for entry, formula in formulas:
                sheet = doc.Sheets.getByName(entry["sheet"])
                cell = sheet.getCellRangeByName(entry["cell"])
                code = cell.getError()
                if code:
                    what = ERROR_NAMES.get(code, f"Err:{code}")
                    warnings.append(f"{entry['sheet']}!{entry['cell']}: {formula!r} evaluates to {what}")

        if job.get("modified") is not None:
            set_modification_date(doc, job["modified"])
        password = job.get("password")
        if password is not None and not isinstance(password, str):
            raise JobError('"password" must be a string')
        if job.get("odf_version") not in (None, "1.1"):
            raise JobError('"odf_version" can only be "1.1"')
        with odf_version(office, job.get("odf_version")):
            store(doc, dst_path, fmt, password)
    finally:
        try:
            doc.close(True)
        except Exception:
            _quietly(doc.dispose)

    result: dict = {"ok": True, "dst": str(dst_path), "seconds": round(time.monotonic() - t0, 3)}
    if warnings:
        result["warnings"] = warnings
    return result


# -- batch -----------------------------------------------------------------------
def run_batch(office: Office, jobs: list) -> list[dict]:
    results = []
    for index, job in enumerate(jobs):
        if not office.alive():
            log(f"soffice is gone before job {index}; restarting it")
            office.stop()
            office.start()
        try:
            results.append(run_job(office, job))
        except JobError as exc:
            results.append({"ok": False, "error": str(exc)})
        except Exception as exc:
            log(f"job {index} failed:\n{traceback.format_exc()}")
            results.append({"ok": False, "error": describe(exc)})
    return results


def _on_signal(signum, _frame):
    log(f"got signal {signum}; shutting soffice down")
    raise SystemExit(128 + signum)  # unwinds through the finally blocks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soffice", default=shutil.which("soffice") or "/usr/bin/soffice")
    ap.add_argument("--pipe-name", default=None, help="unique UNO pipe name")
    ap.add_argument("--workdir", default=None, help="scratch dir for the profile (default: a new temp dir)")
    args = ap.parse_args(argv)

    # Keep the real stdout for the JSON result; anything else printing to fd 1
    # (LibreOffice, native libraries) goes to stderr instead.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)

    try:
        jobs = json.loads(sys.stdin.read())
    except ValueError as exc:
        log(f"stdin is not JSON: {exc}")
        return 2
    if not isinstance(jobs, list):
        log("stdin must hold a JSON list of jobs")
        return 2

    pipe_name = args.pipe_name or f"mttq_lo_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="mttq_lo_") if own_workdir else args.workdir)
    office = Office(args.soffice, pipe_name, workdir)
    try:
        if not jobs:
            results = []
        else:
            office.start()
            results = run_batch(office, jobs)
    except Exception as exc:
        log(f"batch failed: {describe(exc)}\n{traceback.format_exc()}")
        return 2
    finally:
        office.stop()
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            for child in workdir.glob("profile-*"):
                shutil.rmtree(child, ignore_errors=True)

    json.dump(results, out, ensure_ascii=False)
    out.write("\n")
    out.flush()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    # Skip interpreter teardown: pyuno's bridge finalisers can hang once soffice
    # is gone. Everything that matters has been flushed above.
    os._exit(code)
