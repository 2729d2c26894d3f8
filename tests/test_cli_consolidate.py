"""`mttq-xlsx consolidate` and `mttq-xlsx check` as a user runs them, on the LibreOffice-made samples."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result

from mttq_xlsx.cli import main
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import Unit, write_roster
from mttq_xlsx.spec import load_spec
from mttq_xlsx.template import TemplateRequest, write_template
from tests.mail_helpers import demo_args

SAMPLES = Path(__file__).parent.parent / "samples"
INBOX = SAMPLES / "inbox"
ROSTER = SAMPLES / "don-vi.csv"


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def consolidate_samples(summary: Path, report: Path) -> Result:
    """The demo's run: the sample inbox with its roster, period and deadline."""
    return run(*demo_args(INBOX, summary, report))


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("out")
    before = snapshot(INBOX)
    result = consolidate_samples(out / "tong-hop.xlsx", out / "bao-cao.json")
    return result, out, before


def test_consolidate_exit_code_and_closing_summary(demo: tuple[Result, Path, dict]) -> None:
    result, out, _ = demo
    assert result.exit_code == 1, result.output  # done, with findings
    report = json.loads((out / "bao-cao.json").read_text(encoding="utf-8"))
    statuses = [f["status"] for f in report["files"]]
    errors = sum(i["severity"] == "error" for i in report["issues"])
    warnings = sum(i["severity"] == "warning" for i in report["issues"])
    lines = result.stdout.splitlines()
    assert lines[0] == f"Báo cáo JSON: {out / 'bao-cao.json'}"
    assert lines[1] == (
        f"Đã đọc {len(statuses)} tệp: {statuses.count('accepted')} được nhận, "
        f"{statuses.count('rejected')} bị loại, {statuses.count('superseded')} bị thay thế bởi bản "
        f"mới hơn, {statuses.count('ignored')} bỏ qua."
    )
    assert lines[2] == f"Lỗi: {errors}; cảnh báo: {warnings}."
    assert lines[3].startswith("Đã nhận 11/11 đơn vị; chưa nộp: 0; nộp muộn: 1")
    assert lines[-1] == f"Bảng tổng hợp: {out / 'tong-hop.xlsx'}"
    assert "Đang đọc" not in result.output  # no progress bar when not on a terminal


def test_json_report_contract(demo: tuple[Result, Path, dict]) -> None:
    _, out, before = demo
    report = json.loads((out / "bao-cao.json").read_text(encoding="utf-8"))
    assert report["schema"] == "mttq-xlsx/report/1"
    assert report["period"] == "2024-6T"
    assert sorted(f["path"] for f in report["files"]) == sorted(before)  # every file, once
    for f in report["files"]:
        assert {"path", "sha256", "status", "reason", "message", "detail", "report_id", "unit_code"} <= set(f)
        assert {"unit_name", "period"} <= set(f)
        assert f["sha256"] == before[f["path"]]
    (cut,) = [f for f in report["files"] if f["reason"] == "corrupt_file"]  # a download cut short
    assert cut["detail"] == "BadZipFile: File is not a zip file" and "zip" not in cut["message"]
    for issue in report["issues"]:
        assert set(issue) == {
            "severity",
            "path",
            "unit_code",
            "form_id",
            "field_id",
            "sheet",
            "cell",
            "code",
            "message",
        }
    totals = report["totals"]["bieu-so-lieu"]
    assert (totals["hoa_giai_thanh"], totals["hoa_giai_so_vu"]) == (739, 1014)
    assert report["completeness"]["expected"] == 11
    assert report["completeness"]["received"] == 11
    assert len(report["units"]) == 11


