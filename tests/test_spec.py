"""The form specs (mttq_xlsx/specs/*.toml) against the domain contract in forms-reference.md.

The expected ids, types and checks are written out here, so the test stands on its own
and a spec edit that drifts from the reference fails loudly.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mttq_xlsx import spec as spec_module
from mttq_xlsx.consolidation import Consolidation
from mttq_xlsx.errors import SpecError
from mttq_xlsx.model import FileRecord, Submission
from mttq_xlsx.periods import parse_period
from mttq_xlsx.spec import Spec, load_spec, report_ids

REPORTS = ("bieu-so-lieu", "phu-luc-1")
COVER_FIELDS = {
    "don_vi": "unit",
    "ma_don_vi": "text",
    "ky_bao_cao": "text",
    "nguoi_lap": "text",
    "dien_thoai": "text",
    "ngay_lap": "date",
    "thu_truong": "text",
}

# (field_id, type): a representative sample of forms-reference.md, section by section.
PHU_LUC_1_FIELDS = {
    "van_ban.nhom": "list",
    "van_ban.loai": "list",
    "van_ban.so_ky_hieu": "text",
    "van_ban.ngay_ban_hanh": "date",
    "van_ban.trich_yeu": "text",
    "so_van_ban_cap_uy": "tally",
    "so_van_ban_mttq": "tally",
    "so_chuong_trinh_phoi_hop": "tally",
    "tuyen_truyen_so_cuoc": "count",
    "tuyen_truyen_so_nguoi": "count",
    "tap_huan_so_cuoc": "count",
    "tap_huan_so_nguoi": "count",
    "dat_hien_m2": "amount",
    "ngay_cong": "amount",
    "so_mo_hinh": "count",
    "mo_hinh_tieu_bieu.ten": "text",
    "mo_hinh_tieu_bieu.noi_dung": "list",
    "mo_hinh_tieu_bieu.dia_ban": "text",
    "ho_lien_ket_san_xuat": "count",
    "so_htx_moi": "count",
    "so_tht_moi": "count",
    "so_htx_tht_moi": "total",
    "phuong_dtvm_dat_chuan": "count",
    "phuong_dtvm_luy_ke": "count",
}
BIEU_SO_LIEU_FIELDS = {
    "vb_chi_dao_cap_uy": "count",
    "vb_phoi_hop": "count",
    "tong_don_vi_xa": "count",
    "tong_kdc": "count",
    "tong_ho": "count",
    "dan_so": "count",
    "kp_cap_huyen": "amount",
    "kp_cap_xa": "amount",
    "kp_ban_ctmt": "amount",
    "kp_tong": "total",
    "ntm_ngan_sach": "amount",
    "ntm_doanh_nghiep": "amount",
    "ntm_nhan_dan": "amount",
    "ntm_nguon_khac": "amount",
    "ntm_tong_kinh_phi": "total",
    "tt_so_cuoc": "count",
    "tt_so_luot_nguoi": "count",
    "tt_so_tai_lieu": "count",
    "ntm_tien_ung_ho": "amount",
    "ntm_dat_hien_m2": "amount",
    "ntm_ngay_cong": "amount",
    "ntm_tri_gia_ngay_cong": "amount",
    "tri_gia_qua": "amount",
    "htx_moi": "count",
    "htx_hieu_qua": "count",
    "clb_kdc": "count",
    "nguoi_co_cong": "count",
    "tro_giup_tien": "amount",
    "tro_giup_hien_vat": "amount",
    "quy_den_on_dap_nghia": "amount",
    "thien_tai_tien": "amount",
    "thien_tai_hien_vat": "amount",
    "to_tu_quan_moi_truong": "count",
    "mh_antq": "count",
    "mh_atgt": "count",
    "mh_attp": "count",
    "ho_dang_ky_thuc_pham_an_toan": "count",
    "nguoi_cam_hoa": "count",
    "hom_thu_duong_day_nong": "count",
    "nguon_tin_to_giac": "count",
    "te_nan_phat_sinh": "count",
    "gs_dtcd_so_cuoc": "count",
    "gs_ket_qua": "text",
    "hoa_giai_so_to": "count",
    "dg_to_chuc_dang": "text",
    "dg_chinh_quyen": "text",
    "dg_mttq_doan_the": "text",
}

# Every ratio of each report: ratio -> (numerator, denominator).
BIEU_SO_LIEU_RATIOS = {
    "kdc_van_hoa_ty_le": ("kdc_van_hoa", "tong_kdc"),
    "gd_van_hoa_ty_le": ("gd_van_hoa", "tong_ho"),
    "ho_ngheo_ty_le": ("ho_ngheo", "tong_ho"),
    "ho_ngheo_ho_tro_nha_ty_le": ("ho_ngheo_ho_tro_nha", "ho_ngheo"),
    "ho_thoat_ngheo_ty_le": ("ho_thoat_ngheo", "ho_ngheo_doan_the_ho_tro"),
    "kdc_noi_sinh_hoat_ty_le": ("kdc_noi_sinh_hoat", "tong_kdc"),
    "nha_van_hoa_xa_ty_le": ("nha_van_hoa_xa", "tong_don_vi_xa"),
    "nguoi_bhyt_ty_le": ("nguoi_bhyt", "dan_so"),
    "nguoi_co_cong_tro_giup_ty_le": ("nguoi_co_cong_tro_giup", "nguoi_co_cong"),
    "nguoi_nuoc_hop_ve_sinh_ty_le": ("nguoi_nuoc_hop_ve_sinh", "dan_so"),
    "khieu_nai_ty_le": ("khieu_nai_giai_quyet", "khieu_nai_tiep_nhan"),
    "to_cao_ty_le": ("to_cao_giai_quyet", "to_cao_tiep_nhan"),
    "kdc_co_to_hoa_giai_ty_le": ("kdc_co_to_hoa_giai", "tong_kdc"),
    "hoa_giai_ty_le": ("hoa_giai_thanh", "hoa_giai_so_vu"),
}
SATISFACTION_CATEGORIES = (
    "huyen_ntm",
    "huyen_ntm_nang_cao",
    "tp_hoan_thanh_ntm",
    "xa_ntm",
    "xa_ntm_nang_cao",
    "xa_ntm_kieu_mau",
    "phuong_dtvm",
)
SATISFACTION_COLUMNS = ("so_don_vi", "so_phieu", "hai_long", "khong_hai_long", "ty_le")
PHU_LUC_1_RATIOS = {f"{k}_ty_le": (f"{k}_hai_long", f"{k}_so_phieu") for k in SATISFACTION_CATEGORIES}

# Every total of each report: total -> parts.
BIEU_SO_LIEU_TOTALS = {
    "kp_tong": ("kp_cap_huyen", "kp_cap_xa", "kp_ban_ctmt"),
    "ntm_tong_kinh_phi": ("ntm_ngan_sach", "ntm_doanh_nghiep", "ntm_nhan_dan", "ntm_nguon_khac"),
}
PHU_LUC_1_TOTALS = {
    "so_htx_tht_moi": ("so_htx_moi", "so_tht_moi"),
    "giam_sat_chu_tri_tong": ("giam_sat_chu_tri_huyen", "giam_sat_chu_tri_xa"),
    "giam_sat_phoi_hop_tong": ("giam_sat_phoi_hop_huyen", "giam_sat_phoi_hop_xa"),
    "phan_bien_chu_tri_tong": ("phan_bien_chu_tri_huyen", "phan_bien_chu_tri_xa"),
    "phan_bien_phoi_hop_tong": ("phan_bien_phoi_hop_huyen", "phan_bien_phoi_hop_xa"),
    "giam_sat_tong": ("giam_sat_chu_tri_tong", "giam_sat_phoi_hop_tong"),
    "phan_bien_tong": ("phan_bien_chu_tri_tong", "phan_bien_phoi_hop_tong"),
}
BIEU_4_FIELDS = [
    ("giam_sat_chu_tri_huyen", "count"),
    ("giam_sat_chu_tri_xa", "count"),
    ("giam_sat_chu_tri_tong", "total"),
    ("phan_bien_chu_tri_huyen", "count"),
    ("phan_bien_chu_tri_xa", "count"),
    ("phan_bien_chu_tri_tong", "total"),
    ("giam_sat_phoi_hop_huyen", "count"),
    ("giam_sat_phoi_hop_xa", "count"),
    ("giam_sat_phoi_hop_tong", "total"),
    ("phan_bien_phoi_hop_huyen", "count"),
    ("phan_bien_phoi_hop_xa", "count"),
    ("phan_bien_phoi_hop_tong", "total"),
    ("giam_sat_tong", "total"),
    ("phan_bien_tong", "total"),
]
NHOM_VAN_BAN = (
    "Văn bản của cấp ủy",
    "Văn bản hướng dẫn của MTTQ",
    "Chương trình phối hợp với các tổ chức thành viên",
)
LOAI_VAN_BAN = (
    "Nghị quyết",
    "Chỉ thị",
    "Kết luận",
    "Kế hoạch",
    "Hướng dẫn",
    "Chương trình phối hợp",
    "Công văn",
    "Thông tri",
    "Khác",
)
NOI_DUNG_STARTS = (
    "Nội dung 1: Đoàn kết tham gia phát triển kinh tế",
    "Nội dung 2: Đoàn kết xây dựng đời sống văn hóa",
    "Nội dung 3: Đoàn kết tham gia bảo vệ môi trường",
    "Nội dung 4: Đoàn kết chấp hành pháp luật",
    "Nội dung 5: Đoàn kết phát huy dân chủ",
)


def types_of(report: Spec) -> dict[str, str]:
    return {f.id: f.type for f in report.fields}


# ------------------------------------------------------------------ what exists


def test_report_ids() -> None:
    assert report_ids() == ["bieu-so-lieu", "phu-luc-1"]


@pytest.mark.parametrize("report_id", REPORTS)
def test_report_header(report_id: str) -> None:
    report = load_spec(report_id)
    assert report.id == report_id
    assert report.version == "1"
    assert "Toàn dân đoàn kết xây dựng nông thôn mới, đô thị văn minh" in report.title


@pytest.mark.parametrize("report_id", REPORTS)
def test_cover_fields(report_id: str) -> None:
    cover = load_spec(report_id).cover
    assert (cover.id, cover.sheet) == ("thong-tin", "Thông tin")
    assert {f.id: f.type for f in cover.fields} == COVER_FIELDS
    prefill = {f.id: f.prefill for f in cover.fields if f.prefill}
    assert prefill == {
        "don_vi": "unit_name",
        "ma_don_vi": "unit_code",
        "ky_bao_cao": "period_label",
    }


@pytest.mark.parametrize(
    ("report_id", "expected"),
    [("phu-luc-1", PHU_LUC_1_FIELDS), ("bieu-so-lieu", BIEU_SO_LIEU_FIELDS)],
)
def test_listed_fields_have_their_type(report_id: str, expected: dict[str, str]) -> None:
    actual = types_of(load_spec(report_id))
    assert {k: actual.get(k) for k in expected} == expected


@pytest.mark.parametrize("report_id", REPORTS)
def test_field_ids_unique_and_snake_case(report_id: str) -> None:
    ids = [f.id for f in load_spec(report_id).fields]
    assert len(ids) == len(set(ids))
    bad = [i for i in ids if not re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?", i)]
    assert bad == []


@pytest.mark.parametrize(
    ("report_id", "expected"),
    [("bieu-so-lieu", BIEU_SO_LIEU_RATIOS), ("phu-luc-1", PHU_LUC_1_RATIOS)],
)
def test_every_ratio_with_its_parts(report_id: str, expected: dict) -> None:
    report = load_spec(report_id)
    ratios = {f.id: (f.numerator, f.denominator) for f in report.fields if f.type == "ratio"}
    assert ratios == expected
    index = report.field_index
    for ratio_id, (numerator, denominator) in ratios.items():
        assert (index[numerator].type, index[denominator].type) == ("count", "count")
        # a ratio and its parts sit on one form
        forms = {index[x].form_id for x in (ratio_id, numerator, denominator)}
        assert len(forms) == 1, ratio_id


@pytest.mark.parametrize(
    ("report_id", "expected"),
    [("bieu-so-lieu", BIEU_SO_LIEU_TOTALS), ("phu-luc-1", PHU_LUC_1_TOTALS)],
)
def test_every_total_with_its_parts(report_id: str, expected: dict) -> None:
    report = load_spec(report_id)
    assert {f.id: f.parts for f in report.fields if f.type == "total"} == expected


def test_kp_tong_parts_are_amounts_in_trieu_dong() -> None:
    index = load_spec("bieu-so-lieu").field_index
    assert index["kp_tong"].unit == "triệu đồng"
    assert {(index[p].type, index[p].unit) for p in index["kp_tong"].parts} == {("amount", "triệu đồng")}


@pytest.mark.parametrize("report_id", REPORTS)
def test_amounts_carry_a_unit(report_id: str) -> None:
    units = {f.id: f.unit for f in load_spec(report_id).fields if f.type == "amount"}
    assert units
    assert {u for u in units.values()} <= {"m²", "triệu đồng", "ngày"}


def test_amount_units_as_in_reference() -> None:
    index = load_spec("bieu-so-lieu").field_index
    assert index["ntm_dat_hien_m2"].unit == "m²"
    assert index["ntm_ngay_cong"].unit == "ngày"
    assert index["ntm_tri_gia_ngay_cong"].unit == "triệu đồng"
    plc = load_spec("phu-luc-1").field_index
    assert (plc["dat_hien_m2"].unit, plc["ngay_cong"].unit) == ("m²", "ngày")


def test_bieu_4_expansions_in_order() -> None:
    form = next(f for f in load_spec("phu-luc-1").forms if f.id == "bieu-4")
    assert [(f.id, f.type) for f in form.fields] == BIEU_4_FIELDS
    grid = form.sections[0].blocks[0]
    assert grid.kind == "grid"
    assert [(r.label, r.is_total) for r in grid.grid_rows] == [
        ("Do MTTQ chủ trì", False),
        ("MTTQ phối hợp thực hiện", False),
        ("Tổng cộng", True),
    ]
    # the total row only has the two "tổng" columns
    assert grid.grid_rows[2].cells == (None, None, "giam_sat_tong", None, None, "phan_bien_tong")


def test_bieu_5_expansions_for_all_categories() -> None:
    form = next(f for f in load_spec("phu-luc-1").forms if f.id == "bieu-5")
    expected = [
        (f"{k}_{c}", "ratio" if c == "ty_le" else "count")
        for k in SATISFACTION_CATEGORIES
        for c in SATISFACTION_COLUMNS
    ]
    expected += [("phuong_dtvm_dat_chuan", "count"), ("phuong_dtvm_luy_ke", "count")]
    assert [(f.id, f.type) for f in form.fields] == expected
    assert [b.title for b in form.sections[0].blocks] == [
        "5.1. Cấp huyện",
        "5.2. Cấp xã",
        "5.3. Đô thị văn minh",
        "",
    ]


@pytest.mark.parametrize(
    ("table_id", "rows", "columns", "required"),
    [
        (
            "van_ban",
            20,
            [
                ("nhom", "list", "nhom_van_ban"),
                ("loai", "list", "loai_van_ban"),
                ("so_ky_hieu", "text", ""),
                ("ngay_ban_hanh", "date", ""),
                ("trich_yeu", "text", ""),
            ],
            ("nhom", "loai", "ngay_ban_hanh"),
        ),
        (
            "mo_hinh_tieu_bieu",
            15,
            [("ten", "text", ""), ("noi_dung", "list", "noi_dung"), ("dia_ban", "text", "")],
            ("ten",),
        ),
    ],
)
def test_tables(table_id: str, rows: int, columns: list, required: tuple) -> None:
    report = load_spec("phu-luc-1")
    (block,) = [b for s in report.sections for b in s.blocks if b.table_id == table_id]
    assert (block.kind, block.rows) == ("table", rows)
    assert [(c.id, c.type, c.list_name) for c in block.columns] == [
        (f"{table_id}.{cid}", ctype, lst) for cid, ctype, lst in columns
    ]
    assert {(c.table, c.rows) for c in block.columns} == {(table_id, rows)}
    assert block.required == tuple(f"{table_id}.{c}" for c in required)


def test_document_date_must_fall_in_the_period() -> None:
    index = load_spec("phu-luc-1").field_index
    assert index["van_ban.ngay_ban_hanh"].in_period is True
    assert index["ngay_lap"].in_period is False


def test_tallies_count_rows_per_group() -> None:
    index = load_spec("phu-luc-1").field_index
    tallies = {f.id: (f.of, f.match) for f in index.values() if f.type == "tally"}
    assert tallies == {
        "so_van_ban_cap_uy": ("van_ban.nhom", NHOM_VAN_BAN[0]),
        "so_van_ban_mttq": ("van_ban.nhom", NHOM_VAN_BAN[1]),
        "so_chuong_trinh_phoi_hop": ("van_ban.nhom", NHOM_VAN_BAN[2]),
    }


def test_lists() -> None:
    lists = load_spec("phu-luc-1").lists
    assert set(lists) == {"nhom_van_ban", "loai_van_ban", "noi_dung"}
    assert lists["nhom_van_ban"] == NHOM_VAN_BAN
    assert lists["loai_van_ban"] == LOAI_VAN_BAN
    assert len(lists["noi_dung"]) == 5
    for item, start in zip(lists["noi_dung"], NOI_DUNG_STARTS, strict=True):
        assert item.startswith(start)
    assert lists["noi_dung"][4].endswith("góp phần xây dựng hệ thống chính trị cơ sở trong sạch vững mạnh")
    assert load_spec("bieu-so-lieu").lists == {}


def test_sections_of_bieu_so_lieu() -> None:
    report = load_spec("bieu-so-lieu")
    assert [(f.id, f.sheet) for f in report.forms] == [("so-lieu", "Số liệu")]
    assert [s.id for s in report.sections] == ["I", "II.1", "II.2", "II.3", "II.4", "II.5"]
    assert report.sections[0].title == "I. Số liệu chung"
    assert [s.title.split(" ", 1)[0] for s in report.sections[1:]] == [
        "II.1.",
        "II.2.",
        "II.3.",
        "II.4.",
        "II.5.",
    ]
    where = {f.id: f.section_id for f in report.fields}
    assert [where[i] for i in ("tong_kdc", "ho_ngheo", "nguoi_bhyt", "mh_xu_ly_chat_thai")] == [
        "I",
        "II.1",
        "II.2",
        "II.3",
    ]
    assert [where[i] for i in ("te_nan_phat_sinh", "hoa_giai_ty_le")] == ["II.4", "II.5"]


def test_forms_of_phu_luc_1() -> None:
    report = load_spec("phu-luc-1")
    assert [(f.id, f.sheet) for f in report.forms] == [(f"bieu-{i}", f"Biểu {i}") for i in range(1, 6)]
    assert [(s.id, s.short) for s in report.sections] == [(f"bieu-{i}", f"Biểu {i}") for i in range(1, 6)]


def rules_of(report_id: str, form_id: str) -> set[tuple]:
    return {(r.kind, r.left, r.right, r.severity) for r in load_spec(report_id).rules if r.form_id == form_id}


def test_rules_bieu_5() -> None:
    expected = set()
    for k in SATISFACTION_CATEGORIES:
        parts = (f"{k}_hai_long", f"{k}_khong_hai_long")
        expected.add(("le", parts, f"{k}_so_phieu", "error"))
        expected.add(("ge", parts, f"{k}_so_phieu", "warning"))
    expected.add(("ge", ("phuong_dtvm_luy_ke",), "phuong_dtvm_dat_chuan", "error"))
    assert rules_of("phu-luc-1", "bieu-5") == expected


def test_rules_bieu_1_and_2() -> None:
    expected = set()
    for what in ("tuyen_truyen", "tap_huan"):
        expected.add(("requires", (f"{what}_so_nguoi",), f"{what}_so_cuoc", "error"))
        expected.add(("ge", (f"{what}_so_nguoi",), f"{what}_so_cuoc", "warning"))
    assert rules_of("phu-luc-1", "bieu-1") == expected
    assert rules_of("phu-luc-1", "bieu-2") == {("le", ("rows:mo_hinh_tieu_bieu",), "so_mo_hinh", "warning")}


def test_invalid_ballots_warning_has_a_hint() -> None:
    rules = [r for r in load_spec("phu-luc-1").rules if r.kind == "ge" and r.form_id == "bieu-5"]
    hinted = [r for r in rules if r.right.endswith("_so_phieu")]
    assert len(hinted) == 7
    assert {r.hint for r in hinted} == {"có thể có phiếu không hợp lệ; nếu không, hãy kiểm tra lại số liệu"}


# ------------------------------------------------------------------ malformed specs


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    load_spec.cache_clear()
    yield
    load_spec.cache_clear()


def patch_spec(monkeypatch: pytest.MonkeyPatch, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Make `_read_toml(name)` return the real spec with `change` applied to a copy."""
    real = spec_module._read_toml

    def fake(file_name: str) -> dict[str, Any]:
        data = copy.deepcopy(real(file_name))
        if file_name == name:
            change(data)
        return data

    monkeypatch.setattr(spec_module, "_read_toml", fake)


