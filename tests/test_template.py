"""Templates written by mttq_xlsx.template, reopened with openpyxl and python-calamine.

Every field of both reports is checked at the cell the file's own `_mttq` field map
names: protection, tint, validation, formula, cached value, number format.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries, rows_from_range
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

import mttq_xlsx
from mttq_xlsx import __version__
from mttq_xlsx.errors import OutputError
from mttq_xlsx.fieldmap import LISTS_SHEET, META_SHEET
from mttq_xlsx.periods import Period, parse_period
from mttq_xlsx.roster import Unit, all_communes
from mttq_xlsx.spec import Field, Spec, load_spec, report_ids
from mttq_xlsx.template import TemplateRequest, template_filename, write_template, write_unit_templates

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = ROOT / "workbook_templates"
PERIOD = parse_period("2024-6T")
GENERATED_AT = datetime(2024, 5, 2, 9, 30, 15)
TINT = "FFFFF2CC"
FONT = "Times New Roman"
MAP_COLUMNS = ("field_id", "form_id", "sheet", "cell", "type")
NUMBER_FORMATS = {
    "count": "#,##0",
    "amount": "#,##0.00",
    "date": "dd/mm/yyyy",
    "text": "@",
    "list": "@",
    "unit": "@",
    "ratio": "0.00%",
    "tally": "#,##0",
}
VIETNAMESE = re.compile(r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]")
SHEETS = {
    "phu-luc-1": ["Thông tin", "Biểu 1", "Biểu 2", "Biểu 3", "Biểu 4", "Biểu 5"],
    "bieu-so-lieu": ["Thông tin", "Số liệu"],
}
CASES = [
    ("bieu-so-lieu", False),
    ("bieu-so-lieu", True),
    ("phu-luc-1", False),
    ("phu-luc-1", True),
]


@dataclass
class Made:
    """One written template, opened three ways."""

    report: Spec
    unit: Unit | None
    roster: tuple[Unit, ...]
    path: Path
    wb: Workbook
    values: Workbook  # openpyxl data_only
    calamine: CalamineWorkbook

    @property
    def meta(self) -> dict[str, str]:
        return read_meta(self.wb)[0]

    @property
    def field_map(self) -> dict[str, tuple[str, ...]]:
        return read_meta(self.wb)[1]

    def cells(self, field_id: str) -> tuple[Worksheet, list[str]]:
        """The sheet and every cell address of a field, from the file's own field map."""
        _form, sheet, ref, _type = self.field_map[field_id]
        return self.wb[sheet], cells_of(ref)

    def locked_by_office(self) -> dict[str, str]:
        """Cover fields the office fills in, with the value they must show."""
        out = {"ky_bao_cao": PERIOD.label, "ma_don_vi": self.unit.code if self.unit else ""}
        if self.unit:
            out["don_vi"] = self.unit.name
        return out


def read_meta(wb: Workbook) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    rows = list(wb[META_SHEET].iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r[0] == "field_id")
    meta = {r[0]: r[1] or "" for r in rows[:header_at] if r[0]}
    fmap = {r[0]: tuple(r[1:5]) for r in rows[header_at + 1 :] if r[0]}
    return meta, fmap


def cells_of(ref: str) -> list[str]:
    return [c for row in rows_from_range(ref) for c in row]


def validations_at(ws: Worksheet, coord: str) -> list[DataValidation]:
    return [dv for dv in ws.data_validations.dataValidation if coord in dv.sqref]


def range_values(wb: Workbook, formula: str) -> list[str]:
    """The values a list validation's source (`_ds!$C$2:$C$4`) points at."""
    sheet, ref = formula.lstrip("=").split("!")
    return [wb[sheet][c].value for c in cells_of(ref.replace("$", ""))]


def excel_serial(day: date) -> int:
    return (day - date(1899, 12, 30)).days


def quoted(sheet: str, cell: str, here: str) -> str:
    return cell if sheet == here else f"'{sheet}'!{cell}"


