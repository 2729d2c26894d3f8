"""The accounting every run must pass, shared by the robustness and property tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from mttq_xlsx.codes import ACCEPTED, IGNORED, REJECTED, REJECTION_CODES, SUPERSEDED
from mttq_xlsx.consolidation import Consolidation
from mttq_xlsx.json_report import json_report_dict
from mttq_xlsx.spec import SUMMABLE_TYPES, load_spec


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shown(name: str) -> str:
    """A name as users are shown it: as the disk has it, bytes that are not UTF-8 written as \\xe1."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def assert_accounted(result: Consolidation, inbox: Path, paths: list[str] | None = None) -> dict[str, Any]:
    """Every file under the inbox exactly once (or each of `paths`, when zips are opened), with a
    status (and a known code and a message when rejected); units only from accepted files; totals
    the sums of the accepted figures. Returns the JSON report."""
    report = json_report_dict(result)
    on_disk = sorted(
        shown(os.path.relpath(os.path.join(folder, name), inbox).replace(os.sep, "/"))
        for folder, _dirs, names in os.walk(inbox)
        for name in names
    )
    assert sorted(f["path"] for f in report["files"]) == sorted(paths if paths is not None else on_disk)
    assert all(f["status"] in {ACCEPTED, REJECTED, SUPERSEDED, IGNORED} for f in report["files"])
    rejected = [f for f in report["files"] if f["status"] == REJECTED]
    assert all(f["reason"] in REJECTION_CODES and f["message"] for f in rejected), rejected
    accepted = {(f["report_id"], f["unit_code"]) for f in report["files"] if f["status"] == ACCEPTED}
    reported = {(rid, code) for code, by_report in report["units"].items() for rid in by_report}
    assert reported == accepted
    for report_id, totals in report["totals"].items():
        for f in load_spec(report_id).fields:
            if f.type not in SUMMABLE_TYPES or f.table:
                continue
            values = [
                u[report_id][f.id]
                for u in report["units"].values()
                if report_id in u and is_number(u[report_id].get(f.id))
            ]
            want = round(sum(values), 9) if values else None
            assert totals.get(f.id) == (pytest.approx(want) if want is not None else None), f.id
    return report
