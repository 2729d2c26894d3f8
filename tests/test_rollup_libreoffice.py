"""The roll-up of the samples opened and saved by real LibreOffice, as the province office does
before sending it up: unchanged (xlsx, xls, ods), with one figure changed by hand, and with its
units' sheet deleted. The next level reads it with `check` and `consolidate`, alone or against the
units' own reports (`--against`).

One LibreOffice session for the module (`saved`); every file under tmp_path_factory.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result

import mttq_xlsx
from mttq_xlsx.cli import main
from mttq_xlsx.fieldmap import UNITS_SHEET
from mttq_xlsx.layout import form_layout
from mttq_xlsx.spec import load_spec
from tools import libreoffice as lo

pytestmark = pytest.mark.libreoffice

SAMPLES = Path(__file__).parent.parent / "samples"
INBOX = SAMPLES / "inbox"
ROSTER = SAMPLES / "don-vi.csv"
FORMATS = ("xlsx", "xls", "ods")
SPEC = load_spec("bieu-so-lieu")
FORM = SPEC.forms[0]
MEDIATED = form_layout(FORM).positions["hoa_giai_thanh"].ref  # D82
PROVINCE = {
    "hoa_giai_thanh": 739,
    "hoa_giai_so_vu": 1014,
    "kdc_co_to_hoa_giai": 1646,
    "tong_kdc": 1646,
    "tt_so_cuoc": 1767,
    "tt_so_luot_nguoi": 140278,
}


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    reason = lo.available()
    if reason is not None:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("lo-rollup")
    result = mttq_xlsx.consolidate(INBOX, roster=ROSTER, period="2024-6T")
    (rollup,) = mttq_xlsx.write_rollup(
        result, root / "tong-hop-tinh.xlsx", "20", generated_at=datetime(2024, 6, 14)
    )
    jobs: dict[str, dict] = {}
    for fmt in FORMATS:
        jobs[f"same.{fmt}"] = {"src": rollup, "dst": root / "same" / f"tinh.{fmt}"}
        jobs[f"changed.{fmt}"] = {
            "src": rollup,
            "dst": root / "changed" / fmt / f"tinh.{fmt}",
            "cells": [{"sheet": FORM.sheet, "cell": MEDIATED, "value": 740}],  # an unlocked input cell
        }
    jobs["no-units.xlsx"] = {
        "src": rollup,
        "dst": root / "no-units" / "tinh.xlsx",
        "remove_sheets": [UNITS_SHEET],
    }
    results = lo.run_jobs(jobs.values())
    failed = {name: r.get("error") for name, r in zip(jobs, results, strict=True) if not r["ok"]}
    assert not failed, failed
    return {name: Path(job["dst"]) for name, job in jobs.items()}


@pytest.mark.parametrize("fmt", FORMATS)
def test_saved_unchanged_it_checks_clean_and_reads_back(
    saved: dict[str, Path], fmt: str, tmp_path: Path
) -> None:
    path = saved[f"same.{fmt}"]
    checked = run("check", path)
    assert checked.exit_code == 0, checked.output
    assert "Lỗi: 0; cảnh báo: 0." in checked.output
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    shutil.copy(path, inbox)
    report = tmp_path / "bc.json"
    result = run("consolidate", inbox, "-o", tmp_path / "th.xlsx", "--period", "2024-6T", "--report", report)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    totals = data["totals"]["bieu-so-lieu"]
    assert {k: totals[k] for k in PROVINCE} == PROVINCE
    assert data["files"][0]["unit_name"] == "Tỉnh Lạng Sơn"
    (sub,) = mttq_xlsx.check([path]).submissions
    assert sorted(u.code for u in sub.sub_units) == ["178", *map(str, range(180, 190))]
    assert sum(u.values["hoa_giai_thanh"] for u in sub.sub_units) == 739  # type: ignore[misc]


def test_libreoffice_keeps_the_units_sheet_hidden_and_locked(saved: dict[str, Path]) -> None:
    book = openpyxl.load_workbook(saved["same.xlsx"])
    ws = book[UNITS_SHEET]
    assert (ws.sheet_state, ws.protection.sheet) == ("hidden", True)  # LibreOffice has no "very hidden"
    assert book["Số liệu"][MEDIATED].value == 739


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_figure_changed_by_hand_is_caught_naming_the_field(
    saved: dict[str, Path], fmt: str, tmp_path: Path
) -> None:
    path = saved[f"changed.{fmt}"]
    report = tmp_path / "check.json"
    checked = run("check", path, "--report", report)
    assert checked.exit_code == 1
    (issue,) = json.loads(report.read_text(encoding="utf-8"))["issues"]
    assert (issue["code"], issue["field_id"], issue["unit_code"], issue["cell"]) == (
        "rollup_mismatch",
        "hoa_giai_thanh",
        "20",
        MEDIATED,
    )
    assert issue["message"].startswith(
        f"Ô Số liệu!{MEDIATED} (Số vụ hòa giải thành công (tỷ lệ)): Tỉnh Lạng Sơn ghi 740 nhưng 11 đơn vị "
        "trực thuộc (Thành phố Lạng Sơn, Huyện Tràng Định, Huyện Bình Gia, …) cộng lại được 739"
    )
    assert f"Lỗi: {issue['message']}" in checked.output
    # the level below, against the units' own files: the same field, once
    against = tmp_path / "against.json"
    result = run(
        "consolidate", INBOX, "-o", tmp_path / "th.xlsx", "--roster", ROSTER, "--period", "2024-6T",
        "--against", path, "--report", against,
    )  # fmt: skip
    assert result.exit_code == 1
    found = [
        i for i in json.loads(against.read_text(encoding="utf-8"))["issues"] if i["code"] == "rollup_mismatch"
    ]
    assert [(i["field_id"], i["path"]) for i in found] == [("hoa_giai_thanh", path.name)]
    checks = openpyxl.load_workbook(tmp_path / "th.xlsx")["Kiểm tra"]
    rows = [[c.value for c in row] for row in checks.iter_rows() if row[8].value == "rollup_mismatch"]
    assert [(r[1], r[2], r[3], r[4], r[7]) for r in rows] == [
        ("Lỗi", "20", "Tỉnh Lạng Sơn", path.name, "hoa_giai_thanh")
    ]


def test_the_units_sheet_deleted_is_a_warning(saved: dict[str, Path]) -> None:
    result = mttq_xlsx.check([saved["no-units.xlsx"]])
    assert [(i.severity, i.code) for i in result.issues] == [("warning", "rollup_rows_missing")]
    assert result.issues[0].message.startswith("Tệp là báo cáo tổng hợp nhưng trang ẩn “_donvi”")
    assert result.totals["bieu-so-lieu"]["hoa_giai_thanh"] == 739
