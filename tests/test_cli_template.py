"""The `forms`, `roster` and `template` commands, through click's CliRunner."""

from __future__ import annotations

import traceback
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result

from mttq_xlsx import __version__
from mttq_xlsx.cli import main
from mttq_xlsx.periods import current_period
from mttq_xlsx.roster import Unit, read_roster, write_roster
from mttq_xlsx.spec import load_spec

BOM = b"\xef\xbb\xbf"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), "".join(
        traceback.format_exception(result.exception)
    )
    assert "Traceback" not in result.output


def meta_of(path: Path) -> dict[str, str]:
    rows = openpyxl.load_workbook(path, read_only=True)["_mttq"].iter_rows(values_only=True)
    return {r[0]: r[1] or "" for r in rows if r and r[0] and r[0] != "field_id"}


@pytest.fixture
def roster_csv(tmp_path: Path, three_units: tuple[Unit, ...]) -> Path:
    path = tmp_path / "don-vi.csv"
    write_roster(three_units, path)
    return path


# ------------------------------------------------------------------ help, version, forms


def test_version() -> None:
    result = run("--version")
    assert (result.exit_code, result.output) == (0, f"mttq-xlsx, version {__version__}\n")


def test_every_command_has_help_with_an_example() -> None:
    assert {"forms", "roster", "template"} <= set(main.commands)
    for name in main.commands:
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert "Ví dụ" in result.output, f"`mttq-xlsx {name} --help` has no example"
        assert f"mttq-xlsx {name}" in result.output.split("Ví dụ", 1)[1], name


def test_main_help_lists_commands() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for name in main.commands:
        assert f"  {name}" in result.output


def test_forms_lists_both_reports() -> None:
    result = run("forms")
    assert result.exit_code == 0
    expected = []
    for report_id in ("bieu-so-lieu", "phu-luc-1"):
        report = load_spec(report_id)
        expected.append(f"{report_id} (phiên bản 1): {report.title}")
        for form in report.forms:
            count = len(form.fields)
            expected.append(f"  {form.id:<10} {form.sheet:<10} {count:>3} trường  {form.title}")
    assert result.output.splitlines() == expected
    assert expected[1] == ("  so-lieu    Số liệu     88 trường  BIỂU BÁO CÁO SỐ LIỆU KẾT QUẢ")


# ------------------------------------------------------------------ template


def test_template_generic(tmp_path: Path) -> None:
    out = tmp_path / "mau-bieu"
    result = run("template", "bieu-so-lieu", "-o", out, "--period", "2024-6T")
    assert (result.exit_code, result.stderr) == (0, "")
    target = out / "bieu-so-lieu_2024-6T.xlsx"
    assert result.output == f"Đã ghi {target}\n"
    assert [p.name for p in out.iterdir()] == [target.name]
    meta = meta_of(target)
    assert (meta["report_id"], meta["period"], meta["unit_code"]) == ("bieu-so-lieu", "2024-6T", "")


def test_template_default_period_is_the_current_one(tmp_path: Path) -> None:
    result = run("template", "phu-luc-1", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    period = current_period(date.today())
    assert [p.name for p in tmp_path.iterdir()] == [f"phu-luc-1_{period.id}.xlsx"]


def test_template_custom_data_range(tmp_path: Path) -> None:
    result = run(
        "template", "phu-luc-1", "-o", tmp_path, "--period", "2024",
        "--start", "2023-12-01", "--end", "2024-09-30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    meta = meta_of(tmp_path / "phu-luc-1_2024.xlsx")
    assert (meta["period_start"], meta["period_end"]) == ("2023-12-01", "2024-09-30")


def test_template_start_after_end(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        "template", "phu-luc-1", "-o", out, "--period", "2024",
        "--start", "2024-10-01", "--end", "2024-09-30",
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        "Lỗi: Ngày bắt đầu 01/10/2024 sau ngày kết thúc 30/09/2024 của kỳ báo cáo 2024.\n"
    )
    assert not out.exists()


def test_template_with_roster(tmp_path: Path, roster_csv: Path) -> None:
    out = tmp_path / "out"
    result = run("template", "phu-luc-1", "-o", out, "--period", "2024", "--roster", roster_csv)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Đã ghi {out / 'phu-luc-1_2024.xlsx'}\nĐã ghi 3 tệp điền sẵn cho từng đơn vị vào {out}.\n"
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "phu-luc-1_2024.xlsx",
        "phu-luc-1_2024_05977_phuong-dong-kinh.xlsx",
        "phu-luc-1_2024_06184_xa-dong-dang.xlsx",
        "phu-luc-1_2024_06385_xa-huu-lung.xlsx",
    ]
    meta = meta_of(out / "phu-luc-1_2024_06184_xa-dong-dang.xlsx")
    assert (meta["unit_code"], meta["unit_name"]) == ("06184", "Xã Đồng Đăng")
    assert meta_of(out / "phu-luc-1_2024.xlsx")["unit_code"] == ""
    # every file of one run carries the same generation time
    assert len({meta_of(p)["generated_at"] for p in out.iterdir()}) == 1


def test_template_with_small_roster_names_every_file(tmp_path: Path, three_units: tuple[Unit, ...]) -> None:
    roster = tmp_path / "hai.csv"
    write_roster(three_units[:2], roster)
    out = tmp_path / "out"
    result = run("template", "bieu-so-lieu", "-o", out, "--period", "2024", "--roster", roster)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Đã ghi {out / 'bieu-so-lieu_2024.xlsx'}\n"
        f"Đã ghi {out / 'bieu-so-lieu_2024_05977_phuong-dong-kinh.xlsx'}\n"
        f"Đã ghi {out / 'bieu-so-lieu_2024_06184_xa-dong-dang.xlsx'}\n"
    )


