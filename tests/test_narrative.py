"""The figures for the narrative report: the sheet `Số liệu báo cáo` of the sample inbox's summary
says what the Lạng Sơn report says, in its words and notation; the rules of a sentence (parts in
brackets, units that reported, percents) on a spec's own phrases."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

import mttq_xlsx
from mttq_xlsx.narrative import sentence
from mttq_xlsx.spec import Phrase, load_spec
from tools import sample_plan as plan

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHEET = "Số liệu báo cáo"
BSL = load_spec("bieu-so-lieu")


@pytest.fixture(scope="module")
def result() -> mttq_xlsx.Consolidation:
    return mttq_xlsx.consolidate(
        SAMPLES / "inbox", roster=SAMPLES / "don-vi.csv", period=plan.PERIOD, deadline=plan.DEADLINE
    )


@pytest.fixture(scope="module")
def rows(result: mttq_xlsx.Consolidation, tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    target = mttq_xlsx.write_summary(result, tmp_path_factory.mktemp("narrative") / "tong-hop.xlsx")
    ws = openpyxl.load_workbook(target)[SHEET]
    return [tuple(c.value for c in row) for row in ws.iter_rows()]


def _sentences(rows: list[tuple]) -> list[str]:
    return [r[1] for r in rows if isinstance(r[0], int) and r[1]]


def test_the_sheet_says_what_the_province_report_says(rows: list[tuple]) -> None:
    said = "\n".join(_sentences(rows))
    # Lạng Sơn, first half of 2024: “hòa giải thành 739/1.014 vụ việc, đạt 72,87%” (the report
    # truncated 72,8797…%; the summary rounds, as its 0,00% cells show it)
    assert "Các tổ hòa giải đã hòa giải thành 739/1.014 vụ việc, đạt 72,88%." in said
    assert "Tiếp tục duy trì 1.646/1.646 khu dân cư có tổ hòa giải, đạt 100%" in said
    assert "tổ chức 1.767 cuộc với 140.278 lượt người tham gia." in said
    assert "Ban Giám sát đầu tư của cộng đồng giám sát 125 cuộc." in said
    assert "vận động Nhân dân hiến 59.482 m² đất" in said
    assert "xây dựng nông thôn mới 828,864 triệu đồng." in said
    assert "Thăm hỏi, tặng quà cho 2.983 người với tổng trị giá 1.718 triệu đồng." in said


def test_parts_in_brackets_and_the_units_that_reported(rows: list[tuple]) -> None:
    by_text = {r[1]: r for r in rows if isinstance(r[0], int)}
    # Văn Lãng left the state funding blank: 10 of the 11 districts gave it
    funding = next(t for t in by_text if t.startswith("Kinh phí Nhà nước cấp"))
    assert funding == (
        "Kinh phí Nhà nước cấp cho Ủy ban MTTQ Việt Nam các cấp thực hiện Cuộc vận động là "
        "1.952,4 triệu đồng (cấp huyện 286; cấp xã 764; Ban công tác Mặt trận khu dân cư 902,4) "
        "(10/11 đơn vị báo cáo)."
    )
    assert by_text[funding][2] == "10/11"
    assert by_text[funding][3] == "Tổng kinh phí Nhà nước cấp"
    complete = next(t for t in by_text if "hòa giải thành" in t)
    assert "đơn vị báo cáo" not in complete and by_text[complete][2] == "11/11"


def test_sentences_under_the_headings_of_the_report(rows: list[tuple]) -> None:
    headings = [
        r[0] for r in rows if isinstance(r[0], str) and r[0][:2] in {"I.", "II", "1.", "2.", "3.", "4.", "5."}
    ]
    assert headings[0] == "I. CÔNG TÁC TRIỂN KHAI THỰC HIỆN"
    assert headings[1] == "II. KẾT QUẢ THỰC HIỆN CUỘC VẬN ĐỘNG"
    assert [h[:2] for h in headings[2:]] == ["1.", "2.", "3.", "4.", "5."]
    assert not any(h.startswith("III.") for h in headings)  # no sentence of its own: not on the sheet
    texts = [r[0] if isinstance(r[0], str) else r[1] for r in rows]
    fifth = texts.index(headings[-1])
    assert any("hòa giải thành 739/1.014" in str(t) for t in texts[fifth:])
    title = next(t for t in texts if isinstance(t, str) and t.startswith("Kết quả thực hiện Cuộc vận động"))
    assert title.endswith("6 tháng đầu năm 2024")


def test_every_phrase_of_the_report_is_on_the_sheet(
    result: mttq_xlsx.Consolidation, rows: list[tuple]
) -> None:
    phrases = [p for s in BSL.sections for p in s.phrases]
    assert len(_sentences(rows)) == len(phrases) == len(result.narrative[0].sentences)
    for said in _sentences(rows):
        assert "{" not in said and said.endswith(".")


# ---------------------------------------------------------------------- the rules of a sentence
TOTALS = {"kp_tong": 1952.4, "kp_cap_huyen": 286, "kp_cap_xa": 764, "kp_ban_ctmt": None}
FUNDING = Phrase(
    "Kinh phí {kp_tong} triệu đồng", ("cấp huyện {kp_cap_huyen}", "cấp xã {kp_cap_xa}", "Ban {kp_ban_ctmt}")
)


def test_a_part_without_a_figure_is_left_out() -> None:
    said = sentence(BSL, FUNDING, TOTALS, {"kp_tong": 11}, 11)
    assert said is not None and said.text == "Kinh phí 1.952,4 triệu đồng (cấp huyện 286, cấp xã 764)."


def test_parts_with_a_decimal_comma_are_separated_by_semicolons() -> None:
    totals = TOTALS | {"kp_cap_huyen": 286.5}
    said = sentence(BSL, FUNDING, totals, {"kp_tong": 11}, 11)
    assert said is not None and said.text == "Kinh phí 1.952,4 triệu đồng (cấp huyện 286,5; cấp xã 764)."


def test_the_fewest_units_that_gave_a_figure_are_said() -> None:
    phrase = Phrase("Hòa giải thành {hoa_giai_thanh}/{hoa_giai_so_vu} vụ việc, đạt {hoa_giai_ty_le}")
    totals = {"hoa_giai_thanh": 739, "hoa_giai_so_vu": 1014, "hoa_giai_ty_le": 739 / 1014}
    said = sentence(BSL, phrase, totals, {"hoa_giai_thanh": 9, "hoa_giai_so_vu": 10, "hoa_giai_ty_le": 9}, 11)
    assert said is not None
    assert said.text == "Hòa giải thành 739/1.014 vụ việc, đạt 72,88% (9/11 đơn vị báo cáo)."
    assert (said.reported, said.expected) == (9, 11)


def test_a_whole_percent_is_written_without_decimals() -> None:
    phrase = Phrase(
        "Có {kdc_co_to_hoa_giai}/{tong_kdc} khu dân cư có tổ hòa giải, đạt {kdc_co_to_hoa_giai_ty_le}"
    )
    totals = {"kdc_co_to_hoa_giai": 1646, "tong_kdc": 1646, "kdc_co_to_hoa_giai_ty_le": 1.0}
    said = sentence(BSL, phrase, totals, dict.fromkeys(totals, 4), 4)
    assert said is not None and said.text == "Có 1.646/1.646 khu dân cư có tổ hòa giải, đạt 100%."


def test_a_sentence_needs_every_figure_of_its_text() -> None:
    phrase = Phrase("Có {tt_so_cuoc} cuộc với {tt_so_luot_nguoi} lượt người")
    half = sentence(BSL, phrase, {"tt_so_cuoc": 12, "tt_so_luot_nguoi": None}, {"tt_so_cuoc": 3}, 4)
    assert half is not None and half.text == ""
    assert [f.id for f in half.missing] == ["tt_so_luot_nguoi"]
    assert sentence(BSL, phrase, {}, {}, 4) is None  # nobody gave any: nothing to say


def test_a_report_nobody_filled_in_has_a_sheet_that_says_so(tmp_path: Path) -> None:
    empty = mttq_xlsx.consolidate(tmp_path, period="2024")
    target = mttq_xlsx.write_summary(empty, tmp_path.parent / f"{tmp_path.name}-tong-hop.xlsx")
    ws = openpyxl.load_workbook(target)[SHEET]
    values = [c.value for row in ws.iter_rows() for c in row if c.value]
    assert "Chưa nhận được báo cáo nào." in values
    assert values[1].startswith("Kỳ báo cáo: năm 2024.")
