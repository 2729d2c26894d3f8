"""Have real LibreOffice open workbooks, fill cells, recalculate and save them.

Works from any Python (e.g. the project's venv): the UNO work happens in
``tools/lo_uno_worker.py`` run by Debian's ``/usr/bin/python3`` (python3-uno),
one soffice start per :func:`run_jobs` batch. See the worker's docstring for the
job format.

Environment overrides: ``MTTQ_SOFFICE`` (soffice binary), ``MTTQ_UNO_PYTHON``
(an interpreter that can ``import uno``), ``MTTQ_LO_TZ`` (LibreOffice's time zone; default
``Asia/Ho_Chi_Minh``, as on the units' machines).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKER = HERE / "lo_uno_worker.py"
PIPE_PREFIX = "mttq_lo_"
FORMATS = ("xlsx", "xls", "ods")


class LibreOfficeError(RuntimeError):
    """The LibreOffice batch (or, from fill_and_save, the single job) failed."""


def _uno_python() -> str:
    return os.environ.get("MTTQ_UNO_PYTHON") or "/usr/bin/python3"


def _soffice() -> str | None:
    configured = os.environ.get("MTTQ_SOFFICE")
    if configured:
        return configured if shutil.which(configured) else None
    return shutil.which("soffice") or ("/usr/bin/soffice" if os.access("/usr/bin/soffice", os.X_OK) else None)


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    # A venv's settings must not leak into the system interpreter or soffice's
    # embedded Python.
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(key, None)
    # LibreOffice runs as on the units' machines: in Vietnam's time zone, which decides how it
    # writes a workbook's last-saved time (see savedtime.saved_at).
    env["TZ"] = os.environ.get("MTTQ_LO_TZ", "Asia/Ho_Chi_Minh")
    return env


@functools.cache
def available() -> str | None:
    """None when LibreOffice can be driven here; otherwise a human-readable reason."""
    soffice = _soffice()
    if soffice is None:
        return "soffice not found"
    python = _uno_python()
    if not os.access(python, os.X_OK):
        return f"{python} not found (needed for Debian's python3-uno)"
    try:
        probe = subprocess.run(
            [python, "-I", "-c", "import uno, unohelper"],
            capture_output=True,
            text=True,
            timeout=60,
            env=_worker_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {python}: {exc}"
    if probe.returncode != 0:
        detail = probe.stderr.strip().splitlines()[-1:] or ["?"]
        return f"Debian's python3-uno not importable by {python} ({detail[0]})"
    return None


def leftover_pids(pipe_fragment: str) -> list[int]:
    """Pids of processes whose command line mentions ``pipe,name=<pipe_fragment>``.

    ``pipe_fragment`` may be a prefix such as ``f"{PIPE_PREFIX}{os.getpid()}_"``.
    """
    needle = f"pipe,name={pipe_fragment}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            found.append(int(entry))
    return found


def _kill_leftovers(pipe_name: str) -> None:
    for pid in leftover_pids(pipe_name + ";"):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for folder in ("/tmp", "/var/tmp"):  # sockets of a killed soffice
        for path in Path(folder).glob(f"OSL_PIPE_*_{pipe_name}"):
            with contextlib.suppress(OSError):
                path.unlink()


def _normalise(job: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(job, Mapping):
        raise TypeError(f"a job must be a mapping, got {type(job).__name__}")
    out = dict(job)
    for key in ("src", "dst"):
        if key in out and out[key] is not None:
            out[key] = str(Path(out[key]).expanduser().resolve())
    if "cells" in out and out["cells"] is not None:
        out["cells"] = [dict(c) if isinstance(c, Mapping) else c for c in out["cells"]]
    return out


def _tail(text: str, limit: int = 6000) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def run_jobs(jobs: Iterable[Mapping[str, Any]], timeout: float = 600) -> list[dict]:
    """Run ``jobs`` in one LibreOffice session; one result dict per job, in order.

    Each result is ``{"ok": True, "dst": ..., "seconds": ..., ["warnings": [...]]}``
    or ``{"ok": False, "error": "..."}``. Raises :class:`LibreOfficeError`
    (a RuntimeError) when the batch fails as a whole or LibreOffice is unavailable.
    Relative ``src``/``dst`` are resolved against the caller's working directory.
    """
    payload = [_normalise(job) for job in jobs]
    if not payload:
        return []
    reason = available()
    if reason is not None:
        raise LibreOfficeError(f"LibreOffice unavailable: {reason}")

    pipe_name = f"{PIPE_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix=PIPE_PREFIX) as workdir:
        cmd = [
            _uno_python(),
            "-I",
            str(WORKER),
            "--soffice",
            str(_soffice()),
            "--pipe-name",
            pipe_name,
            "--workdir",
            workdir,
        ]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=_worker_env(),
        )
        try:
            stdout, stderr = proc.communicate(json.dumps(payload, ensure_ascii=False), timeout)
        except subprocess.TimeoutExpired:
            # SIGTERM lets the worker shut soffice down in its finally blocks.
            proc.terminate()
            try:
                stdout, stderr = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
            raise LibreOfficeError(
                f"LibreOffice batch timed out after {timeout:g} s; worker stderr:\n{_tail(stderr)}"
            ) from None
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
        finally:
            _kill_leftovers(pipe_name)

    if proc.returncode != 0:
        raise LibreOfficeError(
            f"LibreOffice worker failed (exit {proc.returncode}); stderr:\n{_tail(stderr)}"
        )
    try:
        results = json.loads(stdout)
    except ValueError:
        raise LibreOfficeError(
            f"LibreOffice worker printed no valid JSON: {_tail(stdout, 500)!r}; stderr:\n{_tail(stderr)}"
        ) from None
    if not isinstance(results, list) or len(results) != len(payload):
        raise LibreOfficeError(f"LibreOffice worker returned {len(results)} results for {len(payload)} jobs")
    return results


def fill_and_save(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    cells: Iterable[Mapping[str, Any]] = (),
    fmt: str | None = None,
    *,
    timeout: float = 600,
    **opts: Any,
) -> Path:
    """One job: open ``src``, apply ``cells`` (and ``opts`` such as unprotect=True,
    rename_sheets=..., insert_rows=...), recalculate, save to ``dst`` as ``fmt``
    (default: ``dst``'s suffix). Returns the absolute output path; raises
    :class:`LibreOfficeError` if the job failed. Formula warnings (e.g. a written
    formula evaluating to #NAME?) are issued as Python warnings.
    """
    dst_path = Path(dst).expanduser().resolve()
    fmt = fmt or dst_path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {FORMATS}")
    job = {"src": src, "dst": dst_path, "format": fmt, "cells": list(cells), **opts}
    (result,) = run_jobs([job], timeout=timeout)
    if not result.get("ok"):
        raise LibreOfficeError(f"{src} -> {dst_path}: {result.get('error')}")
    for message in result.get("warnings", []):
        warnings.warn(f"LibreOffice: {message}", stacklevel=2)
    return dst_path


def writer_available() -> str | None:
    """None when this LibreOffice can open Word documents (its Writer module is installed, as
    Debian's libreoffice-writer-nogui installs it); otherwise a human-readable reason."""
    soffice = _soffice()
    if soffice is None:
        return "soffice not found"
    program = Path(os.path.realpath(soffice)).parent
    if not any(program.glob("libswlo.*")) and not any(program.glob("swlo.*")):
        return f"LibreOffice Writer is not installed beside {soffice} (libreoffice-writer-nogui)"
    return None


def convert(
    src: str | os.PathLike[str], fmt: str, outdir: str | os.PathLike[str], *, timeout: float = 300
) -> Path:
    """``soffice --headless --convert-to fmt`` (e.g. "pdf") of ``src`` into ``outdir``, with a
    profile of its own; returns the converted file. Raises :class:`LibreOfficeError`."""
    soffice = _soffice()
    if soffice is None:
        raise LibreOfficeError("LibreOffice unavailable: soffice not found")
    src_path, out = Path(src).resolve(), Path(outdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=PIPE_PREFIX) as profile:
        cmd = [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--convert-to",
            fmt,
            "--outdir",
            str(out),
            str(src_path),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_worker_env())
        except subprocess.TimeoutExpired:
            raise LibreOfficeError(
                f"soffice --convert-to {fmt} {src_path} timed out after {timeout:g} s"
            ) from None
    target = out / f"{src_path.stem}.{fmt}"
    if done.returncode != 0 or not target.is_file():
        raise LibreOfficeError(
            f"soffice --convert-to {fmt} {src_path} failed (exit {done.returncode}):\n{_tail(done.stderr)}"
        )
    return target
