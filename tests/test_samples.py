"""The committed sample inbox (samples/) matches its plan and consolidates to the Lạng Sơn report.

No LibreOffice needed: these are the files `make samples` built (tools/make_samples.py from
tools/sample_plan.py). When the plan or the template layout changes, these tests fail and say
to rebuild them.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pytest

from mttq_xlsx import Options, consolidate
from mttq_xlsx.intake import walk
from mttq_xlsx.json_report import json_report_dict
from mttq_xlsx.numbers import format_ratio
from mttq_xlsx.periods import parse_period
from mttq_xlsx.reader import ReadOptions, read_submission
from mttq_xlsx.roster import read_roster
from mttq_xlsx.spec import load_spec
from mttq_xlsx.template import write_template
from tools import sample_mail as mail
from tools import sample_plan as plan

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
INBOX = SAMPLES / "inbox"
REBUILD = "samples/ no longer match tools/sample_plan.py or the current templates: run `make samples`"
REPORT = load_spec(plan.REPORT_ID)
TEMPLATES = plan.template_files()
BY_PATH = {s.path: s for s in plan.sample_files()}


def _options(roster: tuple) -> Options:
    return Options(period=parse_period(plan.PERIOD), roster=roster, deadline=plan.DEADLINE)


@pytest.fixture(scope="module")
def roster() -> tuple:
    return tuple(read_roster(SAMPLES / "don-vi.csv"))


@pytest.fixture(scope="module")
def result(roster):
    return consolidate(INBOX, _options(roster))


@pytest.fixture(scope="module")
def fresh_templates(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """The templates the current code writes for the samples' units and periods."""
    folder = tmp_path_factory.mktemp("fresh")
    out = {}
    for sample in TEMPLATES:
        key = (sample.period, sample.unit_code)
        if key not in out:
            out[key] = write_template(
                plan.template_request(sample, REPORT), folder / f"{key[0]}_{key[1]}.xlsx"
            )
    return out


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, float) or isinstance(got, float):
        return (
            isinstance(got, int | float)
            and isinstance(want, int | float)
            and math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15)
        )
    return got == want


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    } | {p.relative_to(folder).as_posix() + "/": "dir" for p in folder.rglob("*") if p.is_dir()}


# ---------------------------------------------------------------------- the plan and the files
def test_plan_is_consistent():
    plan.check_plan()


def test_roster_is_the_eleven_districts(roster):
    assert roster == plan.UNITS, REBUILD


def test_inbox_holds_exactly_the_planned_files():
    found = [entry.shown for entry in walk(INBOX)]
    assert found == sorted(BY_PATH), REBUILD


@pytest.mark.parametrize("sample", TEMPLATES, ids=lambda s: s.path)
def test_field_map_is_the_current_templates(sample, fresh_templates):
    got_meta, got = plan.read_field_map(INBOX / sample.path)
    want_meta, want = plan.read_field_map(fresh_templates[(sample.period, sample.unit_code)])
    assert got.rows == want.rows, REBUILD
    drop = {"generator"}  # a version bump alone does not make the samples stale
    assert {k: v for k, v in got_meta.items() if k not in drop} == {
        k: v for k, v in want_meta.items() if k not in drop
    }, REBUILD


@pytest.mark.parametrize("sample", TEMPLATES, ids=lambda s: s.path)
def test_file_holds_the_planned_values(sample):
    record, sub = read_submission(INBOX / sample.path, sample.path, ReadOptions())
    want = plan.expected_raw(sample, REPORT)
    assert set(sub.values) == set(want), REBUILD
    wrong = {
        fid: (sub.values[fid], value) for fid, value in want.items() if not _same(sub.values[fid], value)
    }
    assert not wrong, f"{REBUILD}; (read, planned): {wrong}"
    assert record.saved_at == sample.saved_at, REBUILD
    assert (sub.report_id, sub.period, sub.unit_code) == (plan.REPORT_ID, sample.period, sample.unit_code)


def test_broken_and_stray_files_are_as_planned():
    lock = next(s for s in plan.sample_files() if s.kind == plan.LOCK)
    assert (INBOX / lock.path).read_bytes() == plan.LOCK_BYTES, REBUILD
    note = next(s for s in plan.sample_files() if s.kind == plan.NOTE)
    assert (INBOX / note.path).read_text(encoding="utf-8") == plan.NOTE_TEXT, REBUILD
    cut = (INBOX / next(s for s in plan.sample_files() if s.kind == plan.TRUNCATED).path).read_bytes()
    assert cut.startswith(b"PK\x03\x04") and 5_000 < len(cut) < 20_000, REBUILD


# ---------------------------------------------------------------------- consolidation
def test_every_file_has_its_planned_status(result):
    got = {f.path: (f.status, f.reason) for f in result.files}
    assert got == {s.path: (s.status, s.reason) for s in plan.sample_files()}


def test_issues_are_the_planned_ones_at_the_right_cells(result):
    def key(i) -> tuple:
        if i.code in {"wrong_period", "not_a_template", "corrupt_file"}:
            return (i.path, i.severity, i.code)
        return (i.path, i.severity, i.code, i.unit_code, i.field_id, i.sheet, i.cell)

    want = []
    for sample in plan.sample_files():
        cells = plan.read_field_map(INBOX / sample.path)[1].cells if sample.kind == plan.TEMPLATE else {}
        for issue in sample.issues:
            if sample.status == "rejected":
                want.append((sample.path, issue.severity, issue.code))
            else:
                sheet, cell = cells.get(issue.field_id, ("", ""))
                want.append(
                    (sample.path, issue.severity, issue.code, sample.unit_code, issue.field_id, sheet, cell)
                )
    assert sorted(key(i) for i in result.issues) == sorted(want)
    for issue in result.issues:
        assert issue.message
        if issue.cell:
            assert f"{issue.sheet}!{issue.cell}" in issue.message


