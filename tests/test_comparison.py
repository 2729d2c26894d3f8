"""Last period (`--previous`): read from its JSON report or its summary workbook, the sheet
`So sánh`, and the `outlier` warnings, on the sample inbox against samples/ky-truoc.json and on
small made-up runs for each rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

import mttq_xlsx
from mttq_xlsx.cli import main
from mttq_xlsx.codes import WARNING
from mttq_xlsx.consolidation import Consolidation
from mttq_xlsx.errors import UsageError
from mttq_xlsx.model import FileRecord, Submission
from mttq_xlsx.periods import parse_period
from mttq_xlsx.previous import Previous, read_previous
from mttq_xlsx.spec import load_spec
from tools import make_samples
from tools import sample_plan as plan

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
PREVIOUS = SAMPLES / make_samples.PREVIOUS_FILE
BSL = load_spec("bieu-so-lieu")


def _samples(**kw: Any) -> Consolidation:
    return mttq_xlsx.consolidate(
        SAMPLES / "inbox", roster=SAMPLES / "don-vi.csv", period=plan.PERIOD, deadline=plan.DEADLINE, **kw
    )


@pytest.fixture(scope="module")
def compared() -> Consolidation:
    return _samples(previous=PREVIOUS)


@pytest.fixture(scope="module")
def summary(compared: Consolidation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mttq_xlsx.write_summary(compared, tmp_path_factory.mktemp("so-sanh") / "tong-hop.xlsx")


# ---------------------------------------------------------------------- the samples
def test_the_samples_give_a_few_believable_outliers(compared: Consolidation) -> None:
    outliers = [i for i in compared.issues if i.code == "outlier"]
    assert {(i.unit_code, i.field_id) for i in outliers} == {*plan.PREVIOUS_SLIPS, *plan.PEER_OUTLIERS}
    assert all(i.severity == WARNING and i.sheet == "Số liệu" and i.cell for i in outliers)
    messages = {(i.unit_code, i.field_id): i.message for i in outliers}
    assert messages[("186", "tt_so_luot_nguoi")].endswith(
        "(Số lượt người tham gia tuyên truyền): 18.716, gấp 10,0 lần kỳ trước "
        "(6 tháng đầu năm 2023: 1.872); hãy kiểm tra lại số liệu với đơn vị."
    )
    assert "95,5, chỉ bằng 10% kỳ trước (6 tháng đầu năm 2023: 955)" in messages[("181", "ntm_doanh_nghiep")]
    assert (
        "96,59% (85/88), cao hơn hẳn các đơn vị khác (trung vị 83,13% của 11 đơn vị)"
        in (messages[("178", "kdc_van_hoa_ty_le")])
    )
    plain = _samples()
    assert [i for i in compared.issues if i.code != "outlier"] == plain.issues  # nothing else changes
    assert not any(i.code == "outlier" for i in plain.issues) and plain.comparison == []


def test_the_outliers_are_in_the_json_report_and_on_the_checks_sheet(
    compared: Consolidation, summary: Path, tmp_path: Path
) -> None:
    report = mttq_xlsx.write_json_report(compared, tmp_path / "bao-cao.json")  # validated by the plugin
    assert sum('"code": "outlier"' in line for line in report.read_text(encoding="utf-8").splitlines()) == 5
    ws = openpyxl.load_workbook(summary)["Kiểm tra"]
    codes = [row[8] for row in ws.iter_rows(values_only=True)]
    assert codes.count("outlier") == 5


def test_the_comparison_sheet(summary: Path) -> None:
    wb = openpyxl.load_workbook(summary)
    assert wb.sheetnames[3:6] == ["Số liệu báo cáo", "So sánh", "Biểu đồ"]
    values = openpyxl.load_workbook(summary, data_only=True)["So sánh"]
    ws = wb["So sánh"]
    header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "STT")
    assert [ws.cell(header, c).value for c in range(4, 8)] == [
        "Kỳ này (6 tháng đầu năm 2024)",
        "Kỳ trước (6 tháng đầu năm 2023)",
        "Tăng (+), giảm (−)",
        "Tăng, giảm so với kỳ trước (%)",
    ]
    then = read_previous(PREVIOUS).totals["bieu-so-lieu"]
    rows = {ws.cell(r, 2).value: r for r in range(header + 1, ws.max_row + 1)}
    row = rows["Số lượt người tham gia tuyên truyền"]
    assert values.cell(row, 4).value == 140278
    assert values.cell(row, 5).value == then["tt_so_luot_nguoi"]
    assert values.cell(row, 6).value == 140278 - then["tt_so_luot_nguoi"]
    assert values.cell(row, 7).value == pytest.approx(
        (140278 - then["tt_so_luot_nguoi"]) / then["tt_so_luot_nguoi"]
    )
    assert ws.cell(row, 6).value == f'=IF(OR(D{row}="",E{row}=""),"",D{row}-E{row})'
    ratio = rows["Tỷ lệ hòa giải thành công"]
    assert ws.cell(ratio, 3).value == "%"
    assert values.cell(ratio, 6).value == pytest.approx(739 / 1014 - then["hoa_giai_ty_le"])
    assert values.cell(ratio, 7).value is None  # a ratio's change is in points, not in percent
    assert [values.cell(row, c).value for c in (8, 9)] == ["11", "11"]


def test_last_period_from_its_summary_is_what_its_json_report_says(tmp_path: Path) -> None:
    run = make_samples.previous_run(tmp_path / "hop-thu")
    from_json = read_previous(mttq_xlsx.write_json_report(run, tmp_path / "ky-truoc.json"))
    for per_unit in ("sheets", "rows"):
        workbook = mttq_xlsx.write_summary(run, tmp_path / f"ky-truoc-{per_unit}.xlsx", per_unit=per_unit)
        from_xlsx = read_previous(workbook)
        assert from_xlsx.period == from_json.period == "6 tháng đầu năm 2023"
        # a workbook keeps 15 significant digits of a float: the same figures, to the last digit but one
        assert from_xlsx.totals.keys() == from_json.totals.keys()
        for report_id, totals in from_json.totals.items():
            assert from_xlsx.totals[report_id] == pytest.approx(totals, rel=1e-14)
        assert from_xlsx.units.keys() == from_json.units.keys()
        for report_id, units in from_json.units.items():
            assert from_xlsx.units[report_id].keys() == units.keys()
            for code, figures in units.items():
                assert from_xlsx.units[report_id][code] == pytest.approx(figures, rel=1e-14)
    assert from_json.units["bieu-so-lieu"]["186"]["tt_so_luot_nguoi"] == 1872


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("khong-co.json", None, "Không thấy tệp kỳ trước"),
        ("don-vi.csv", "code,name\n178,Thành phố Lạng Sơn\n", "Không đọc được số liệu kỳ trước từ tệp"),
        ("khac.json", '{"schema": "khac/1"}', "không phải báo cáo JSON của mttq-xlsx"),
        ("hong.json", '{"schema": ', "Không đọc được số liệu kỳ trước từ tệp"),
    ],
)
def test_a_file_that_is_not_last_period_is_refused_before_reading(
    tmp_path: Path, name: str, content: str | None, says: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=says):
        read_previous(path)
    out = tmp_path / "tong-hop.xlsx"
    result = CliRunner().invoke(
        main, ["consolidate", str(SAMPLES / "inbox"), "-o", str(out), "--previous", str(path)]
    )
    assert result.exit_code == 2
    assert says in result.output and name in result.output and "--report" in result.output
    assert not out.exists()


def test_a_units_workbook_is_not_a_summary(tmp_path: Path) -> None:
    unit_file = SAMPLES / "inbox" / "Bieu so lieu 6 thang 2024 - TP Lang Son.xlsx"
    with pytest.raises(UsageError, match="không có trang số liệu nào của bảng tổng hợp mttq-xlsx"):
        read_previous(unit_file)


def test_the_command_with_previous_and_docx(tmp_path: Path) -> None:
    out, docx = tmp_path / "tong-hop.xlsx", tmp_path / "bao-cao.docx"
    args = ["consolidate", SAMPLES / "inbox", "-o", out, "--roster", SAMPLES / "don-vi.csv"]
    args += ["--period", "2024-6T", "--deadline", "2024-06-10", "--previous", PREVIOUS, "--docx", docx]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    assert "Lỗi: 5; cảnh báo: 7." in result.output  # 2 warnings of the inbox, 5 outliers
    assert f"Bản nháp báo cáo Word: {docx}" in result.output
    assert "So sánh" in openpyxl.load_workbook(out).sheetnames and docx.stat().st_size > 0


# ---------------------------------------------------------------------- the rules, one by one
def _run(units: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]] | None = None) -> Consolidation:
    """A run of bieu-so-lieu whose units sent `units` (code -> values), compared with `before`."""
    cells = {f.id: ("Số liệu", f"D{n}") for n, f in enumerate(BSL.fields, 10)}
    subs = []
    for code, values in units.items():
        record = FileRecord(
            f"{code}.xlsx", "0" * 64, report_id=BSL.id, unit_code=code, unit_name=f"Xã {code}"
        )
        subs.append(
            Submission(record, BSL.id, BSL.version, "2024-6T", code, f"Xã {code}", dict(values), cells)
        )
    run = Consolidation(parse_period("2024-6T"), [s.file for s in subs], [], subs, [])
    run.compare_with(Previous("ky-truoc.json", "năm 2023", {}, {BSL.id: before or {}}))
    return run


def _flagged(run: Consolidation) -> set[tuple[str, str]]:
    return {(i.unit_code, i.field_id) for i in run.issues if i.code == "outlier"}


@pytest.mark.parametrize(
    ("then", "now", "flagged"),
    [
        (10, 40, True),  # four times as many, 30 more
        (3, 12, False),  # four times as many, but only 9 more
        (100, 250, False),  # two and a half times: a busy half-year
        (100, 30, True),  # less than a third, 70 fewer
        (0, 25, True),
        (0, 3, False),
        (25, 0, True),
        (40, None, False),  # not reported this time: nothing to compare
    ],
)
def test_against_the_units_last_period(then: int, now: int | None, flagged: bool) -> None:
    run = _run({"01": {"tt_so_cuoc": now}}, {"01": {"tt_so_cuoc": then}})
    assert _flagged(run) == ({("01", "tt_so_cuoc")} if flagged else set())


def test_a_unit_new_this_period_and_derived_fields_are_not_compared_with_last_period() -> None:
    run = _run({"01": {"kp_cap_xa": 500, "kp_tong": 500}, "02": {"tt_so_cuoc": 900}}, {"01": {"kp_tong": 5}})
    assert _flagged(run) == set()


def _kdc(code_rates: dict[str, tuple[int, int]]) -> dict[str, dict[str, Any]]:
    return {code: {"kdc_van_hoa": num, "tong_kdc": den} for code, (num, den) in code_rates.items()}


def test_against_the_other_units_far_and_beyond_the_score() -> None:
    rates = {f"{n:02}": (80 + n % 4, 100) for n in range(10)}  # 80–83%
    run = _run(_kdc(rates | {"98": (90, 100), "99": (97, 100)}))
    # median 81,5%, MAD 1,5 points: 90% scores 3,8, but is less than 10 points away
    assert _flagged(run) == {("99", "kdc_van_hoa_ty_le")}
    (issue,) = (i for i in run.issues if i.code == "outlier")
    assert "97% (97/100), cao hơn hẳn các đơn vị khác (trung vị 81,50% của 12 đơn vị)" in issue.message


def test_when_most_units_have_the_same_ratio() -> None:
    same = _kdc({f"{n:02}": (50, 50) for n in range(10)})
    assert _flagged(_run(same)) == set()  # MAD 0 and mean deviation 0: nobody stands out
    assert _flagged(_run(same | _kdc({"99": (47, 50)}))) == set()  # 94%: 6 points below
    assert _flagged(_run(same | _kdc({"99": (45, 50)}))) == {("99", "kdc_van_hoa_ty_le")}  # 90%: 10 points


def test_zero_heavy_ratios_few_units_and_small_denominators_are_not_compared() -> None:
    zeros = {f"{n:02}": {"ho_ngheo_ho_tro_nha": 0, "ho_ngheo": 40} for n in range(10)}
    one = {"99": {"ho_ngheo_ho_tro_nha": 20, "ho_ngheo": 40}}
    assert _flagged(_run(zeros | one)) == set()  # more than half of them are 0: a rare event
    assert _flagged(_run(_kdc({"01": (80, 100), "02": (81, 100), "03": (82, 100), "99": (10, 100)}))) == set()
    small = _kdc({f"{n:02}": (80 + n % 3, 100) for n in range(10)} | {"99": (1, 5)})
    assert _flagged(_run(small)) == set()  # 20% of 5 residential areas is not a rate to compare