def test_summary_workbook_as_opened(demo: tuple[Result, Path, dict]) -> None:
    _, out, _ = demo
    wb = openpyxl.load_workbook(out / "tong-hop.xlsx")
    report = load_spec("bieu-so-lieu")
    names = wb.sheetnames
    assert names[:5] == ["Tổng hợp", "Tiến độ", "Kiểm tra", "Số liệu báo cáo", "Biểu đồ"]
    assert names[5 : 5 + len(report.sections)] == [s.short for s in report.sections]
    assert names[-1] == "Nguồn"
    assert len(names) == 5 + len(report.sections) + 11 + 1  # a sheet per unit
    texts = [c.value for row in wb["Tổng hợp"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "739/1.014 = 72,88%" in texts
    assert "1.646/1.646 = 100,00%" in texts


def test_inbox_is_unchanged(demo: tuple[Result, Path, dict]) -> None:
    _, _, before = demo
    assert snapshot(INBOX) == before


def test_second_run_gives_the_same_report(demo: tuple[Result, Path, dict], tmp_path: Path) -> None:
    _, out, _ = demo
    again = consolidate_samples(tmp_path / "b.xlsx", tmp_path / "b.json")
    assert again.exit_code == 1
    assert (tmp_path / "b.json").read_bytes() == (out / "bao-cao.json").read_bytes()


def test_output_inside_the_inbox_is_refused(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(INBOX, inbox)
    before = snapshot(inbox)
    result = run("consolidate", inbox, "-o", inbox / "tong-hop.xlsx")
    assert result.exit_code == 2
    assert result.stderr.startswith("Lỗi: Không ghi “")
    assert "hộp thư chỉ được đọc" in result.stderr
    assert snapshot(inbox) == before


def test_output_open_in_excel(tmp_path: Path) -> None:
    target = tmp_path / "tong-hop.xlsx"
    target.write_bytes(b"old summary")
    (tmp_path / "~$tong-hop.xlsx").write_bytes(b"lock")
    result = run("consolidate", INBOX, "-o", target, "--period", "2024-6T")
    assert result.exit_code == 2
    assert "đang được mở trong Excel" in result.stderr
    assert target.read_bytes() == b"old summary"


def test_missing_inbox(tmp_path: Path) -> None:
    result = run("consolidate", tmp_path / "khong-co", "-o", tmp_path / "x.xlsx")
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Lỗi: Không thấy thư mục hay hộp thư “{tmp_path / 'khong-co'}”. Hãy kiểm tra lại đường dẫn.\n"
    )


def _clean_inbox(tmp_path: Path) -> tuple[Path, Path]:
    unit = Unit("05977", "Phường Đông Kinh", "20", "phuong")
    inbox = tmp_path / "inbox"
    write_template(
        TemplateRequest(
            load_spec("bieu-so-lieu"),
            parse_period("2024-6T"),
            unit=unit,
            values={"hoa_giai_so_vu": 14, "hoa_giai_thanh": 9},
            generated_at=datetime(2024, 6, 1, 8),
        ),
        inbox / "dong-kinh.xlsx",
    )
    roster = tmp_path / "units.csv"
    write_roster([unit], roster)
    return inbox, roster


def test_clean_inbox_exits_zero(tmp_path: Path) -> None:
    inbox, roster = _clean_inbox(tmp_path)
    result = run("consolidate", inbox, "-o", tmp_path / "t.xlsx", "--roster", roster, "--period", "2024-6T")
    assert result.exit_code == 0, result.output
    assert "Lỗi: 0; cảnh báo: 0." in result.stdout
    assert "Đã nhận 1/1 đơn vị; chưa nộp: 0; nộp muộn: 0." in result.stdout


def test_check_a_clean_file(tmp_path: Path) -> None:
    inbox, _ = _clean_inbox(tmp_path)
    result = run("check", inbox / "dong-kinh.xlsx")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "dong-kinh.xlsx: đọc được"


def test_check_a_file_with_problems() -> None:
    files = sorted(
        p for p in INBOX.rglob("*") if p.suffix in {".xlsx", ".xls", ".ods"} and "~$" not in p.name
    )
    results = {p.name: run("check", p) for p in files}
    flagged = {name: r for name, r in results.items() if r.exit_code == 1}
    assert flagged, "the samples hold files with mistakes"
    for name, r in flagged.items():
        assert r.stdout.startswith(f"{name}: "), r.stdout
        assert "Lỗi" in r.stdout or "Cảnh báo" in r.stdout or "bị loại" in r.stdout
    ratio = [r for r in flagged.values() if "tỷ lệ ghi 72,97%" in r.stdout]
    assert len(ratio) == 1


# ---------------------------------------------------------------------- faults of the program itself
CRASH = "Lỗi: Lỗi của chương trình mttq-xlsx"


def assert_crashed(result: Result, *words: str) -> None:
    """Exit 2 (never 1, "done with findings"), the traceback for the developers, then the
    Vietnamese message saying it is the program's fault and what to send."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback (most recent call last)" in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(CRASH), last
    assert "không phải lỗi của các tệp báo cáo" in last and "gửi cho người phát triển" in last


@pytest.mark.parametrize("command", ["consolidate", "check"])
def test_a_fault_in_the_program_exits_2(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_dumps(*_args: object, **_kwargs: object) -> str:
        raise TypeError("Object of type Period is not JSON serializable")

    monkeypatch.setattr(json, "dumps", broken_dumps)  # what the JSON report is written with
    target = tmp_path / "bao-cao.json"
    if command == "consolidate":
        result = run(
            "consolidate", INBOX, "-o", tmp_path / "t.xlsx", "--period", "2024-6T", "--report", target
        )
    else:
        result = run("check", INBOX / "Báo cáo Cao Lộc.xlsx", "--report", target)
    assert_crashed(result, "TypeError: Object of type Period is not JSON serializable")
    assert not target.exists()


@pytest.mark.skipif(
    __import__("multiprocessing").get_start_method() != "fork",
    reason="the fault is injected in the parent and reaches the workers only when they are forked",
)
def test_a_fault_in_a_worker_exits_2_with_the_workers_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    from mttq_xlsx import intake

    def broken_expand(_entry: object) -> list:
        raise KeyError("member")

    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    with zipfile.ZipFile(inbox / "bao-cao.zip", "w") as zf:
        zf.write(INBOX / "Báo cáo Cao Lộc.xlsx", "Cao Loc.xlsx")
    monkeypatch.setattr(intake, "expand", broken_expand)
    result = run("consolidate", inbox, "-o", tmp_path / "t.xlsx", "--period", "2024-6T")
    assert_crashed(result, "KeyError in a worker process", "in broken_expand")
    assert not (tmp_path / "t.xlsx").exists()


def test_ctrl_c_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlsxwriter.workbook

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(xlsxwriter.workbook.Workbook, "close", interrupted)
    result = run("consolidate", INBOX, "-o", tmp_path / "t.xlsx", "--period", "2024-6T")
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.startswith("Lỗi: Đã dừng theo yêu cầu (Ctrl+C) trước khi xong")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "t.xlsx").exists()


def test_a_time_typed_where_a_date_or_a_figure_belongs_is_flagged_not_a_crash(tmp_path: Path) -> None:
    """calamine reads a cell formatted hh:mm as a time of day: the run goes on, the JSON report is
    written, the cells are named."""
    spec = load_spec("bieu-so-lieu")
    path = write_template(
        TemplateRequest(spec, parse_period("2024-6T"), Unit("178", "Thành phố Lạng Sơn", "20", "")),
        tmp_path / "178.xlsx",
    )
    book = openpyxl.load_workbook(path)
    cells = {row[0]: (row[2], row[3]) for row in book["_mttq"].iter_rows(values_only=True) if row[0]}
    for field_id in ("ngay_lap", "tong_kdc"):
        sheet, cell = cells[field_id]
        book[sheet][cell] = time(10, 30)
        book[sheet][cell].number_format = "hh:mm"
    book.save(path)
    result = run("check", path, "--report", tmp_path / "r.json")
    assert result.exit_code == 1, result.output
    issues = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["issues"]
    assert sorted((i["code"], i["field_id"], i["cell"]) for i in issues) == [
        ("not_a_date", "ngay_lap", cells["ngay_lap"][1]),
        ("not_a_number", "tong_kdc", cells["tong_kdc"][1]),
    ]
    assert all("10:30" in i["message"] for i in issues)