def make(report_id: str, target: Path, unit: Unit | None, roster: tuple[Unit, ...]) -> Made:
    report = load_spec(report_id)
    request = TemplateRequest(report, PERIOD, unit, roster, GENERATED_AT)
    path = write_template(request, target / template_filename(report, PERIOD, unit))
    return Made(
        report,
        unit,
        roster,
        path,
        openpyxl.load_workbook(path),
        openpyxl.load_workbook(path, data_only=True),
        CalamineWorkbook.from_path(str(path)),
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, three_units: tuple[Unit, ...]) -> dict:
    out = {}
    for report_id, prefilled in CASES:
        folder = tmp_path_factory.mktemp(f"{report_id}-{'unit' if prefilled else 'chung'}")
        unit = three_units[0] if prefilled else None
        out[report_id, prefilled] = make(report_id, folder, unit, three_units)
    return out


@pytest.fixture(params=CASES, ids=[f"{r}-{'dien-san' if p else 'chung'}" for r, p in CASES])
def case(request: pytest.FixtureRequest, made: dict) -> Made:
    return made[request.param]


def input_fields(case: Made) -> list[Field]:
    locked = case.locked_by_office()
    return [f for f in case.report.fields if f.is_input and f.id not in locked]


def derived_fields(case: Made) -> list[Field]:
    return [f for f in case.report.fields if not f.is_input]


# ------------------------------------------------------------------ field map


def test_field_map_lists_every_field(case: Made) -> None:
    fmap = case.field_map
    assert list(fmap) == [f.id for f in case.report.fields]
    sheets = {form.id: form.sheet for form in case.report.all_forms}
    for f in case.report.fields:
        form_id, sheet, ref, type_ = fmap[f.id]
        assert (form_id, sheet, type_) == (f.form_id, sheets[f.form_id], f.type), f.id
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        assert min_col == max_col, f.id
        assert max_row - min_row + 1 == (f.rows if f.table else 1), f.id


def test_field_map_header(case: Made) -> None:
    rows = list(case.wb[META_SHEET].iter_rows(values_only=True))
    header = next(r for r in rows if r[0] == "field_id")
    assert header[:5] == MAP_COLUMNS


def test_table_ranges(made: dict) -> None:
    fmap = made["phu-luc-1", False].field_map
    tables = {fid: ref for fid, (_f, _s, ref, _t) in fmap.items() if "." in fid}
    first, last = {}, {}
    for fid, ref in tables.items():
        _c, first[fid], _c2, last[fid] = range_boundaries(ref)
    assert {last[f] - first[f] + 1 for f in tables if f.startswith("van_ban.")} == {20}
    assert {last[f] - first[f] + 1 for f in tables if f.startswith("mo_hinh_tieu_bieu.")} == {15}
    # the columns of one table share their rows
    assert len({first[f] for f in tables if f.startswith("van_ban.")}) == 1
    assert len({first[f] for f in tables if f.startswith("mo_hinh_tieu_bieu.")}) == 1


def test_no_two_fields_share_a_cell(case: Made) -> None:
    seen: dict[tuple[str, str], str] = {}
    for fid, (_form, sheet, ref, _type) in case.field_map.items():
        for cell in cells_of(ref):
            assert (sheet, cell) not in seen, f"{fid} and {seen[sheet, cell]} share {cell}"
            seen[sheet, cell] = fid


def test_label_cells(case: Made) -> None:
    rows = list(case.wb[META_SHEET].iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r[0] == "field_id")
    for row in rows[header_at + 1 :]:
        fid, _form, sheet, ref, _type, label_cell, label = row[:7]
        f = case.report.field_index[fid]
        ws = case.wb[sheet]
        assert ws[label_cell].value == label, fid  # the reader finds moved rows by this text
        if f.type != "ratio" and f.form_id not in ("bieu-4", "bieu-5"):
            assert label == f.label, fid  # grids and ratios are labelled by their row
        label_row = range_boundaries(label_cell)[1]
        if f.table:  # the column header just above the table
            assert label_row == range_boundaries(ref)[1] - 1
            assert ws[label_cell].value == f.label
        else:
            assert label_row == range_boundaries(ref)[1], fid
    label_cells = {r[0]: r[5] for r in rows[header_at + 1 :]}
    for form in case.report.all_forms:
        for section in form.sections:
            for block in section.blocks:
                if block.kind != "fields":
                    continue
                for f in block.fields:
                    text = case.wb[form.sheet][label_cells[f.id]].value
                    if f.type == "ratio" and text != f.label:  # shown on its numerator's row
                        assert text == case.report.field_index[f.numerator].label
                    else:
                        assert text == f.label


