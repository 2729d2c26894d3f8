"""Workbooks filled and saved by real LibreOffice (xlsx, xls, ods) through the checks and consolidation.

One LibreOffice session for the whole module: the `built` fixture makes every workbook in a
single tools.libreoffice.run_jobs() call, in folders under tmp_path_factory, and the tests read
them with the library. Figures come from tools/sample_plan.py (the Lạng Sơn 2024 sample).
LibreOffice runs in Vietnam's time zone and writes saved times as it does itself; a few .xlsx
are given the time as Microsoft Excel writes it instead (_as_saved_by_excel).
"""

from __future__ import annotations

import math
import re
import shutil
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mttq_xlsx import Options, check, consolidate
from mttq_xlsx.json_report import json_report_dict
from mttq_xlsx.periods import parse_period
from mttq_xlsx.reader import ReadOptions, read_submission
from mttq_xlsx.roster import Unit
from mttq_xlsx.spec import load_spec
from mttq_xlsx.template import TemplateRequest, write_template
from tools import libreoffice as lo
from tools import sample_plan as plan

pytestmark = pytest.mark.libreoffice

REPORT = load_spec(plan.REPORT_ID)
PERIOD = parse_period(plan.PERIOD)
FORMATS = ("xlsx", "xls", "ods")
FORMAT_UNITS = ("178", "189")  # every planned figure; 189 saved after the deadline
PROVINCE = Unit("20", "Tỉnh Lạng Sơn", "", "tinh")
PROVINCE_VALUES = {
    "nguoi_lap": "Hoàng Văn Nam",
    "ngay_lap": date(2024, 6, 14),
    "tong_kdc": 1646,
    "kdc_co_to_hoa_giai": 1646,
    "hoa_giai_so_vu": 1014,
    "hoa_giai_thanh": 739,
    "tt_so_cuoc": 1767,
    "tt_so_luot_nguoi": 140278,
}
RATIO_CASES = (  # (typed into hoa_giai_ty_le, format, flagged as ratio_mismatch)
    ("72,87%", "xlsx", False),  # truncated, as the province report wrote it
    ("72,88%", "xlsx", False),  # rounded
    ("73%", "xlsx", False),  # no decimals: one percentage point of tolerance
    ("72,97%", "xlsx", True),
    ("72,97%", "xls", True),
    ("72,97%", "ods", True),
)
TYPED_PERCENT = (  # (typed into the 0,00% cell of hoa_giai_ty_le, format, flagged as ratio_mismatch)
    ("72.88%", "xlsx", False),  # LibreOffice's locale here is en-US: a Vietnamese clerk types 72,88%
    ("72.88%", "xls", False),
    ("72.88%", "ods", False),
    ("72.87%", "xlsx", False),
    ("72.97%", "xlsx", True),
    ("72.97%", "xls", True),
)
BLANK_VALUES = {"nguoi_lap": "Nông Thị Hà", "hoa_giai_so_vu": 10, "hoa_giai_thanh": 7}
# Saved by LibreOffice in Vietnam around the 10/6 deadline (hour, minute on 10/6 or the day after):
# (name, day, hour, minute, late). 00:30 and 06:30 on 11/6 are 17:30 and 23:30 UTC on 10/6.
DEADLINE_CASES = (
    ("20h00", 10, 20, 0, False),
    ("23h59", 10, 23, 59, False),
    ("00h30", 11, 0, 30, True),
    ("06h30", 11, 6, 30, True),
)
# One unit sends twice in one folder: (file name, saved at 6/6 hh:mm Vietnam, tong_kdc).
# The newer file sorts first by name, so a "last file read wins" bug fails too.
RESUBMISSIONS = (
    (("a-ban-sua.ods", 14, 0, 1650), ("b-ban-dau.xlsx", 10, 0, 1600)),  # .ods 4 h newer
    (("a-ban-sua.xlsx", 16, 0, 1650), ("b-ban-dau.ods", 13, 0, 1600)),  # .xlsx 3 h newer
    (("a-ban-sua.xls", 9, 0, 1650), ("b-ban-dau.xlsx", 8, 0, 1600)),
)
# An .xlsx saved by Microsoft Excel (true UTC) among LibreOffice's files, less than the 7 hours
# apart that reading one convention as the other would move it: (file name, saved at 6/6 hh:mm
# Vietnam, by Excel, tong_kdc); the newer file sorts first.
EXCEL_RESUBMISSIONS = (
    (("a-ban-sua.xlsx", 9, 30, True, 1650), ("b-ban-dau.ods", 9, 0, False, 1600)),
    (("a-ban-sua.ods", 9, 30, False, 1650), ("b-ban-dau.xlsx", 9, 0, True, 1600)),
    (("a-ban-sua.xlsx", 9, 30, True, 1650), ("b-ban-dau.xlsx", 9, 0, False, 1600)),  # by LibreOffice
    (("a-ban-sua.xls", 9, 30, False, 1650), ("b-ban-dau.xlsx", 9, 0, True, 1600)),
)