def first_fields(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The field list of the first block of the first section of the first form."""
    return data["forms"][0]["sections"][0]["blocks"][0]["fields"]


def _ratio_to_missing(data: dict[str, Any]) -> None:
    ratio = next(f for f in first_fields(data) if f["type"] == "ratio")
    ratio["denominator"] = "khong_co"


def _duplicate_id(data: dict[str, Any]) -> None:
    fields = first_fields(data)
    fields.append({**fields[0]})


def _ratio_without_numerator(data: dict[str, Any]) -> None:
    ratio = next(f for f in first_fields(data) if f["type"] == "ratio")
    del ratio["numerator"]


def _unknown_type(data: dict[str, Any]) -> None:
    first_fields(data)[0]["type"] = "percent"


def _bad_id(data: dict[str, Any]) -> None:
    first_fields(data)[0]["id"] = "Van-Ban"


def _total_to_missing(data: dict[str, Any]) -> None:
    total = next(f for f in first_fields(data) if f["type"] == "total")
    total["parts"] = [*total["parts"], "kp_cap_tinh"]


def _rule_to_missing(data: dict[str, Any]) -> None:
    data["forms"][0]["checks"] = [
        {"kind": "le", "left": ["hoa_giai_thanh"], "right": "hoa_giai_so_vu_x", "severity": "error"}
    ]


def _rule_kind(data: dict[str, Any]) -> None:
    data["forms"][0]["checks"] = [
        {"kind": "lt", "left": ["hoa_giai_thanh"], "right": "hoa_giai_so_vu", "severity": "error"}
    ]


def _same_sheet_as_cover(data: dict[str, Any]) -> None:
    data["forms"][0]["sheet"] = "Thông tin"


def _unknown_list(data: dict[str, Any]) -> None:
    first_fields(data)[0].update(type="list", list="khong_co_danh_sach")


def _unknown_block(data: dict[str, Any]) -> None:
    data["forms"][0]["sections"][0]["blocks"][0]["kind"] = "chart"


def _ratio_summed(data: dict[str, Any]) -> None:
    next(f for f in first_fields(data) if f["type"] == "ratio")["aggregate"] = "sum"


def _ratio_averaged(data: dict[str, Any]) -> None:
    next(f for f in first_fields(data) if f["type"] == "ratio")["aggregate"] = "average"


def _part_not_summed(data: dict[str, Any]) -> None:
    next(f for f in first_fields(data) if f["id"] == "kp_cap_xa")["aggregate"] = "none"


def _count_listed(data: dict[str, Any]) -> None:
    first_fields(data)[0]["aggregate"] = "list"


@pytest.mark.usefixtures("fresh_cache")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_ratio_to_missing, "trường kdc_van_hoa_ty_le: tham chiếu “khong_co” không tồn tại"),
        (_duplicate_id, "mã trường “vb_chi_dao_cap_uy” bị trùng"),
        (_ratio_without_numerator, "trường kdc_van_hoa_ty_le: tỷ lệ cần tử số và mẫu số"),
        (_unknown_type, "trường vb_chi_dao_cap_uy: kiểu “percent” không hợp lệ"),
        (_bad_id, "mã trường “Van-Ban” không hợp lệ"),
        (_total_to_missing, "trường kp_tong: tham chiếu “kp_cap_tinh” không tồn tại"),
        (_rule_to_missing, "kiểm tra le: tham chiếu “hoa_giai_so_vu_x” không tồn tại"),
        (_rule_kind, "kiểm tra “lt” không hợp lệ"),
        (_same_sheet_as_cover, "tên trang tính bị trùng"),
        (_unknown_list, "trường vb_chi_dao_cap_uy: không có danh sách “khong_co_danh_sach”"),
        (_unknown_block, "Khối “chart” không hợp lệ trong biểu so-lieu."),
        (_ratio_summed, "trường kdc_van_hoa_ty_le: kiểu ratio không cộng dồn theo cách “sum”"),
        (_ratio_averaged, "trường kdc_van_hoa_ty_le: cách cộng dồn “average” không hợp lệ"),
        (_part_not_summed, "trường kp_tong: thành phần “kp_cap_xa” phải cộng dồn theo cách sum"),
        (_count_listed, "trường vb_chi_dao_cap_uy: kiểu count không cộng dồn theo cách “list”"),
    ],
)
def test_malformed_spec_raises(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    patch_spec(monkeypatch, "bieu-so-lieu.toml", change)
    with pytest.raises(SpecError) as info:
        load_spec("bieu-so-lieu")
    assert message in str(info.value)


@pytest.mark.usefixtures("fresh_cache")
def test_malformed_spec_message_names_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_spec(monkeypatch, "bieu-so-lieu.toml", _duplicate_id)
    with pytest.raises(SpecError, match=r"^Đặc tả bieu-so-lieu có lỗi: .*\.$"):
        load_spec("bieu-so-lieu")


@pytest.mark.usefixtures("fresh_cache")
def test_column_set_rule_to_missing_field(monkeypatch: pytest.MonkeyPatch) -> None:
    def change(data: dict[str, Any]) -> None:
        data["column_set_checks"]["satisfaction"][0]["right"] = "{row}_so_phieu_x"

    patch_spec(monkeypatch, "phu-luc-1.toml", change)
    with pytest.raises(SpecError, match="tham chiếu “huyen_ntm_so_phieu_x” không tồn tại"):
        load_spec("phu-luc-1")


def _tables(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for f in data["forms"] for s in f["sections"] for b in s["blocks"] if b["kind"] == "table"]


def _table_without_unit_column(data: dict[str, Any]) -> None:
    del _tables(data)[0]["unit_column"]


def _table_not_gathered(data: dict[str, Any]) -> None:
    _tables(data)[0]["aggregate"] = "none"  # its tallies still summed


def _unit_column_not_text(data: dict[str, Any]) -> None:
    _tables(data)[0]["unit_column"] = "nhom"


@pytest.mark.usefixtures("fresh_cache")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_table_without_unit_column, "bảng van_ban: cần unit_column là một cột chữ để ghi tên đơn vị"),
        (_unit_column_not_text, "bảng van_ban: cần unit_column là một cột chữ để ghi tên đơn vị"),
        (
            _table_not_gathered,
            "trường so_van_ban_cap_uy: bảng của cột “van_ban.nhom” phải cộng dồn theo cách list",
        ),
    ],
)
def test_malformed_table_aggregation_raises(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    patch_spec(monkeypatch, "phu-luc-1.toml", change)
    with pytest.raises(SpecError) as info:
        load_spec("phu-luc-1")
    assert message in str(info.value)


@pytest.mark.parametrize("report_id", REPORTS)
def test_aggregation_by_type_unless_declared(report_id: str) -> None:
    """Counts, amounts, totals and tallies add up, ratios are recomputed, free text is gathered,
    a table's rows are gathered with the unit named; the cover (who reports) is never gathered."""
    spec = load_spec(report_id)
    by_type = {
        "count": "sum",
        "amount": "sum",
        "total": "sum",
        "tally": "sum",
        "ratio": "recompute",
        "text": "list",
    }
    for f in spec.fields:
        if f.form_id == "thong-tin":
            assert f.aggregate == "none", f.id
        elif f.table:
            assert f.aggregate == "list", f.id
        else:
            assert f.aggregate == by_type.get(f.type, "none"), f.id


def test_gathered_tables_name_their_unit() -> None:
    spec = load_spec("phu-luc-1")
    tables = {b.table_id: b.unit_column for s in spec.sections for b in s.blocks if b.kind == "table"}
    assert tables == {"van_ban": "van_ban.trich_yeu", "mo_hinh_tieu_bieu": "mo_hinh_tieu_bieu.dia_ban"}


@pytest.mark.usefixtures("fresh_cache")
def test_declared_aggregation_wins_and_totals_follow_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def change(data: dict[str, Any]) -> None:
        next(f for f in first_fields(data) if f["id"] == "tt_so_tai_lieu")["aggregate"] = "none"

    patch_spec(monkeypatch, "bieu-so-lieu.toml", change)
    assert load_spec("bieu-so-lieu").field_index["tt_so_tai_lieu"].aggregate == "none"
    subs = [
        Submission(FileRecord(f"{code}.xlsx", ""), "bieu-so-lieu", "1", "2024-6T", code, code, values)
        for code, values in (
            ("a", {"tt_so_tai_lieu": 5, "tt_so_cuoc": 2}),
            ("b", {"tt_so_tai_lieu": 7, "tt_so_cuoc": 3}),
        )
    ]
    totals = Consolidation(parse_period("2024-6T"), [], [], subs, []).totals["bieu-so-lieu"]
    assert (totals["tt_so_cuoc"], totals.get("tt_so_tai_lieu")) == (5, None)


@pytest.mark.usefixtures("fresh_cache")
def test_cover_spec_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def change(data: dict[str, Any]) -> None:
        data["sections"][0]["blocks"][0]["fields"][0]["type"] = "name"

    patch_spec(monkeypatch, "_cover.toml", change)
    with pytest.raises(SpecError, match="trường don_vi: kiểu “name” không hợp lệ"):
        load_spec("phu-luc-1")


@pytest.mark.usefixtures("fresh_cache")
def test_broken_toml_names_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "_cover.toml").write_text('id = "thong-tin"\n', encoding="utf-8")
    (folder / "hong.toml").write_text('report_id = "hong"\ntitle = "thiếu ngoặc\n', encoding="utf-8")
    monkeypatch.setattr(spec_module, "resources", SimpleNamespace(files=lambda _pkg: tmp_path))
    assert report_ids() == ["hong"]
    with pytest.raises(SpecError, match=r"^Tệp đặc tả hong\.toml sai cú pháp TOML: "):
        load_spec("hong")


@pytest.mark.usefixtures("fresh_cache")
def test_unknown_report() -> None:
    with pytest.raises(SpecError) as info:
        load_spec("phu-luc-9")
    assert str(info.value) == ("Không có báo cáo “phu-luc-9”. Các báo cáo hiện có: bieu-so-lieu, phu-luc-1.")


@pytest.mark.usefixtures("fresh_cache")
def test_a_failed_load_is_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_spec(monkeypatch, "bieu-so-lieu.toml", _duplicate_id)
    with pytest.raises(SpecError):
        load_spec("bieu-so-lieu")
    monkeypatch.undo()
    assert load_spec("bieu-so-lieu").field_index["hoa_giai_ty_le"].type == "ratio"