def test_template_one_unit(tmp_path: Path, roster_csv: Path) -> None:
    out = tmp_path / "out"
    result = run(
        "template", "bieu-so-lieu", "-o", out, "--period", "2024-6T",
        "--roster", roster_csv, "--unit", "05977",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    target = out / "bieu-so-lieu_2024-6T_05977_phuong-dong-kinh.xlsx"
    assert result.output == f"Đã ghi {target}\n"
    assert [p.name for p in out.iterdir()] == [target.name]
    assert meta_of(target)["unit_name"] == "Phường Đông Kinh"


def test_template_unknown_unit(tmp_path: Path, roster_csv: Path) -> None:
    out = tmp_path / "out"
    result = run(
        "template", "bieu-so-lieu", "-o", out, "--period", "2024",
        "--roster", roster_csv, "--unit", "99999",
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == f"Lỗi: Không có đơn vị mã “99999” trong {roster_csv}.\n"
    assert not out.exists()


def test_template_unknown_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("template", "phu-luc-9", "-o", out, "--period", "2024")
    assert result.exit_code == 2
    assert result.stderr == (
        "Lỗi: Không có báo cáo “phu-luc-9”. Các báo cáo hiện có: bieu-so-lieu, phu-luc-1.\n"
    )
    assert_no_traceback(result)
    assert not out.exists()


def test_template_bad_period(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("template", "bieu-so-lieu", "-o", out, "--period", "2024-7T")
    assert result.exit_code == 2
    assert result.stderr == (
        "Lỗi: Kỳ báo cáo “2024-7T” không hợp lệ. Hãy ghi theo dạng 2024-6T "
        "(6 tháng đầu năm) hoặc 2024 (cả năm).\n"
    )
    assert not out.exists()


def test_template_unit_needs_roster(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("template", "bieu-so-lieu", "-o", out, "--unit", "05977")
    assert result.exit_code == 2
    assert result.stderr == "Lỗi: --unit cần đi kèm --roster (danh sách đơn vị có mã đó).\n"
    assert not out.exists()


def test_template_unwritable_output(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    out = tmp_path / "afile" / "sub"
    result = run("template", "bieu-so-lieu", "-o", out, "--period", "2024")
    assert result.exit_code == 2
    assert_no_traceback(result)
    assert result.stderr.startswith(f"Lỗi: Không tạo được thư mục “{out}”")
    assert result.stdout == ""
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]


def test_template_roster_with_duplicate_code(tmp_path: Path) -> None:
    roster = tmp_path / "don-vi.csv"
    roster.write_text(
        "code,name,parent_code,kind\n05977,Phường Đông Kinh,20,phuong\n05977,Xã Đồng Đăng,20,xa\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = run("template", "phu-luc-1", "-o", out, "--period", "2024", "--roster", roster)
    assert result.exit_code == 2
    assert_no_traceback(result)
    assert "mã đơn vị “05977” bị trùng ở dòng 2 và dòng 3" in result.stderr
    assert not out.exists()


def test_template_missing_roster_file(tmp_path: Path) -> None:
    result = run("template", "phu-luc-1", "-o", tmp_path / "out", "--roster", tmp_path / "x.csv")
    assert result.exit_code == 2
    assert str(tmp_path / "x.csv") in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad", ["missing_roster", "output_is_a_file"])
def test_template_path_errors_in_vietnamese(tmp_path: Path, bad: str) -> None:
    (tmp_path / "afile").write_text("not a folder")
    if bad == "missing_roster":
        args = ["-o", tmp_path / "out", "--roster", tmp_path / "x.csv"]
    else:
        args = ["-o", tmp_path / "afile"]
    result = run("template", "phu-luc-1", "--period", "2024", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Lỗi: "), result.stderr
    assert "Error" not in result.stderr


# ------------------------------------------------------------------ roster


def test_roster_suggests_the_province(tmp_path: Path) -> None:
    result = run("roster", "--province", "Lang Sonn", "-o", tmp_path / "never.csv")
    assert result.exit_code == 2
    assert result.stderr.startswith("Lỗi: Không tìm thấy tỉnh/thành phố “Lang Sonn”.")
    assert "Có phải: Lạng Sơn" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_roster_writes_the_province(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    result = run("roster", "--province", "Lạng Sơn", "-o", target)
    assert (result.exit_code, result.output) == (0, f"Đã ghi 65 đơn vị vào {target}.\n")
    data = target.read_bytes()
    assert data.startswith(BOM)
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "code,name,parent_code,kind"
    assert lines[1] == "05977,Phường Đông Kinh,20,phuong"
    assert lines[-1] == ""
    assert len(lines) == 1 + 65 + 1
    units = read_roster(target)
    assert len(units) == 65
    assert {u.parent_code for u in units} == {"20"}