# ------------------------------------------------------------------ cells


def test_input_cells_unlocked_tinted_validated(case: Made) -> None:
    for f in input_fields(case):
        ws, cells = case.cells(f.id)
        for coord in cells:
            cell = ws[coord]
            where = f"{f.id} {ws.title}!{coord}"
            assert cell.protection.locked is False, where
            assert (cell.fill.fill_type, cell.fill.fgColor.rgb) == ("solid", TINT), where
            assert cell.number_format == NUMBER_FORMATS[f.type], where
            assert cell.value is None, where
            (dv,) = validations_at(ws, coord)
            assert dv.allow_blank is True, where
            assert dv.showInputMessage is True and dv.showErrorMessage is True, where
            assert dv.errorStyle in (None, "stop"), where  # None is the default: stop
            assert dv.promptTitle and VIETNAMESE.search(dv.prompt), where
            assert dv.errorTitle == "Giá trị không hợp lệ", where
            assert dv.error.startswith(f"{f.label}: "), where
            check_validation_type(case, f, dv, where)


def check_validation_type(case: Made, f: Field, dv: DataValidation, where: str) -> None:
    kind = f.type
    if kind == "unit":
        kind = "list" if case.roster else "text"
    if kind in ("count", "amount"):
        expected = ("whole" if kind == "count" else "decimal", "greaterThanOrEqual", "0", None)
        assert (dv.type, dv.operator, dv.formula1, dv.formula2) == expected, where
    elif kind == "date":
        low, high = (PERIOD.start, PERIOD.end) if f.in_period else (date(2000, 1, 1), date(2100, 12, 31))
        assert dv.type == "date" and dv.operator in (None, "between"), where
        assert (dv.formula1, dv.formula2) == (str(excel_serial(low)), str(excel_serial(high)))
    elif kind == "list":
        assert dv.type == "list", where
        assert dv.formula1.startswith(f"{LISTS_SHEET}!"), where
        items = case.report.lists[f.list_name] if f.list_name else [u.name for u in case.roster]
        assert range_values(case.wb, dv.formula1) == list(items), where
    else:
        assert (dv.type, dv.operator) == ("textLength", "lessThanOrEqual"), where
        assert dv.formula1 == str(f.max_length or 255), where


def test_only_input_cells_are_unlocked(case: Made) -> None:
    expected: dict[str, set[str]] = {}
    for f in input_fields(case):
        ws, cells = case.cells(f.id)
        expected.setdefault(ws.title, set()).update(cells)
    for ws in case.wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        unlocked = {c.coordinate for row in ws.iter_rows() for c in row if not c.protection.locked}
        assert unlocked == expected.get(ws.title, set()), ws.title


def test_validation_only_on_input_cells(case: Made) -> None:
    expected: dict[str, set[str]] = {}
    for f in input_fields(case):
        ws, cells = case.cells(f.id)
        expected.setdefault(ws.title, set()).update(cells)
    for ws in case.wb.worksheets:
        covered = {c for dv in ws.data_validations.dataValidation for c in cells_of(str(dv.sqref))}
        assert covered == expected.get(ws.title, set()), ws.title


def test_office_filled_cover_cells_locked(case: Made) -> None:
    for fid, value in case.locked_by_office().items():
        ws, (coord,) = case.cells(fid)
        cell = ws[coord]
        assert (cell.value or "") == value, fid
        assert cell.protection.locked is True, fid
        assert cell.fill.fgColor.rgb != TINT, fid
        assert validations_at(ws, coord) == [], fid


def expected_formula(case: Made, f: Field) -> str:
    here = case.field_map[f.id][1]

    def ref(fid: str) -> str:
        _form, sheet, cell, _type = case.field_map[fid]
        return quoted(sheet, cell, here)

    if f.type == "total":
        parts = ",".join(ref(p) for p in f.parts)
        return f'=IF(COUNT({parts})=0,"",SUM({parts}))'
    if f.type == "ratio":
        num, den = ref(f.numerator), ref(f.denominator)
        return f'=IF(OR({num}="",{den}="",{den}=0),"",{num}/{den})'
    assert f.type == "tally"
    return f'=COUNTIF({ref(f.of)},"{f.match}")'


