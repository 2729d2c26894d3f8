"""The library API: the README's example runs and prints what it says; the API is what the
commands do; importing the package stays cheap."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import mttq_xlsx
from mttq_xlsx import Options, UsageError
from mttq_xlsx.cli import main
from mttq_xlsx.json_report import json_report_dict
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import read_roster

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def readme_example() -> str:
    """The Python block of the README's "Library" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Library\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: no python block under ## Library"
    return match[1]


def test_readme_example_runs_and_prints_what_its_comments_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = readme_example()
    promised = [line.split("  # ", 1)[1] for line in code.splitlines() if line.startswith("print(")]
    assert len(promised) >= 4
    (tmp_path / "samples").symlink_to(SAMPLES)  # the paths of the example are the repository's
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    assert printed.getvalue().splitlines() == promised
    summary = openpyxl.load_workbook(tmp_path / "out" / "tong-hop.xlsx", read_only=True)
    assert summary.sheetnames[:3] == ["Tổng hợp", "Tiến độ", "Kiểm tra"]
    report = json.loads((tmp_path / "out" / "bao-cao.json").read_text(encoding="utf-8"))
    assert report["schema"] == "mttq-xlsx/report/1"
    assert report["totals"]["bieu-so-lieu"]["hoa_giai_so_vu"] == 1014


def test_keywords_and_options_give_the_same_run() -> None:
    by_keywords = mttq_xlsx.consolidate(
        SAMPLES / "inbox", roster=SAMPLES / "don-vi.csv", period="2024-6T", deadline="2024-06-10"
    )
    options = Options(
        period=parse_period("2024-6T"),
        roster=tuple(read_roster(SAMPLES / "don-vi.csv")),
        deadline=by_keywords.deadline,
    )
    by_options = mttq_xlsx.consolidate(str(SAMPLES / "inbox"), options)
    assert json_report_dict(by_keywords) == json_report_dict(by_options)
    assert by_keywords.deadline is not None and by_keywords.deadline.isoformat() == "2024-06-10"


def test_the_command_exits_with_the_runs_exit_status(tmp_path: Path) -> None:
    result = mttq_xlsx.consolidate(SAMPLES / "inbox", roster=SAMPLES / "don-vi.csv", period="2024-6T")
    args = ["consolidate", str(SAMPLES / "inbox"), "-o", str(tmp_path / "t.xlsx")]
    run = CliRunner().invoke(main, [*args, "--roster", str(SAMPLES / "don-vi.csv"), "--period", "2024-6T"])
    assert result.exit_status == run.exit_code == 1


def test_a_clean_run_exits_0(tmp_path: Path) -> None:
    mttq_xlsx.write_templates(
        "bieu-so-lieu", tmp_path / "hop-thu", "2024-6T", roster=SAMPLES / "don-vi.csv", unit="178"
    )
    result = mttq_xlsx.consolidate(tmp_path / "hop-thu", period="2024-6T")
    assert [f.status for f in result.files] == ["accepted"]
    assert result.issues == [] and result.exit_status == 0


def test_outputs_are_never_written_into_the_inbox(tmp_path: Path) -> None:
    inbox = tmp_path / "hop-thu"
    mttq_xlsx.write_templates("phu-luc-1", inbox, "2024-6T")
    before = sorted(p.name for p in inbox.iterdir())
    result = mttq_xlsx.consolidate(inbox)
    for write in (mttq_xlsx.write_summary, mttq_xlsx.write_json_report):
        with pytest.raises(UsageError, match=r"vào trong thư mục hộp thư .*: hộp thư chỉ được đọc"):
            write(result, inbox / "sub" / "out.xlsx")
    assert sorted(p.name for p in inbox.iterdir()) == before


def test_write_templates_one_per_unit_and_an_unknown_unit(tmp_path: Path) -> None:
    roster = SAMPLES / "don-vi.csv"
    paths = mttq_xlsx.write_templates("phu-luc-1", tmp_path, "2024", roster=roster)
    assert len(paths) == 1 + len(read_roster(roster))
    assert paths[0].name == "phu-luc-1_2024.xlsx" and all(p.is_file() for p in paths)
    with pytest.raises(UsageError, match=r"Không có đơn vị mã “999” trong .*don-vi\.csv"):
        mttq_xlsx.write_templates("phu-luc-1", tmp_path, "2024", roster=roster, unit="999")


