"""Real LibreOffice fills, recalculates and saves workbooks (tools/libreoffice.py).

One soffice start for the whole module: the ``batch`` fixture runs every job in a
single run_jobs() call and the tests inspect the results and output files.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from tools import libreoffice as lo

pytestmark = pytest.mark.libreoffice

FORMATS = ("xlsx", "xls", "ods")
SHEET = "Nhập liệu"
RATIO = 739 / 1014  # 0.72879684418146...


@pytest.fixture(scope="module", autouse=True)
def _needs_libreoffice():
    reason = lo.available()
    if reason is not None:
        pytest.skip(reason)


def make_template(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    unlocked = wb.add_format({"locked": False})
    ws = wb.add_worksheet(SHEET)
    ws.write("A1", "Tiêu đề")
    ws.write("A2", "Số người")
    ws.write("A3", "Tổng số")
    ws.write_blank("B2", None, unlocked)
    ws.write_blank("B3", None, unlocked)
    ws.write_blank("B5", None, unlocked)  # text input
    ws.write_blank("B6", None, unlocked)  # date input
    ws.write_formula("B4", '=IF(B3=0,"",B2/B3)', None, "")  # cached value: empty
    ws.protect()
    meta = wb.add_worksheet("_meta")
    meta.write("A1", "template_version")
    meta.write("B1", 7)
    meta.very_hidden()
    wb.add_worksheet("Xoá").write("A1", "to be removed")
    wb.close()
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """name -> (job, result); all jobs in ONE LibreOffice session."""
    tmp = tmp_path_factory.mktemp("lo")
    src = make_template(tmp / "template.xlsx")
    out = tmp / "out" / "nested"  # does not exist yet: the worker creates it
    inputs = [
        {"sheet": SHEET, "cell": "B2", "value": 739},
        {"sheet": SHEET, "cell": "B3", "value": 1014},
        {"sheet": SHEET, "cell": "B5", "value": "1.014"},
        {"sheet": SHEET, "cell": "B6", "value": {"date": "2024-03-15"}},
    ]
    jobs: dict[str, dict] = {
        f"filled_{fmt}": {"src": src, "dst": out / f"filled.{fmt}", "format": fmt, "cells": inputs}
        for fmt in FORMATS
    }
    jobs["locked"] = {
        "src": src,
        "dst": out / "locked.xlsx",
        "cells": [{"sheet": SHEET, "cell": "A1", "value": "overwritten"}],
    }
    jobs["unprotected"] = {
        "src": src,
        "dst": out / "unprotected.xlsx",
        "unprotect": True,
        "remove_sheets": ["Xoá"],
        "rename_sheets": {SHEET: "Số liệu"},
        "insert_rows": [{"sheet": "Số liệu", "before_row": 2, "count": 1}],
        "cells": [
            # addresses after the insertion: inputs moved from B2/B3 to B3/B4
            {"sheet": "Số liệu", "cell": "A1", "value": "Xã A"},
            {"sheet": "Số liệu", "cell": "B3", "value": 739},
            {"sheet": "Số liệu", "cell": "B4", "value": 1014},
            {"sheet": "Số liệu", "cell": "C5", "formula": '=IF(B4=0,"",ROUND(B3/B4,4))'},
            {"sheet": "Số liệu", "cell": "C6", "formula": "=_meta!B1*2"},
            {"sheet": "Số liệu", "cell": "C7", "formula": "=NO_SUCH_FUNCTION(1)"},
            {"sheet": "Số liệu", "cell": "A2", "clear": True},
        ],
    }
    jobs["missing_src"] = {"src": tmp / "nope.xlsx", "dst": out / "nope.xlsx"}
    # runs after filled_ods in the same batch: a pure re-save, ods -> xlsx
    jobs["converted"] = {"src": out / "filled.ods", "dst": out / "converted.xlsx"}

    pipe_fragment = f"{lo.PIPE_PREFIX}{os.getpid()}_"
    assert lo.leftover_pids(pipe_fragment) == []
    results = lo.run_jobs(list(jobs.values()), timeout=300)
    return {
        "results": dict(zip(jobs, zip(jobs.values(), results, strict=True), strict=True)),
        "pipe_fragment": pipe_fragment,
    }


def result(batch, name):
    return batch["results"][name][1]


def output(batch, name) -> Path:
    return Path(batch["results"][name][0]["dst"])


def sheet_rows(path: Path, name: str) -> list[list]:
    wb = CalamineWorkbook.from_path(str(path))
    assert name in wb.sheet_names, wb.sheet_names
    return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)


@pytest.mark.parametrize("fmt", FORMATS)
def test_formula_recalculated_and_cached(batch, fmt):
    assert result(batch, f"filled_{fmt}")["ok"], result(batch, f"filled_{fmt}")
    rows = sheet_rows(output(batch, f"filled_{fmt}"), SHEET)
    assert rows[1][1] == 739
    assert rows[2][1] == 1014
    # xlsx/ods store 15 significant digits (0.72879684418146), xls the full double
    assert rows[3][1] == pytest.approx(0.72879684418146, rel=1e-12)
    assert rows[3][1] == pytest.approx(RATIO, rel=1e-12)


@pytest.mark.parametrize("fmt", FORMATS)
def test_very_hidden_meta_sheet_survives(batch, fmt):
    path = output(batch, f"filled_{fmt}")
    wb = CalamineWorkbook.from_path(str(path))
    visibility = {m.name: m.visible for m in wb.sheets_metadata}
    assert visibility["_meta"] != SheetVisibleEnum.Visible
    assert sheet_rows(path, "_meta")[0] == ["template_version", 7]


def test_very_hidden_becomes_plain_hidden_in_xlsx(batch):
    wb = openpyxl.load_workbook(output(batch, "filled_xlsx"))
    assert wb["_meta"].sheet_state == "hidden"  # LibreOffice has no "veryHidden"


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_stays_text(batch, fmt):
    assert sheet_rows(output(batch, f"filled_{fmt}"), SHEET)[4][1] == "1.014"


@pytest.mark.parametrize("fmt", FORMATS)
def test_date_comes_back_as_date(batch, fmt):
    value = sheet_rows(output(batch, f"filled_{fmt}"), SHEET)[5][1]
    assert isinstance(value, dt.date)  # datetime.datetime is a subclass too
    assert value == dt.date(2024, 3, 15) or value == dt.datetime(2024, 3, 15)


def test_protection_kept_when_only_unlocked_cells_written(batch):
    wb = openpyxl.load_workbook(output(batch, "filled_xlsx"))
    assert wb[SHEET].protection.sheet is True


def test_locked_cell_without_unprotect_fails_alone(batch):
    res = result(batch, "locked")
    assert res["ok"] is False
    assert "locked" in res["error"] and "A1" in res["error"]
    assert not output(batch, "locked").exists()
    others = [r for name, (_, r) in batch["results"].items() if name != "missing_src"]
    assert sum(not r["ok"] for r in others) == 1  # jobs after it still succeeded


def test_unprotect_rename_insert_remove_and_excel_formulas(batch):
    res = result(batch, "unprotected")
    assert res["ok"], res
    path = output(batch, "unprotected")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Số liệu", "_meta"]
    assert wb["Số liệu"].protection.sheet is False
    rows = sheet_rows(path, "Số liệu")
    assert rows[0][0] == "Xã A"
    assert rows[1][0] == ""  # inserted row 2 (cleared anyway)
    assert rows[2][:2] == ["Số người", 739]
    assert rows[3][:2] == ["Tổng số", 1014]
    assert rows[4][1] == pytest.approx(RATIO, rel=1e-12)  # template formula moved to B5
    assert rows[4][2] == pytest.approx(0.7288)
    assert rows[5][2] == 14
    # a formula that evaluates to an error is written, but reported
    assert res["warnings"] == ["Số liệu!C7: '=NO_SUCH_FUNCTION(1)' evaluates to #NAME?"]


def test_per_job_errors_are_reported(batch):
    src = Path(batch["results"]["missing_src"][0]["src"]).resolve()
    assert result(batch, "missing_src") == {"ok": False, "error": f"source not found: {src}"}


def test_pure_conversion_without_cells(batch):
    assert result(batch, "converted")["ok"]
    rows = sheet_rows(output(batch, "converted"), SHEET)
    assert rows[3][1] == pytest.approx(RATIO, rel=1e-12)
    assert rows[4][1] == "1.014"


def test_no_soffice_or_lock_files_left_behind(batch):
    assert lo.leftover_pids(batch["pipe_fragment"]) == []
    assert not list(Path("/tmp").glob(f"OSL_PIPE_*_{batch['pipe_fragment']}*"))
    # documents are opened read-only: no .~lock.template.xlsx# next to the source
    src_dir = Path(batch["results"]["filled_xlsx"][0]["src"]).parent
    assert not list(src_dir.rglob(".~lock*"))


def test_batch_failure_raises_with_worker_stderr(monkeypatch, tmp_path):
    monkeypatch.setenv("MTTQ_SOFFICE", "/bin/false")  # "soffice" that dies at once
    src = make_template(tmp_path / "t.xlsx")
    with pytest.raises(RuntimeError, match="soffice exited with status 1"):
        lo.run_jobs([{"src": src, "dst": tmp_path / "o.xlsx"}], timeout=60)


def test_fill_and_save_raises_on_failed_job(monkeypatch, tmp_path):
    seen = []

    def fake_run_jobs(jobs, timeout):
        seen.extend(jobs)
        return [{"ok": False, "error": "boom"}]

    monkeypatch.setattr(lo, "run_jobs", fake_run_jobs)
    with pytest.raises(lo.LibreOfficeError, match="boom"):
        lo.fill_and_save(tmp_path / "a.xlsx", tmp_path / "b.ods", [], unprotect=True)
    assert seen[0]["format"] == "ods" and seen[0]["unprotect"] is True