def test_derived_cells_are_locked_formulas(case: Made) -> None:
    derived = derived_fields(case)
    assert {f.type for f in derived} == (
        {"total", "ratio", "tally"} if case.report.id == "phu-luc-1" else {"total", "ratio"}
    )
    for f in derived:
        ws, (coord,) = case.cells(f.id)
        cell = ws[coord]
        assert cell.value == expected_formula(case, f), f.id
        assert cell.protection.locked is True, f.id
        assert cell.fill.fgColor.rgb != TINT, f.id
        if f.type != "total":
            assert cell.number_format == NUMBER_FORMATS[f.type], f.id


def test_ratio_blank_when_denominator_is_zero(case: Made) -> None:
    ratios = [f for f in case.report.fields if f.type == "ratio"]
    assert ratios
    for f in ratios:
        ws, (coord,) = case.cells(f.id)
        den = case.field_map[f.denominator][2]
        assert f'{den}=0),""' in ws[coord].value, f.id
        assert ws[coord].number_format == "0.00%"


def test_total_shown_like_its_parts(case: Made) -> None:
    for f in case.report.fields:
        if f.type != "total":
            continue
        ws, (coord,) = case.cells(f.id)
        part_formats = set()
        for p in f.parts:
            pws, (pcoord,) = case.cells(p)
            part_formats.add(pws[pcoord].number_format)
        assert {ws[coord].number_format} == part_formats, f.id


def test_cached_values_of_formulas_are_empty(case: Made) -> None:
    """A file nobody recalculated must not show a false 0 to calamine or openpyxl."""
    checked = 0
    for f in derived_fields(case):
        sheet, ref = case.field_map[f.id][1:3]
        col, row, _c, _r = range_boundaries(ref)
        grid = case.calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        assert grid[row - 1][col - 1] == "", f.id
        assert case.values[sheet][ref].value in (None, ""), f.id
        checked += 1
    for sheet in SHEETS[case.report.id][1:]:  # the "Đơn vị: … Kỳ báo cáo: …" line
        assert case.wb[sheet]["A3"].value.startswith('="Đơn vị: "&')
        grid = case.calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        assert grid[2][0] == ""
    assert checked == len(derived_fields(case)) > 0


# ------------------------------------------------------------------ workbook


def test_sheets_in_order_protected_and_hidden(case: Made) -> None:
    assert case.wb.sheetnames == [*SHEETS[case.report.id], LISTS_SHEET, META_SHEET]
    states = {ws.title: ws.sheet_state for ws in case.wb.worksheets}
    assert states[LISTS_SHEET] == states[META_SHEET] == "veryHidden"
    for title in SHEETS[case.report.id]:
        assert states[title] == "visible"
        assert case.wb[title].protection.sheet is True, title
    assert case.wb.active.title == "Thông tin"


def test_meta_rows(case: Made) -> None:
    meta = case.meta
    assert meta["schema"] == "mttq-xlsx/template/1"
    assert meta["report_id"] == case.report.id
    assert meta["spec_version"] == "1"
    assert meta["period"] == "2024-6T"
    assert meta["unit_code"] == (case.unit.code if case.unit else "")
    assert meta["unit_name"] == (case.unit.name if case.unit else "")
    assert meta["generated_at"] == "2024-05-02T09:30:15"
    assert meta["generator"] == f"mttq-xlsx {__version__}"
    keys = list(meta)
    order = ["schema", "report_id", "spec_version", "period", "unit_code", "unit_name"]
    assert [k for k in keys if k in order] == order
    assert keys.index("unit_name") < keys.index("generated_at") < keys.index("generator")


