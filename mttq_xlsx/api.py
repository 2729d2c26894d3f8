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
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import crosslevel, ingest, mailserver
from .admission import Options
from .consolidation import Consolidation
from .errors import UsageError
from .ingest import Progress
from .intake import readable
from .mailboxes import MailAccess
from .periods import Period, current_period, parse_period
from .previous import Previous, read_previous
from .roster import Unit, read_roster
from .spec import Spec, load_spec

if TYPE_CHECKING:
    from .mailcopy import Fetched
    from .replies import Replied

__all__ = [
    "Consolidation",
    "MailAccess",
    "Options",
    "check",
    "consolidate",
    "fetch",
    "guard_outputs",
    "load_spec",
    "read_previous",
    "reply",
    "rollup_unit",
    "write_docx",
    "write_json_report",
    "write_rollup",
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
    paths: Sequence[PathLike],
    options: Options | None = None,
    *,
    password: str | None = None,
    mail: MailAccess | None = None,
) -> Consolidation:
    """Read and check single workbooks (or zips of them, saved messages, mailboxes) as a unit does
    before sending; each file is checked against the period its own template was made for."""
    options = options or Options()
    if password is not None:
        options = dataclasses.replace(options, password=password)
    return ingest.read_files([_source(p) for p in paths], options, mail)


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
    mail: MailAccess | None = None,
    against: Sequence[PathLike] = (),
    previous: PathLike | Previous | None = None,
) -> Consolidation:
    """Read every file under `inbox` (subfolders and zips included; nothing there is changed) and
    consolidate them: newest submission per unit and report, checks, totals, completeness, and the
    cross-level check: a unit's own report against its units' (`rollup_mismatch`).
    `inbox` may also be an mbox file, a Maildir or an IMAP folder ("imaps://user@host/INBOX"),
    reached as `mail` says (`MailAccess`: folder, since, password); their messages' attachments
    are the files, and their arrival times judge lateness and which submission is newest.

    `options` gives every setting at once (`Options`: also the limits per file and whether units
    off the roster are rejected); the keywords set the usual ones over it. Without a period, each
    file keeps its own and the summary takes the latest. `progress(done, total)` is called after
    each file. `against`: reports of units whose units are in the inbox (a roll-up, or a report
    made by hand), checked against them; they are not counted in the totals.
    `previous`, last period's JSON report or summary workbook (or its `read_previous`),
    adds the comparison with it and the `outlier` warnings.
    """
    if previous is not None and not isinstance(previous, Previous):
        previous = read_previous(previous)  # before the inbox: a wrong file is said at once
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
    result = ingest.read_inbox(_source(inbox), options, progress, mail)
    if against:  # the units whose reports they are need not be on the roster
        given = ingest.read_files(
            [Path(p) for p in against], dataclasses.replace(options, strict_roster=False)
        )
        result.against = given.submissions
        result.issues += given.issues
    result.issues += crosslevel.check_levels(result, result.against)
    if previous is not None:
        result.compare_with(previous)
    return result


def fetch(
    source: PathLike, folder: PathLike, *, mail: MailAccess | None = None, workers: int | None = None
) -> Fetched:
    """Copy the attachments of a mailbox (IMAP, mbox, Maildir, a folder of .eml) into `folder`,
    each under a name that cannot collide, with `manifest.json` (sender, subject, arrival time,
    SHA-256 of each); again later, only new messages. `consolidate(folder)` keeps their envelopes."""
    from .mailcopy import fetch as fetch_copy

    guard_outputs(source, folder)
    return fetch_copy(_source(source), Path(folder), mail or MailAccess(), workers)


