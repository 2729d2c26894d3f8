"""The Word draft of the narrative report (`--docx`), written with python-docx: the headings of the
report's outline, the sentences of `Consolidation.narrative` under them, and the totals as an
appendix table, in the layout of an official document (A4, Times New Roman 14, margins 2/2/3/1,5 cm).
"""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from . import __version__
from .consolidation import Consolidation, TotalLine
from .model import is_number
from .narrative import ReportText, written
from .output import atomic_path
from .style import FONT

BODY_SIZE = Pt(14)
TABLE_SIZE = Pt(12)
PLACEHOLDER = "(Đơn vị viết tiếp nội dung phần này.)"
APPENDIX_COLUMNS = (
    ("STT", 1.2),
    ("Nội dung", 8.5),
    ("Đơn vị tính", 2.2),
    ("Tổng số", 3.6),
    ("Số đơn vị báo cáo", 2.0),
)


def write_docx(result: Consolidation, target: Path) -> Path:
    """Write the Word draft of `result` to `target` atomically and return `target`."""
    doc = Document()
    _page_and_styles(doc)
    props = doc.core_properties
    props.title = "Báo cáo (bản nháp)"
    props.subject = result.period.label
    props.author = "mttq-xlsx"
    props.comments = f"mttq-xlsx {__version__}"
    props.created = props.modified = datetime.combine(result.period.end, time())
    _centered(doc, "BÁO CÁO", bold=True, size=Pt(15))
    if not result.narrative:
        _centered(doc, f"Chưa nhận được báo cáo nào ({result.period.label}).", italic=True)
    for text in result.narrative:
        _centered(doc, text.title, bold=True)
        _note(doc, result, text)
        _outline(doc, text)
    if result.narrative:
        _appendix(doc, result)
    with atomic_path(target) as tmp:
        doc.save(str(tmp))
    return target


def _page_and_styles(doc: Any) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    for name in ("Normal", "Heading 1", "Heading 2"):
        style = doc.styles[name]
        style.font.name = FONT
        style.font.size = BODY_SIZE
        style.font.color.rgb = RGBColor(0, 0, 0)
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(theme), None)  # a theme font would win over Times New Roman
        fonts.set(qn("w:cs"), FONT)
    for name in ("Heading 1", "Heading 2"):
        style = doc.styles[name]
        style.font.bold = True
        style.font.italic = False
        style.paragraph_format.space_before = Pt(6)
        style.paragraph_format.space_after = Pt(3)
    body = doc.styles["Normal"].paragraph_format
    body.space_after = Pt(6)
    body.line_spacing = 1.15


def _centered(
    doc: Any, text: str, *, bold: bool = False, italic: bool = False, size: Pt | None = None
) -> None:
    paragraph = doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(text)
    run.bold, run.italic = bold, italic
    if size:
        run.font.size = size


def _note(doc: Any, result: Consolidation, text: ReportText) -> None:
    units = len(result.received(text.spec.id))
    paragraph = doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    run = paragraph.add_run(
        f"Bản nháp do mttq-xlsx lập từ báo cáo của {units} đơn vị; các câu đã điền số liệu tổng hợp "
        "(bảng số liệu ở phụ lục). Hãy viết tiếp, chỉnh sửa trước khi trình ký."
    )
    run.italic = True


def _outline(doc: Any, text: ReportText) -> None:
    parts = text.parts
    for n, part in enumerate(parts):
        doc.add_heading(part.heading.text, level=part.heading.level)
        for sentence in part.sentences:
            if sentence.text:
                paragraph = doc.add_paragraph(sentence.text)
                paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
                paragraph.paragraph_format.first_line_indent = Cm(1)
        has_sub = n + 1 < len(parts) and parts[n + 1].heading.level > part.heading.level
        if not any(s.text for s in part.sentences) and not has_sub:
            doc.add_paragraph(PLACEHOLDER).runs[0].italic = True


def _appendix(doc: Any, result: Consolidation) -> None:
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    _centered(doc, "PHỤ LỤC", bold=True)
    _centered(doc, f"SỐ LIỆU TỔNG HỢP {result.period.label.upper()}", bold=True)
    for text in result.narrative:
        _centered(doc, text.spec.title, italic=True)
        table = doc.add_table(rows=1, cols=len(APPENDIX_COLUMNS))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        rows = [table.rows[0]]
        for cell, (title, _) in zip(table.rows[0].cells, APPENDIX_COLUMNS, strict=True):
            _cell(cell, title, bold=True, center=True)
        for section, lines in result.total_lines(text.spec):
            row = table.add_row()
            _cell(row.cells[0].merge(row.cells[-1]), section.title, bold=True)
            for stt, line in enumerate(lines, 1):
                rows.append(table.add_row())
                cells = rows[-1].cells
                _cell(cells[0], str(stt), center=True)
                _cell(cells[1], line.field.label)
                _cell(cells[2], "%" if line.field.type == "ratio" else line.field.unit, center=True)
                _cell(cells[3], _total(line), center=True)
                _cell(cells[4], f"{line.reported}/{line.units}", center=True)
        for row in rows:  # Word takes the widths from the cells, LibreOffice from the columns
            for cell, (_, width) in zip(row.cells, APPENDIX_COLUMNS, strict=True):
                cell.width = Cm(width)
        for column, (_, width) in zip(table.columns, APPENDIX_COLUMNS, strict=True):
            column.width = Cm(width)


def _total(line: TotalLine) -> str:
    if line.explain:
        return line.explain
    return written(line.field, line.value) if is_number(line.value) else ""


def _cell(cell: Any, text: str, *, bold: bool = False, center: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.line_spacing = 1.0
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.size = TABLE_SIZE
