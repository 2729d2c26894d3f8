"""The Word draft (`--docx`) of the sample inbox: read back with python-docx (headings, sentences,
appendix, fonts) and converted to PDF by real LibreOffice Writer."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import docx
import pytest

import mttq_xlsx
from mttq_xlsx.errors import UsageError
from mttq_xlsx.spec import load_spec
from tools import libreoffice as lo
from tools import sample_plan as plan

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
MEDIATION = "Các tổ hòa giải đã hòa giải thành 739/1.014 vụ việc, đạt 72,88%."


@pytest.fixture(scope="module")
def draft(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = mttq_xlsx.consolidate(
        SAMPLES / "inbox", roster=SAMPLES / "don-vi.csv", period=plan.PERIOD, deadline=plan.DEADLINE
    )
    return mttq_xlsx.write_docx(result, tmp_path_factory.mktemp("docx") / "bao-cao.docx")


def test_the_outline_with_the_sentences_under_its_headings(draft: Path) -> None:
    document = docx.Document(str(draft))
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs if p.text]
    spec = load_spec("bieu-so-lieu")
    headings = [(style, text) for style, text in paragraphs if style.startswith("Heading")]
    assert headings == [(f"Heading {h.level}", h.text) for h in spec.outline]
    texts = [text for _, text in paragraphs]
    assert texts[:2] == [
        "BÁO CÁO",
        "Kết quả thực hiện Cuộc vận động “Toàn dân đoàn kết xây dựng nông thôn mới, đô thị văn minh” "
        "6 tháng đầu năm 2024",
    ]
    fifth = texts.index(spec.outline[6].text)  # 5. Đoàn kết phát huy dân chủ …
    assert MEDIATION in texts[fifth : texts.index("III. ĐÁNH GIÁ CHUNG")]
    first = texts.index("I. CÔNG TÁC TRIỂN KHAI THỰC HIỆN")
    assert any("tổ chức 1.767 cuộc với 140.278 lượt người tham gia." in t for t in texts[first:fifth])
    # a heading the figures say nothing about is left for the office to write
    assert texts[texts.index("1. Ưu điểm") + 1] == "(Đơn vị viết tiếp nội dung phần này.)"


def test_the_appendix_is_the_totals_table(draft: Path) -> None:
    document = docx.Document(str(draft))
    (table,) = document.tables
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0] == ["STT", "Nội dung", "Đơn vị tính", "Tổng số", "Số đơn vị báo cáo"]
    assert rows[1] == ["I. Số liệu chung"] * 5  # a merged row
    by_label = {row[1]: row for row in rows}
    assert by_label["Tỷ lệ hòa giải thành công"][2:] == ["%", "739/1.014 = 72,88%", "11/11"]
    assert by_label["Số lượt người tham gia tuyên truyền"][2:] == ["lượt người", "140.278", "11/11"]
    assert by_label["Tổng kinh phí Nhà nước cấp"][2:] == ["triệu đồng", "1.952,4", "10/11"]


def test_official_document_look(draft: Path) -> None:
    document = docx.Document(str(draft))
    section = document.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.left_margin.cm, 1) == 3.0
    for name in ("Normal", "Heading 1", "Heading 2"):
        style = document.styles[name]
        assert style.font.name == "Times New Roman" and style.font.size.pt == 14
        assert not any("Theme" in key for key in style.element.rPr.rFonts.attrib)


def test_never_written_into_the_inbox(tmp_path: Path) -> None:
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    result = mttq_xlsx.consolidate(inbox, period="2024")
    with pytest.raises(UsageError, match="hộp thư chỉ được đọc"):
        mttq_xlsx.write_docx(result, inbox / "bao-cao.docx")
    empty = docx.Document(str(mttq_xlsx.write_docx(result, tmp_path / "bao-cao.docx")))
    assert [p.text for p in empty.paragraphs if p.text] == [
        "BÁO CÁO",
        "Chưa nhận được báo cáo nào (năm 2024).",
    ]


@pytest.mark.libreoffice
def test_libreoffice_writer_opens_it(draft: Path, tmp_path: Path) -> None:
    reason = lo.writer_available()
    if reason is not None:
        pytest.skip(f"LibreOffice Writer not usable here: {reason}")
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils (pdftotext) not installed")
    pdf = lo.convert(draft, "pdf", tmp_path)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.count("\f")
    flat = re.sub(r"\s+", " ", text)
    assert 3 <= pages <= 10
    assert MEDIATION in flat
    assert "1.646/1.646 khu dân cư có tổ hòa giải, đạt 100%" in flat
    assert "PHỤ LỤC" in flat and "739/1.014 = 72,88%" in flat