def test_prefilled_cover(made: dict, three_units: tuple[Unit, ...]) -> None:
    case = made["bieu-so-lieu", True]
    cover = case.wb["Thông tin"]
    _ws, (don_vi,) = case.cells("don_vi")
    _ws, (ma,) = case.cells("ma_don_vi")
    _ws, (ky,) = case.cells("ky_bao_cao")
    assert (cover[don_vi].value, cover[ma].value, cover[ky].value) == (
        "Phường Đông Kinh",
        "05977",
        "6 tháng đầu năm 2024",
    )
    assert case.path.name == "bieu-so-lieu_2024-6T_05977_phuong-dong-kinh.xlsx"
    # the unit/period line of every form sheet points at these cover cells
    line = case.wb["Số liệu"]["A3"].value
    assert line == f"=\"Đơn vị: \"&'Thông tin'!{don_vi}&\"     Kỳ báo cáo: \"&'Thông tin'!{ky}"


@pytest.mark.parametrize(
    ("report_id", "period", "unit", "name"),
    [
        ("bieu-so-lieu", "2024-6T", None, "bieu-so-lieu_2024-6T.xlsx"),
        ("phu-luc-1", "2024", None, "phu-luc-1_2024.xlsx"),
        (
            "bieu-so-lieu",
            "2024-6T",
            Unit("05977", "Phường Đông Kinh", "20", "phuong"),
            "bieu-so-lieu_2024-6T_05977_phuong-dong-kinh.xlsx",
        ),
        (
            "phu-luc-1",
            "2025",
            Unit("H01", "Hội LHPN tỉnh/thành", "", "to_chuc"),
            "phu-luc-1_2025_H01_hoi-lhpn-tinh-thanh.xlsx",
        ),
    ],
)
def test_template_filename(report_id: str, period: str, unit: Unit | None, name: str) -> None:
    assert template_filename(load_spec(report_id), parse_period(period), unit) == name


def test_template_filename_is_plain_ascii_for_every_commune() -> None:
    report, period = load_spec("phu-luc-1"), parse_period("2024")
    pattern = re.compile(r"phu-luc-1_2024_\d{5}_[a-z0-9]+(-[a-z0-9]+)*\.xlsx")
    bad = [
        name
        for unit in all_communes()
        if not pattern.fullmatch(name := template_filename(report, period, unit))
    ]
    assert bad == []


def test_print_setup(case: Made) -> None:
    for title in SHEETS[case.report.id]:
        ws = case.wb[title]
        assert ws.page_setup.paperSize == 9, title  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True, title
        # one page wide (1 is the file format's default, which openpyxl reports as None)
        assert ws.page_setup.fitToWidth in (None, 1, "1"), title
        assert ws.page_setup.fitToHeight in (0, "0"), title
        assert ws["A1"].font.name == FONT and ws["A1"].font.b is True, title
        assert "Trang &P/&N" in ws.oddFooter.right.text, title
    for form in case.report.forms:
        ws = case.wb[form.sheet]
        header_row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "STT")
        assert ws.print_title_rows == f"$1:${header_row}", form.sheet
        assert ws["A1"].value == form.title
        assert form.title in ws.oddFooter.left.text
        wide = form.id in ("bieu-4", "bieu-5")
        assert ws.page_setup.orientation == ("landscape" if wide else "portrait"), form.sheet
    rows = list(case.wb[META_SHEET].iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r[0] == "field_id")
    for fid, _form, sheet, ref, _type, label_cell, *_rest in rows[header_at + 1 :]:
        assert case.wb[sheet][label_cell].font.name == FONT, fid
        assert case.wb[sheet][cells_of(ref)[0]].font.name == FONT, fid


def test_repeated_rows_hold_no_section_title(made: dict) -> None:
    case = made["bieu-so-lieu", False]
    ws = case.wb["Số liệu"]
    titles = {s.title for s in case.report.sections}
    last = int(ws.print_title_rows.split("$")[-1])
    repeated = {ws.cell(r, 1).value for r in range(1, last + 1)}
    assert repeated & titles == set()


def test_unit_dropdown_from_roster(made: dict, three_units: tuple[Unit, ...]) -> None:
    case = made["phu-luc-1", False]
    ws, (coord,) = case.cells("don_vi")
    (dv,) = validations_at(ws, coord)
    assert dv.type == "list"
    assert dv.formula1.startswith(f"{LISTS_SHEET}!")
    assert range_values(case.wb, dv.formula1) == [u.name for u in three_units]
    names = [c.value for c in case.wb[LISTS_SHEET]["A"] if c.value is not None]
    assert names == ["_units", *(u.name for u in three_units)]