def test_frames_hold_what_the_json_report_holds() -> None:
    result = mttq_xlsx.consolidate(SAMPLES / "inbox", roster=SAMPLES / "don-vi.csv", period="2024-6T")
    report = json_report_dict(result)
    frame = result.to_frame()
    assert list(frame.columns[:4]) == ["unit_code", "unit_name", "report_id", "path"]
    assert len(frame) == len(result.submissions) == 11
    for row in frame.itertuples(index=False):
        values = report["units"][row.unit_code][row.report_id]
        assert {k: getattr(row, k) for k in ("tong_kdc", "hoa_giai_so_vu")} == {
            k: values[k] for k in ("tong_kdc", "hoa_giai_so_vu")
        }
    issues = result.issues_frame()
    assert issues.to_dict("records") == report["issues"]


@pytest.mark.parametrize(
    "statement",
    [
        "import mttq_xlsx",
        "import mttq_xlsx.ingest",  # what a reading worker runs
        "import mttq_xlsx; mttq_xlsx.check; mttq_xlsx.consolidate; mttq_xlsx.Consolidation",
        # what `mttq-xlsx check` does (its start-up is part of the 0.3 s a check may take, #13)
        f"import mttq_xlsx.cli; mttq_xlsx.check([{str(SAMPLES / 'inbox' / 'Báo cáo Cao Lộc.xlsx')!r}])",
    ],
)
def test_importing_the_library_loads_no_writer_and_no_pandas(statement: str) -> None:
    heavy = "('pandas', 'xlsxwriter', 'openpyxl', 'imapclient')"  # imapclient: only to read IMAP
    code = f"{statement}; import sys; print([m for m in {heavy} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_api_is_exported() -> None:
    for name in mttq_xlsx.__all__:
        assert getattr(mttq_xlsx, name) is not None, name
    assert issubclass(mttq_xlsx.Rejected, mttq_xlsx.MttqError)
    with pytest.raises(AttributeError):
        mttq_xlsx.no_such_thing  # noqa: B018


def test_the_mail_functions_of_the_library(tmp_path: Path) -> None:
    """fetch and reply as functions: the sample mailbox copied (never into the mailbox's folder),
    the copy consolidated with its envelopes, and a draft answer to every message."""
    with pytest.raises(UsageError, match="hộp thư chỉ được đọc"):
        mttq_xlsx.fetch(SAMPLES / "inbox", SAMPLES / "inbox" / "ban-sao")
    copy = tmp_path / "ban-sao"
    done = mttq_xlsx.fetch(SAMPLES / "hop-thu.mbox", copy)
    assert (done.new, len(done.saved), done.known) == (15, 15, 0)
    assert done.without_report == ["MTTQ Huyện Đình Lập <mttq.dinhlap@gmail.com>"]
    assert mttq_xlsx.fetch(SAMPLES / "hop-thu.mbox", copy).known == 15  # again: nothing new
    result = mttq_xlsx.consolidate(copy, roster=SAMPLES / "don-vi.csv", period="2024-6T")
    assert result.totals["bieu-so-lieu"]["hoa_giai_so_vu"] == 1014
    assert {f.source.kind for f in result.files} == {"mail"}
    report = mttq_xlsx.write_json_report(result, tmp_path / "bao-cao.json")
    replied = mttq_xlsx.reply(report, tmp_path / "tra-loi", "MTTQ tỉnh <tonghop.mttq@gmail.com>")
    assert len(replied.written) == 15 and replied.sent == [] and replied.no_address == []
    assert all(p.suffix == ".eml" and p.parent == tmp_path / "tra-loi" for p in replied.written)
    with pytest.raises(UsageError, match="--from"):
        mttq_xlsx.reply(report, tmp_path / "tra-loi")  # no sender, nothing to send with


def test_no_module_hides_a_function_of_the_api() -> None:
    """`mttq_xlsx.fetch` stays the function after `mttq_xlsx.<module>` imports: no module of the
    package may bear the name of an exported function (importing it would replace the function)."""
    modules = {p.stem for p in Path(mttq_xlsx.__file__).parent.iterdir() if p.suffix == ".py" or p.is_dir()}
    assert not modules & set(mttq_xlsx.__all__)