@dataclass(frozen=True)
class Bad:
    unit_code: str
    field_id: str
    typed: Any
    fmt: str
    severity: str
    code: str
    counted: float | int | None  # what the total takes from the cell


BAD = (
    Bad("182", "mh_antq", -5, "xls", "error", "negative", -5),
    Bad("183", "clb_kdc", 2.5, "ods", "error", "not_integer", 2.5),
    Bad("185", "nguon_tin_to_giac", "không rõ", "xlsx", "error", "unparseable_number", None),
    Bad("186", "tt_so_cuoc", "1.014", "ods", "warning", "number_as_text", 1014),
)


def _saved(code: str) -> datetime:
    return next(s.saved_at for s in plan.accepted_files() if s.unit_code == code)


def _clean(code: str) -> dict[str, Any]:
    """The unit's planned figures without its planned mistakes."""
    return {"ngay_lap": date(2024, 6, 5), **plan.unit_values(code)}


def _light(code: str) -> dict[str, Any]:
    """A few of the unit's planned figures (LibreOffice fills ~7 ms per cell over UNO)."""
    keep = {*plan.PROVINCE_REPORT, "nguoi_lap", "kp_cap_xa", "kp_ban_ctmt", "mh_antq", "clb_kdc"}
    keep |= {"nguon_tin_to_giac", "ho_ngheo", "tong_ho", "quy_den_on_dap_nghia"}
    return {k: v for k, v in _clean(code).items() if k in keep}


def _sample(code: str, values: dict[str, Any], fmt: str = "xlsx") -> plan.SampleFile:
    return plan.SampleFile(f"{code}.{fmt}", plan.TEMPLATE, "", "", fmt=fmt, unit_code=code, values=values)


