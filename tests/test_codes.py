"""One registry of codes: every code the library gives a file or a finding is in `codes.py`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mttq_xlsx
from mttq_xlsx.codes import (
    ERROR,
    IGNORED_REASON,
    IGNORED_REASONS,
    ISSUE_CODES,
    RECEIVED_TIME_UNKNOWN,
    REJECTION_CODES,
    SENDER_MISMATCH,
    SUPERSEDED_REASON,
)

LIBRARY = Path(mttq_xlsx.__file__).parent
# the calls that make a finding or a rejection, and where their code is: (position, keyword)
MAKERS = {"Issue": (2, "code"), "_issue": (3, "code"), "Rejected": (0, "code"), "reject": (1, "code")}


def _codes_in_source() -> list[tuple[str, str]]:
    """(where, code) for every code written as a literal where a finding or rejection is made."""
    found = []
    for path in sorted(LIBRARY.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            code: ast.expr | None = None
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in MAKERS:
                    at, keyword = MAKERS[name]
                    code = node.args[at] if len(node.args) > at else None
                    code = next((k.value for k in node.keywords if k.arg == keyword), code)
                for k in node.keywords:  # an Entry known bad before it is read: rejected=(code, …)
                    if k.arg == "rejected" and isinstance(k.value, ast.Tuple):
                        code = k.value.elts[0]
            elif isinstance(node, ast.Assign) and [getattr(n, "id", "") for n in node.targets] == ["code"]:
                choices = [node.value.body, node.value.orelse] if isinstance(node.value, ast.IfExp) else []
                found += [
                    (f"{path.name}:{node.lineno}", c.value) for c in choices if isinstance(c, ast.Constant)
                ]
            elif isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and node.value.elts:
                first = node.value.elts[0]  # admission.failure_reason: (code, message, detail)
                if isinstance(first, ast.Constant) and first.value in {"corrupt_file", "file_too_large"}:
                    code = first
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                found.append((f"{path.name}:{node.lineno}", code.value))
    return found


def test_every_code_made_in_the_library_is_registered() -> None:
    found = _codes_in_source()
    assert len(found) > 40  # the scan sees the makers
    unknown = [(where, code) for where, code in found if code not in ISSUE_CODES]
    assert unknown == []
    unused = set(ISSUE_CODES) - {code for _, code in found}
    # written through their constants, not as literals (tests/test_mail_sources.py makes the last two)
    assert unused <= {SUPERSEDED_REASON, SENDER_MISMATCH, RECEIVED_TIME_UNKNOWN}


def test_rejections_are_errors_and_the_reasons_of_other_statuses_are_known() -> None:
    assert all(ISSUE_CODES[code] == ERROR for code in REJECTION_CODES)
    assert SUPERSEDED_REASON in ISSUE_CODES and not IGNORED_REASONS & set(ISSUE_CODES)
    assert IGNORED_REASON in IGNORED_REASONS


@pytest.mark.parametrize("inbox", ["inbox", "hop-thu.mbox"])
def test_a_run_gives_only_registered_codes_at_their_severity(inbox: str) -> None:
    samples = Path(__file__).resolve().parents[1] / "samples"
    result = mttq_xlsx.consolidate(samples / inbox, roster=samples / "don-vi.csv", period="2024-6T")
    ruled = {"part_exceeds_whole", "less_than_expected", "missing_required"}  # a spec rule's severity
    assert result.issues
    for issue in result.issues:
        assert issue.code in ISSUE_CODES
        assert issue.code in ruled or issue.severity == ISSUE_CODES[issue.code], issue
    reasons = {f.reason for f in result.files if f.reason}
    assert reasons <= set(REJECTION_CODES) | {SUPERSEDED_REASON} | IGNORED_REASONS