def test_without_roster_unit_is_free_text(tmp_path: Path) -> None:
    case = make("bieu-so-lieu", tmp_path, None, ())
    ws, (coord,) = case.cells("don_vi")
    (dv,) = validations_at(ws, coord)
    assert (dv.type, dv.operator, dv.formula1) == ("textLength", "lessThanOrEqual", "255")
    assert ws[coord].protection.locked is False
    assert [c.value for c in case.wb[LISTS_SHEET][1]] == [None]


def test_document_dates_limited_to_a_custom_data_range(tmp_path: Path) -> None:
    period = parse_period("2024", date(2023, 12, 1), date(2024, 9, 30))
    report = load_spec("phu-luc-1")
    path = write_template(TemplateRequest(report, period), tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    meta, fmap = read_meta(wb)
    assert (meta["period"], meta["period_start"], meta["period_end"]) == (
        "2024",
        "2023-12-01",
        "2024-09-30",
    )
    _form, sheet, ref, _type = fmap["van_ban.ngay_ban_hanh"]
    for coord in cells_of(ref):
        (dv,) = validations_at(wb[sheet], coord)
        assert (dv.type, dv.formula1, dv.formula2) == ("date", "45261", "45565")
        assert "01/12/2023" in dv.prompt and "30/09/2024" in dv.prompt
    # the cover's "Ngày lập" is not limited to the period
    _form, sheet, ref, _type = fmap["ngay_lap"]
    (dv,) = validations_at(wb[sheet], ref)
    assert (dv.formula1, dv.formula2) == ("36526", "73415")


def test_write_leaves_only_the_target(tmp_path: Path) -> None:
    report = load_spec("phu-luc-1")
    target = tmp_path / "sub" / "mau.xlsx"
    assert write_template(TemplateRequest(report, PERIOD), target) == target
    target.write_bytes(b"old")
    write_template(TemplateRequest(report, PERIOD), target)
    assert [p.name for p in target.parent.iterdir()] == ["mau.xlsx"]
    assert zipfile.is_zipfile(target)


def test_write_refuses_a_file_open_in_excel(tmp_path: Path) -> None:
    report = load_spec("phu-luc-1")
    target = tmp_path / "mau.xlsx"
    target.write_bytes(b"old")
    (tmp_path / "~$mau.xlsx").write_bytes(b"lock")
    with pytest.raises(OutputError, match="đang được mở trong Excel"):
        write_template(TemplateRequest(report, PERIOD), target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mau.xlsx", "~$mau.xlsx"]


# ------------------------------------------------------------------ golden templates


def parts_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def assert_same_parts(expected: Path, actual: Path) -> None:
    want, got = parts_of(expected), parts_of(actual)
    hint = f"{expected.name} is out of date: run `make templates`"
    assert sorted(got) == sorted(want), f"{hint} (parts differ)"
    changed = [name for name in want if want[name] != got[name]]
    assert changed == [], f"{hint} (changed parts: {', '.join(changed)})"


def regenerate(path: Path, target: Path) -> Path:
    """Write again the template `path` claims to be, from its own `_mttq` sheet."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(META_SHEET).to_python()
    meta = {str(r[0]): str(r[1]) for r in rows if r and r[0] and r[0] != "field_id"}
    assert meta["unit_code"] == "", f"{path.name}: workbook_templates/ holds generic templates"
    period: Period = parse_period(
        meta["period"],
        date.fromisoformat(meta["period_start"]),
        date.fromisoformat(meta["period_end"]),
    )
    request = TemplateRequest(
        load_spec(meta["report_id"]),
        period,
        generated_at=datetime.fromisoformat(meta["generated_at"]),
    )
    return write_template(request, target / path.name)


GOLDEN = sorted(GOLDEN_DIR.glob("*.xlsx"))


@pytest.mark.parametrize(
    "path",
    GOLDEN or [pytest.param(None, marks=pytest.mark.skip(reason="workbook_templates/ has no .xlsx yet"))],
    ids=lambda p: p.name if p else "none",
)
def test_workbook_templates_up_to_date(path: Path, tmp_path: Path) -> None:
    assert_same_parts(path, regenerate(path, tmp_path))


@pytest.mark.skipif(not GOLDEN, reason="workbook_templates/ has no .xlsx yet")
def test_workbook_templates_cover_every_report() -> None:
    ids = {read_meta(openpyxl.load_workbook(p))[0]["report_id"] for p in GOLDEN}
    assert ids == set(report_ids()), "run `make templates`"


def test_same_request_same_bytes(tmp_path: Path) -> None:
    """What makes the golden comparison possible: output depends only on the request."""
    report = load_spec("phu-luc-1")
    request = TemplateRequest(report, parse_period("2026"), generated_at=GENERATED_AT)
    first = write_template(request, tmp_path / "a" / "phu-luc-1_2026.xlsx")
    assert_same_parts(first, regenerate(first, tmp_path / "b"))
    later = TemplateRequest(report, parse_period("2026"), generated_at=datetime(2026, 1, 1))
    other = write_template(later, tmp_path / "c" / "phu-luc-1_2026.xlsx")
    with pytest.raises(AssertionError, match=r"run `make templates` \(changed parts: "):
        assert_same_parts(first, other)


# ------------------------------------------------------------------ one workbook per unit
ODD_UNITS = (
    Unit("1", "Xã Một", "20", "xa"),  # a code the sheets already hold (a row number): written on its own
    Unit("ma", "ma", "20", "xa"),  # name and code one string
    Unit("x2", "Thông tin", "20", "xa"),  # a sheet title
    Unit("x3", " Xã <A> & “B” _x0041_ \x01", "20", "xa"),  # spaces, markup, an escape, a control character
    Unit("x4", "<r>Xã</r>", "20", "xa"),  # what xlsxwriter takes for rich text
)


@pytest.mark.parametrize("report_id", sorted(SHEETS))
def test_each_units_workbook_is_the_one_written_for_it_alone(report_id: str, tmp_path: Path) -> None:
    """The workbook built once and copied for each unit is, byte for byte, what the template writer
    writes for that unit on its own: for ordinary units and for names the copies cannot take."""
    report = load_spec(report_id)
    units = (*all_communes()[:4], *ODD_UNITS)
    paths = write_unit_templates(report, PERIOD, units, tmp_path / "copies", GENERATED_AT)
    assert [p.name for p in paths] == [template_filename(report, PERIOD, u) for u in units]
    for unit, path in zip(units, paths, strict=True):
        alone = write_template(TemplateRequest(report, PERIOD, unit, (), GENERATED_AT), tmp_path / path.name)
        assert path.read_bytes() == alone.read_bytes(), unit


def test_units_workbooks_on_two_processes_are_the_same(tmp_path: Path) -> None:
    report = load_spec("bieu-so-lieu")
    units = all_communes()[:450]
    one = write_unit_templates(report, PERIOD, units, tmp_path / "one", GENERATED_AT, workers=1)
    two = write_unit_templates(report, PERIOD, units, tmp_path / "two", GENERATED_AT, workers=2)
    assert [p.name for p in two] == [p.name for p in one]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(one, two, strict=True))


@pytest.mark.parametrize("report_id", sorted(SHEETS))
def test_units_workbooks_do_not_carry_the_roster(
    report_id: str, tmp_path: Path, three_units: tuple[Unit, ...]
) -> None:
    """Only the generic template lists the roster (its unit dropdown); a unit's own workbook has
    its name locked, and its `_ds` sheet holds the report's own lists alone."""
    report = load_spec(report_id)
    generic, *own = mttq_xlsx.write_templates(report, tmp_path, PERIOD, roster=three_units)
    assert len(own) == len(three_units)
    names = {u.name for u in three_units}
    lists = openpyxl.load_workbook(generic)[LISTS_SHEET]
    assert [c.value for c in lists[1]] == ["_units", *sorted(report.lists)]
    assert {c.value for c in lists["A"]} - {None} == {"_units", *names}
    for path in own:
        wb = openpyxl.load_workbook(path)
        assert [c.value for c in wb[LISTS_SHEET][1]] == (sorted(report.lists) or [None])
        assert not {c.value for row in wb[LISTS_SHEET].iter_rows() for c in row} & names
        _form, sheet, coord, _type = read_meta(wb)[1]["don_vi"]
        assert wb[sheet][coord].protection.locked and validations_at(wb[sheet], coord) == []