@dataclass
class Built:
    root: Path
    templates: dict[str, Path]
    files: dict[str, Path]  # a name used by the tests -> the saved workbook
    built_at: tuple[datetime, datetime]  # UTC, around the LibreOffice batch

    def cells(self, code: str) -> dict[str, tuple[str, str]]:
        return plan.read_field_map(self.templates[code])[1].cells


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    reason = lo.available()
    if reason is not None:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("lo_consolidate")
    units = {u.code: u for u in plan.UNITS} | {PROVINCE.code: PROVINCE}
    templates = {
        code: write_template(
            TemplateRequest(REPORT, PERIOD, unit=unit, generated_at=plan.GENERATED_AT),
            root / "templates" / f"{code}.xlsx",
        )
        for code, unit in units.items()
    }
    jobs: list[tuple[str, dict[str, Any]]] = []

    def add(
        name: str, code: str, dst: Path, values: dict, unprotect: bool = False, saved=None, typed=None
    ) -> None:
        """`values` set as values; `typed` ({field: text}) entered as a person types into the cell."""
        where = plan.read_field_map(templates[code])[1].cells
        cells = [
            {"sheet": where[f][0], "cell": where[f][1], "value": plan.job_value(v)} for f, v in values.items()
        ]
        cells += [
            {"sheet": where[f][0], "cell": where[f][1], "formula_native": t} for f, t in (typed or {}).items()
        ]
        job = {"src": templates[code], "dst": dst, "cells": cells, "unprotect": unprotect}
        if saved is not None:
            job["modified"] = saved.isoformat()
        jobs.append((name, job))

    for fmt in FORMATS:
        for code in FORMAT_UNITS:
            add(
                f"{fmt}/{code}",
                code,
                root / "formats" / fmt / f"{code}.{fmt}",
                _clean(code),
                saved=_saved(code),
            )
        add(f"blank/{fmt}", "181", root / "blank" / f"blank.{fmt}", BLANK_VALUES)
    for typed, fmt, _ in RATIO_CASES:
        values = {**PROVINCE_VALUES, "hoa_giai_ty_le": typed}
        add(f"ratio/{typed}/{fmt}", "20", root / "ratio" / f"{typed}.{fmt}", values, unprotect=True)
    for typed, fmt, _ in TYPED_PERCENT:
        dst = root / "typed" / f"{typed}.{fmt}"
        add(f"typed/{typed}/{fmt}", "20", dst, PROVINCE_VALUES, True, typed={"hoa_giai_ty_le": typed})
    add("ratio/cached", "20", root / "ratio" / "cached.xlsx", PROVINCE_VALUES)
    add(
        "ratio/1.014",
        "20",
        root / "ratio" / "text-denominator.ods",
        {**PROVINCE_VALUES, "hoa_giai_so_vu": "1.014"},
    )
    for bad in BAD:
        values = {**_light(bad.unit_code), bad.field_id: bad.typed}
        add(f"bad/{bad.unit_code}", bad.unit_code, root / "bad" / f"{bad.unit_code}.{bad.fmt}", values)

    for fmt in FORMATS:
        for name, day, hour, minute, _ in DEADLINE_CASES:
            saved = datetime(2024, 6, day, hour, minute, tzinfo=plan.VIETNAM)
            add(
                f"deadline/{fmt}/{name}",
                "178",
                root / "deadline" / fmt / name / f"178.{fmt}",
                {},
                saved=saved,
            )
    for n, pair in enumerate(RESUBMISSIONS):
        for file_name, hour, minute, kdc in pair:
            saved = datetime(2024, 6, 6, hour, minute, tzinfo=plan.VIETNAM)
            dst = root / "resubmitted" / str(n) / file_name
            add(f"resubmitted/{n}/{file_name}", "180", dst, {"tong_kdc": kdc}, saved=saved)
    excel: list[tuple[str, datetime]] = []  # (job name, saved) of the .xlsx Excel saved
    for _, day, hour, minute, _ in DEADLINE_CASES:
        saved = datetime(2024, 6, day, hour, minute, tzinfo=plan.VIETNAM)
        name = f"excel-deadline/{hour:02d}h{minute:02d}"
        add(name, "178", root / "excel-deadline" / f"{hour:02d}h{minute:02d}" / "178.xlsx", {}, saved=saved)
        excel.append((name, saved))
    for n, pair in enumerate(EXCEL_RESUBMISSIONS):
        for file_name, hour, minute, by_excel, kdc in pair:
            saved = datetime(2024, 6, 6, hour, minute, tzinfo=plan.VIETNAM)
            name = f"excel-resubmitted/{n}/{file_name}"
            add(name, "180", root / "excel-resubmitted" / str(n) / file_name, {"tong_kdc": kdc}, saved=saved)
            if by_excel:
                excel.append((name, saved))
    for fmt in FORMATS:  # no `modified`: LibreOffice stamps the time of the save itself
        add(f"now/{fmt}", "178", root / "now" / f"178.{fmt}", {"nguoi_lap": "Hoàng Văn Nam"})

    started = datetime.now(UTC)
    results = lo.run_jobs([job for _, job in jobs])
    built_at = (started, datetime.now(UTC))
    failed = {name: r.get("error") for (name, _), r in zip(jobs, results, strict=True) if not r["ok"]}
    assert not failed, failed
    for name, saved in excel:
        _as_saved_by_excel(Path(dict(jobs)[name]["dst"]), saved)
    for code in FORMAT_UNITS:  # the good files of the bad-input inbox
        shutil.copy(root / "formats" / "xlsx" / f"{code}.xlsx", root / "bad" / f"{code}.xlsx")
    return Built(root, templates, {name: Path(job["dst"]) for name, job in jobs}, built_at)