def test_totals_reproduce_the_province_report(result):
    totals = result.totals[plan.REPORT_ID]
    assert totals["hoa_giai_so_vu"] == 1014
    assert totals["hoa_giai_thanh"] == 739
    assert totals["hoa_giai_ty_le"] == pytest.approx(739 / 1014, rel=1e-12)
    assert format_ratio(totals["hoa_giai_thanh"], totals["hoa_giai_so_vu"]) == "739/1.014 = 72,88%"
    assert totals["kdc_co_to_hoa_giai"] == totals["tong_kdc"] == 1646
    assert totals["kdc_co_to_hoa_giai_ty_le"] == 1
    assert totals["tt_so_cuoc"] == 1767
    assert totals["tt_so_luot_nguoi"] == 140278  # Bắc Sơn's "11.907" typed as text is counted
    assert totals["tong_don_vi_xa"] == 200


def test_every_total_is_the_plans_sum(result):
    got = result.totals[plan.REPORT_ID]
    want = plan.expected_totals()
    assert set(got) == set(want)
    wrong = {fid: (got[fid], w) for fid, w in want.items() if not _same(got[fid], w)}
    assert not wrong


def test_unit_figures_are_the_planned_ones_blank_is_not_zero(result):
    units = json_report_dict(result)["units"]
    for sample in plan.accepted_files():
        values = units[sample.unit_code][plan.REPORT_ID]
        for fid, want in plan.unit_figures(sample, REPORT).items():
            assert _same(values[fid], want), (sample.path, fid, values[fid], want)
    assert units["181"][plan.REPORT_ID]["ntm_nguon_khac"] is None  # left blank
    assert units["180"][plan.REPORT_ID]["te_nan_phat_sinh"] == 0  # a real zero
    reported = result.reported[plan.REPORT_ID]
    assert reported["ntm_nguon_khac"] == 5
    assert reported["te_nan_phat_sinh"] == 11
    assert reported["htx_moi"] == 9


def test_blank_total_in_xls_stays_blank(result):
    units = json_report_dict(result)["units"]
    # Văn Lãng left all of kp_* blank; LibreOffice's .xls export cached the formula's "" as 0
    assert units["182"][plan.REPORT_ID]["kp_tong"] is None
    assert result.reported[plan.REPORT_ID]["kp_tong"] == 10


def test_completeness_and_lateness(result):
    assert result.completeness.as_dict() == {"expected": 11, "received": 11, "missing": [], "late": ["189"]}
    late = {f.path for f in result.files if f.late}
    assert late == {"huyen-phia-nam/Dinh Lap bao cao 6T.xlsx"}  # Lộc Bình saved on 10/6 is on time


def test_same_inbox_same_report_and_the_inbox_is_untouched(roster):
    before = _snapshot(INBOX)
    first = json_report_dict(consolidate(INBOX, _options(roster)))
    second = json_report_dict(consolidate(INBOX, _options(roster)))
    assert first == second
    assert _snapshot(INBOX) == before


def test_previous_period_is_current(tmp_path):
    """samples/ky-truoc.json is what tools/make_samples.py builds from the plan (but the hashes of
    its throwaway workbooks, which follow the template writer's bytes, not the figures)."""
    from tools.make_samples import PREVIOUS_FILE, build_previous

    def figures(path):
        report = json.loads(path.read_text(encoding="utf-8"))
        for record in report["files"]:
            record.pop("sha256")
        return report

    built = build_previous(tmp_path / PREVIOUS_FILE)
    assert figures(SAMPLES / PREVIOUS_FILE) == figures(built), REBUILD
    assert figures(built)["issues"] == []  # last period's run was clean


# ---------------------------------------------------------------------- the same inbox, mailed
def test_the_mailbox_is_the_inbox_as_mailed():
    assert (SAMPLES / mail.MBOX).read_bytes() == mail.build_mbox(INBOX), REBUILD
    assert mail.mailed_paths() <= set(BY_PATH)


def _by_attachment(result) -> dict[str, tuple[str, str, bool]]:
    """Each file of a mailbox run by the name it had in the inbox (the last part of its path)."""
    return {
        f.path.rsplit(" › ", 1)[-1].rsplit("/", 1)[-1]: (f.status, f.reason, f.late) for f in result.files
    }


def test_the_mailbox_consolidates_as_the_folder(roster, result):
    """The sample mailbox gives the folder's totals, completeness, statuses and issues for every
    mailed file, and one more line: Đình Lập's message without its attachment."""
    mailed = consolidate(SAMPLES / mail.MBOX, _options(roster))
    assert mailed.totals == result.totals
    assert mailed.completeness == result.completeness
    folder = {f.path.rsplit("/", 1)[-1]: (f.status, f.reason, f.late) for f in result.files}
    by_name = _by_attachment(mailed)
    forgot = [f for f in mailed.files if f.reason == "no_attachment"]
    assert [(f.unit_code, f.source.sender, f.status) for f in forgot] == [
        ("", "MTTQ Huyện Đình Lập <mttq.dinhlap@gmail.com>", "ignored")
    ]
    del by_name[forgot[0].path.rsplit(" › ", 1)[-1]]
    assert by_name == {p.rsplit("/", 1)[-1]: folder[p.rsplit("/", 1)[-1]] for p in mail.mailed_paths()}

    def issues(run) -> list[tuple]:
        return sorted((i.severity, i.code, i.unit_code, i.field_id, i.sheet, i.cell) for i in run.issues)

    assert issues(mailed) == issues(result)
    assert all(f.source.kind == "mail" and f.source.received_at for f in mailed.files)