def reply(
    report: PathLike,
    folder: PathLike,
    sender: str | None = None,
    *,
    send: str | None = None,
    deadline: date | None = None,
    password: Callable[[str], str] | None = None,
    insecure: bool = False,
) -> Replied:
    """One Vietnamese acknowledgement per mail message of a JSON report (`write_json_report`),
    written to `folder` as .eml; with `send` ("smtps://user@host"), sent too, never twice for one
    message (`folder`/da-gui.json). `sender`: the From address (default: the account of `send`);
    `password(account)` gives the SMTP password (default: MTTQ_MAIL_PASSWORD)."""
    from . import json_report
    from .replies import answer, replies

    server = mailserver.parse_server(send, ("smtps", "smtp"), insecure) if send else None
    sender = sender or (server.user if server and "@" in server.user else None)
    if not sender or "@" not in sender:
        raise UsageError(
            "Hãy cho biết địa chỉ gửi thư trả lời bằng --from (ví dụ --from tonghop.mttq@gmail.com)."
        )
    found, no_address = replies(json_report.read_json_report(Path(report)), sender, deadline)
    ask = password or (lambda account: mailserver.password(account=account))
    secret = (lambda: ask(server.user)) if server else None
    done = answer(found, Path(folder), server, secret, insecure)
    done.no_address = no_address
    return done


def guard_outputs(inbox: PathLike | None, *targets: PathLike | None) -> None:
    """Raise UsageError when an output would be written inside the inbox, which is only read (an
    IMAP folder is not on this computer)."""
    if inbox is None or mailserver.is_address(str(inbox)):
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


def rollup_unit(code: str, name: str | None = None, roster: Roster | None = None) -> Unit:
    """The unit a roll-up is made for, by its code: the roster's unit, else the official list's
    province or commune; `name` sets its name. Raises UsageError when none is found and no name
    is given."""
    from . import rollup

    return rollup.rollup_unit(code, name, _units(roster))


def write_rollup(
    result: Consolidation,
    target: PathLike,
    unit: Unit | str,
    *,
    unit_name: str | None = None,
    generated_at: datetime | None = None,
) -> list[Path]:
    """Write the consolidating unit's own report for the level above, made from the run's accepted
    reports: the same locked template, sums in the input cells, live ratio formulas, texts and table
    rows gathered unit by unit with the unit named, the units' own figures carried in a very hidden
    sheet. `unit`: a `Unit`, or a code looked up in the run's roster, else in the official list.

    One workbook per report received: `target` itself, or with several reports
    `<name>_<report_id>.xlsx` beside it; none when no report was received. Never inside the inbox.
    """
    from . import rollup

    if isinstance(unit, str):
        unit = rollup.rollup_unit(unit, unit_name, result.roster)
    elif unit_name:
        unit = dataclasses.replace(unit, name=unit_name)
    target = Path(target)
    guard_outputs(result.inbox, target)
    specs = result.specs
    paths = []
    for spec in specs:
        path = target if len(specs) == 1 else target.with_name(f"{target.stem}_{spec.id}{target.suffix}")
        paths.append(rollup.write_rollup(result, spec, unit, path, generated_at))
    return paths


def write_docx(result: Consolidation, target: PathLike) -> Path:
    """Write the Word draft of the narrative report (outline, sentences with the figures, the
    totals as an appendix) to `target` atomically (never inside the inbox)."""
    from . import docx_report  # imports python-docx

    guard_outputs(result.inbox, target)
    return docx_report.write_docx(result, Path(target))


def write_json_report(result: Consolidation, target: PathLike) -> Path:
    """Write the JSON report of `result` (schema `mttq-xlsx/report/1`) to `target` atomically."""
    guard_outputs(result.inbox, target)
    from . import json_report

    return json_report.write_json_report(result, Path(target))


def _source(source: PathLike) -> Path | str:
    """A folder or file as a Path; a mail server's address as it is."""
    return source if isinstance(source, str) and mailserver.is_address(source) else Path(source)


def _period(period: Period | str | None) -> Period | None:
    return parse_period(period) if isinstance(period, str) else period


def _units(roster: Roster | None) -> list[Unit]:
    if roster is None:
        return []
    if isinstance(roster, str | Path):
        return read_roster(Path(roster))
    return list(roster)