def _as_saved_by_excel(path: Path, moment: datetime) -> None:
    """Make a LibreOffice-saved .xlsx carry `moment` as Microsoft Excel writes a last-saved time:
    docProps/core.xml dcterms:modified in UTC with a Z, docProps/app.xml naming Excel.
    (LibreOffice writes its local wall-clock time with a Z, and names itself.)"""
    utc = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    changes = {
        "docProps/core.xml": (r"(<dcterms:modified[^>]*>)[^<]*", rf"\g<1>{utc}"),
        "docProps/app.xml": (r"<Application>[^<]*", "<Application>Microsoft Excel"),
    }
    with zipfile.ZipFile(path) as zin:
        parts = [(info, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w") as zout:
        for info, data in parts:
            if info.filename in changes:
                text, found = re.subn(*changes[info.filename], data.decode("utf-8"))
                assert found == 1, (path, info.filename)
                data = text.encode("utf-8")
            zout.writestr(info, data)


def _roster(codes) -> tuple[Unit, ...]:
    return tuple(u for u in plan.UNITS if u.code in codes)


def _approx_equal(got: dict, want: dict) -> dict:
    """The entries that differ (floats compared to 1e-12)."""
    wrong = {}
    for key in set(got) | set(want):
        a, b = got.get(key), want.get(key)
        if isinstance(a, float) or isinstance(b, float):
            same = a is not None and b is not None and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
        else:
            same = a == b
        if not same:
            wrong[key] = (a, b)
    return wrong


def _codes(result) -> list[tuple[str, str, str]]:
    return sorted((i.code, i.field_id, i.cell) for i in result.issues)


# ---------------------------------------------------------------------- the same content, 3 formats
@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_consolidates_to_the_same_totals(built, fmt):
    options = Options(period=PERIOD, roster=_roster(FORMAT_UNITS), deadline=plan.DEADLINE)
    result = consolidate(built.root / "formats" / fmt, options)
    assert [f.status for f in result.files] == ["accepted"] * len(FORMAT_UNITS)
    assert result.issues == []
    want = plan.expected_totals(tuple(_sample(code, _clean(code), fmt) for code in FORMAT_UNITS))
    assert _approx_equal(result.totals[plan.REPORT_ID], want) == {}
    # the `modified` job option: LibreOffice kept the planned last-saved time in every format
    assert {f.path: f.saved_at for f in result.files} == {f"{c}.{fmt}": _saved(c) for c in FORMAT_UNITS}
    assert result.completeness.late == ["189"]


def test_the_three_formats_give_the_same_unit_figures(built):
    options = Options(period=PERIOD, roster=_roster(FORMAT_UNITS), deadline=plan.DEADLINE)
    units = {
        fmt: json_report_dict(consolidate(built.root / "formats" / fmt, options))["units"] for fmt in FORMATS
    }
    for code in FORMAT_UNITS:
        xlsx = units["xlsx"][code][plan.REPORT_ID]
        for fmt in ("xls", "ods"):
            assert _approx_equal(units[fmt][code][plan.REPORT_ID], xlsx) == {}, (fmt, code)


@pytest.mark.parametrize("fmt", FORMATS)
def test_blank_stays_blank_in_every_format(built, fmt):
    result = check([built.files[f"blank/{fmt}"]], Options(period=PERIOD))
    assert result.issues == []
    (sub,) = result.submissions
    filled = set(BLANK_VALUES) | {"hoa_giai_ty_le"} | {f.id for f in REPORT.fields if f.prefill}
    assert {k: v for k, v in sub.values.items() if k not in filled and v is not None} == {}
    assert sub.values["hoa_giai_ty_le"] == pytest.approx(0.7)
    assert result.totals[plan.REPORT_ID]["kp_tong"] is None  # an xls caches "" as 0: still blank


# ---------------------------------------------------------------------- ratios through real files
@pytest.mark.parametrize(
    ("typed", "fmt", "flagged"), RATIO_CASES, ids=[f"{t}-{f}" for t, f, _ in RATIO_CASES]
)
def test_typed_ratio(built, typed, fmt, flagged):
    path = built.files[f"ratio/{typed}/{fmt}"]
    _, raw = read_submission(path, path.name, ReadOptions())
    assert raw.values["hoa_giai_ty_le"] == typed  # stays text in every format
    result = check([path], Options())
    sheet, cell = built.cells("20")["hoa_giai_ty_le"]
    if flagged:
        assert [(i.severity, i.code, i.field_id, i.sheet, i.cell) for i in result.issues] == [
            ("error", "ratio_mismatch", "hoa_giai_ty_le", sheet, cell)
        ]
        assert "72,97%" in result.issues[0].message and "72,88%" in result.issues[0].message
    else:
        assert result.issues == []
    assert result.submissions[0].values["hoa_giai_ty_le"] == pytest.approx(739 / 1014)


@pytest.mark.parametrize(
    ("typed", "fmt", "flagged"), TYPED_PERCENT, ids=[f"{t}-{f}" for t, f, _ in TYPED_PERCENT]
)
def test_percent_typed_into_the_ratio_cell_is_judged_as_the_cell_shows_it(built, typed, fmt, flagged):
    """A clerk unprotects the sheet and types the ratio into its 0,00% cell: LibreOffice stores a
    number (72,88% -> 0.7288), judged at the two decimals the cell shows."""
    path = built.files[f"typed/{typed}/{fmt}"]
    _, raw = read_submission(path, path.name, ReadOptions())
    stored = raw.values["hoa_giai_ty_le"]
    assert isinstance(stored, float) and stored == pytest.approx(float(typed[:-1]) / 100, abs=1e-12)
    result = check([path], Options())
    sheet, cell = built.cells("20")["hoa_giai_ty_le"]
    if flagged:
        assert [(i.severity, i.code, i.field_id, i.sheet, i.cell) for i in result.issues] == [
            ("error", "ratio_mismatch", "hoa_giai_ty_le", sheet, cell)
        ]
        shown = typed.replace(".", ",")
        assert f"tỷ lệ ghi {shown} nhưng 739/1.014 = 72,88%" in result.issues[0].message
    else:
        assert result.issues == []
    assert result.submissions[0].values["hoa_giai_ty_le"] == pytest.approx(739 / 1014)


def test_ratio_cached_by_libreoffice_is_accepted(built):
    path = built.files["ratio/cached"]
    _, raw = read_submission(path, path.name, ReadOptions())
    assert isinstance(raw.values["hoa_giai_ty_le"], float)
    assert raw.values["hoa_giai_ty_le"] == pytest.approx(739 / 1014, abs=1e-12)
    assert raw.values["kdc_co_to_hoa_giai_ty_le"] == 1
    result = check([path], Options())
    assert result.issues == []
    totals = result.totals[plan.REPORT_ID]
    assert (totals["hoa_giai_thanh"], totals["hoa_giai_so_vu"]) == (739, 1014)


def test_text_denominator_makes_libreoffice_cache_a_wrong_ratio(built):
    """ "1.014" typed as text: the tool reads 1014 (a warning), but LibreOffice (en-US) computed
    the ratio cell as 739/1,014, so the cell the unit sees is wrong too, and is flagged."""
    path = built.files["ratio/1.014"]
    _, raw = read_submission(path, path.name, ReadOptions())
    assert raw.values["hoa_giai_ty_le"] == pytest.approx(739 / 1.014)
    result = check([path], Options())
    assert sorted((i.severity, i.code, i.field_id) for i in result.issues) == [
        ("error", "ratio_mismatch", "hoa_giai_ty_le"),
        ("warning", "number_as_text", "hoa_giai_so_vu"),
    ]
    assert result.totals[plan.REPORT_ID]["hoa_giai_so_vu"] == 1014


# ---------------------------------------------------------------------- bad inputs
def test_bad_inputs_are_flagged_and_the_other_figures_stay_intact(built):
    codes = FORMAT_UNITS + tuple(b.unit_code for b in BAD)
    result = consolidate(built.root / "bad", Options(period=PERIOD, roster=_roster(codes)))
    assert [f.status for f in result.files] == ["accepted"] * len(codes)
    assert result.completeness.received == len(codes)
    want = []
    for bad in BAD:
        sheet, cell = built.cells(bad.unit_code)[bad.field_id]
        path = f"{bad.unit_code}.{bad.fmt}"
        want.append((path, bad.severity, bad.code, bad.unit_code, bad.field_id, sheet, cell))
    got = [(i.path, i.severity, i.code, i.unit_code, i.field_id, i.sheet, i.cell) for i in result.issues]
    assert sorted(got) == sorted(want)

    totals = result.totals[plan.REPORT_ID]
    clean = plan.expected_totals(
        tuple(_sample(code, _clean(code) if code in FORMAT_UNITS else _light(code)) for code in codes)
    )
    poisoned = {b.field_id for b in BAD}
    others = {k: v for k, v in totals.items() if k not in poisoned}
    assert _approx_equal(others, {k: v for k, v in clean.items() if k not in poisoned}) == {}
    for bad in BAD:
        planned = plan.counted(_light(bad.unit_code)[bad.field_id])
        assert totals[bad.field_id] == pytest.approx(clean[bad.field_id] - planned + (bad.counted or 0))
    assert totals["tt_so_cuoc"] == clean["tt_so_cuoc"] - 224 + 1014  # Hữu Lũng's "1.014" counted


@pytest.mark.parametrize("bad", BAD, ids=[b.code for b in BAD])
def test_check_files_on_one_file_gives_its_issues(built, bad):
    path = built.files[f"bad/{bad.unit_code}"]
    result = check([path], Options())
    assert [f.status for f in result.files] == ["accepted"]
    assert [(i.severity, i.code, i.field_id, i.path) for i in result.issues] == [
        (bad.severity, bad.code, bad.field_id, path.name)
    ]
    value = result.submissions[0].values[bad.field_id]
    assert value == (bad.typed if bad.counted is None else bad.counted)


# ---------------------------------------------------------------------- saved times, Vietnam
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_save_by_libreoffice_in_vietnam_reads_as_the_moment_it_happened(built, fmt):
    """LibreOffice run with TZ=Asia/Ho_Chi_Minh stamped the save itself: its .xlsx says local
    time marked "Z"; read as what it is, every format gives the real moment of the save."""
    path = built.files[f"now/{fmt}"]
    record, _ = read_submission(path, path.name, ReadOptions())
    assert record.saved_at is not None
    started, finished = built.built_at
    assert started - timedelta(seconds=1) <= record.saved_at <= finished + timedelta(seconds=1)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("name", "day", "hour", "minute", "late"), DEADLINE_CASES, ids=[c[0] for c in DEADLINE_CASES]
)
def test_lateness_is_judged_in_vietnam_time(built, fmt, name, day, hour, minute, late):
    inbox = built.root / "deadline" / fmt / name
    options = Options(period=PERIOD, roster=_roster(("178",)), deadline=plan.DEADLINE)
    result = consolidate(inbox, options)
    (record,) = result.files
    assert record.saved_at == datetime(2024, 6, day, hour, minute, tzinfo=plan.VIETNAM)
    assert record.late is late
    assert result.completeness.late == (["178"] if late else [])


@pytest.mark.parametrize(
    "n", range(len(RESUBMISSIONS)), ids=[f"{a[0]}-over-{b[0]}" for a, b in RESUBMISSIONS]
)
def test_the_newest_resubmission_wins_whatever_its_format(built, n):
    (newer, _, _, kdc), (older, *_) = RESUBMISSIONS[n]
    result = consolidate(
        built.root / "resubmitted" / str(n), Options(period=PERIOD, roster=_roster(("180",)))
    )
    assert {f.path: f.status for f in result.files} == {newer: "accepted", older: "superseded"}
    (sub,) = result.submissions
    assert sub.values["tong_kdc"] == kdc
    assert result.totals[plan.REPORT_ID]["tong_kdc"] == kdc


@pytest.mark.parametrize(
    ("name", "day", "hour", "minute", "late"), DEADLINE_CASES, ids=[c[0] for c in DEADLINE_CASES]
)
def test_lateness_of_an_xlsx_saved_by_excel(built, name, day, hour, minute, late):
    """Excel writes true UTC: 00:30 on 11/6 in Vietnam is 17:30Z on 10/6, and late."""
    inbox = built.root / "excel-deadline" / f"{hour:02d}h{minute:02d}"
    with zipfile.ZipFile(inbox / "178.xlsx") as zf:
        assert b"<Application>Microsoft Excel" in zf.read("docProps/app.xml")
    options = Options(period=PERIOD, roster=_roster(("178",)), deadline=plan.DEADLINE)
    result = consolidate(inbox, options)
    (record,) = result.files
    assert record.saved_at == datetime(2024, 6, day, hour, minute, tzinfo=plan.VIETNAM)
    assert record.late is late


@pytest.mark.parametrize(
    "n",
    range(len(EXCEL_RESUBMISSIONS)),
    ids=[f"{a[0]}{'-excel' * a[3]}-over-{b[0]}{'-excel' * b[3]}" for a, b in EXCEL_RESUBMISSIONS],
)
def test_the_newest_wins_with_an_xlsx_saved_by_excel_among_libreoffice_files(built, n):
    (newer, hour, minute, _, kdc), (older, *_) = EXCEL_RESUBMISSIONS[n]
    result = consolidate(
        built.root / "excel-resubmitted" / str(n), Options(period=PERIOD, roster=_roster(("180",)))
    )
    assert [f.path for f in result.files] == [newer, older]  # the newer first in path order
    assert {f.path: f.status for f in result.files} == {newer: "accepted", older: "superseded"}
    assert result.files[0].saved_at == datetime(2024, 6, 6, hour, minute, tzinfo=plan.VIETNAM)
    (sub,) = result.submissions
    assert sub.values["tong_kdc"] == kdc
