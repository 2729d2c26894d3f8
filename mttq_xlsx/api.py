"""The library: what the command line does, callable from Python. `mttq_xlsx` re-exports it.

    import mttq_xlsx
    result = mttq_xlsx.consolidate("hop-thu", roster="don-vi.csv", period="2024-6T")
    mttq_xlsx.write_summary(result, "tong-hop.xlsx")

Paths may be given as `str` or `Path`; periods as "2024-6T" or a `Period`; a roster as the path of
its CSV or as a list of `Unit`. Every error is an `MttqError` with a Vietnamese message. The writers
(xlsxwriter) are imported only by the functions that write a workbook.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from . import ingest, json_report
from .consolidation import Consolidation
from .errors import UsageError
from .ingest import Options, Progress
from .intake import readable
from .periods import Period, current_period, parse_period
from .roster import Unit, read_roster
from .spec import Spec, load_spec

__all__ = [
    "Consolidation",
    "Options",
    "check",
    "consolidate",
    "guard_outputs",
    "load_spec",
    "write_json_report",
    "write_summary",
    "write_templates",
]

PathLike = str | Path
Roster = PathLike | Sequence[Unit]


def write_templates(
    spec: Spec | str,
    folder: PathLike,
    period: Period | str | None = None,
    *,
    roster: Roster | None = None,
    unit: str | None = None,
    generated_at: datetime | None = None,
) -> list[Path]:
    """Write the locked templates of a report into `folder` and return their paths.

    Without `roster`, one generic template. With `roster`, the generic template (its unit
    dropdown lists the roster) and one pre-filled workbook per unit (its unit locked, without the
    roster); with `unit` (a code of the roster) only that unit's. `period` defaults to the one
    being collected today.
    """
    from .template import TemplateRequest, template_filename, write_template, write_unit_templates

    spec = load_spec(spec) if isinstance(spec, str) else spec
    period = _period(period) or current_period(date.today())
    units = _units(roster)
    at = generated_at or datetime.now()
    folder = Path(folder)
    if unit is not None:
        units = [u for u in units if u.code == unit]
        if not units:
            where = readable(roster) if isinstance(roster, str | Path) else "danh sách đơn vị"
            raise UsageError(f"Không có đơn vị mã “{unit}” trong {where}.")
        return write_unit_templates(spec, period, units, folder, at)
    generic = TemplateRequest(spec, period, None, units, at)
    return [
        write_template(generic, folder / template_filename(spec, period, None)),
        *write_unit_templates(spec, period, units, folder, at),
    ]


def check(
    paths: Sequence[PathLike], options: Options | None = None, *, password: str | None = None
) -> Consolidation:
    """Read and check single workbooks (or zips of them) as a unit does before sending; each
    file is checked against the period its own template was made for."""
    options = options or Options()
    if password is not None:
        options = dataclasses.replace(options, password=password)
    return ingest.read_files([Path(p) for p in paths], options)


def consolidate(
    inbox: PathLike,
    options: Options | None = None,
    *,
    roster: Roster | None = None,
    period: Period | str | None = None,
    deadline: date | str | None = None,
    password: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Consolidation:
    """Read every file under `inbox` (subfolders and zips included; nothing there is changed) and
    consolidate them: newest submission per unit and report, checks, totals, completeness.

    `options` gives every setting at once (`Options`: also the limits per file and whether units
    off the roster are rejected); the keywords set the usual ones over it. Without a period, each
    file keeps its own and the summary takes the latest. `progress(done, total)` is called after
    each file.
    """
    changes: dict[str, object] = {}
    if roster is not None:
        changes["roster"] = tuple(_units(roster))
    if period is not None:
        changes["period"] = _period(period)
    if deadline is not None:
        changes["deadline"] = date.fromisoformat(deadline) if isinstance(deadline, str) else deadline
    if password is not None:
        changes["password"] = password
    if workers is not None:
        changes["workers"] = workers
    options = dataclasses.replace(options or Options(), **changes)  # type: ignore[arg-type]
    return ingest.read_inbox(Path(inbox), options, progress)


def guard_outputs(inbox: PathLike | None, *targets: PathLike | None) -> None:
    """Raise UsageError when an output would be written inside the inbox, which is only read."""
    if inbox is None:
        return
    root = Path(inbox).resolve()
    for target in targets:
        if target is not None and Path(target).resolve().is_relative_to(root):
            raise UsageError(
                f"Không ghi “{readable(target)}” vào trong thư mục hộp thư {readable(inbox)}: "
                "hộp thư chỉ được đọc. Hãy chọn nơi ghi khác."
            )


def write_summary(
    result: Consolidation, target: PathLike, *, per_unit: str = "auto", unit_sheets_limit: int = 200
) -> Path:
    """Write the summary workbook of `result` to `target` atomically (never inside the inbox).

    `per_unit`: "sheets" gives every unit its own sheet, "rows" puts the units as rows of one
    `Đơn vị` sheet, "auto" chooses sheets up to `unit_sheets_limit` units and rows above it.
    """
    from . import summary  # imports xlsxwriter

    guard_outputs(result.inbox, target)
    return summary.write_summary(result, Path(target), per_unit=per_unit, unit_sheets_limit=unit_sheets_limit)


def write_json_report(result: Consolidation, target: PathLike) -> Path:
    """Write the JSON report of `result` (schema `mttq-xlsx/report/1`) to `target` atomically."""
    guard_outputs(result.inbox, target)
    return json_report.write_json_report(result, Path(target))


def _period(period: Period | str | None) -> Period | None:
    return parse_period(period) if isinstance(period, str) else period


def _units(roster: Roster | None) -> list[Unit]:
    if roster is None:
        return []
    if isinstance(roster, str | Path):
        return read_roster(Path(roster))
    return list(roster)
