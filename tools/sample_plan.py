"""The sample inbox as data: the 11 districts of Lạng Sơn reporting `bieu-so-lieu` for 2024-6T.

Pure data and small helpers, no LibreOffice. `tools/make_samples.py` builds `samples/` from this
plan with real LibreOffice; `tests/test_samples.py` checks the committed files against it.

The accepted (newest) submissions add up exactly to the figures of the real province report
(Lạng Sơn's report on the campaign, first half of 2024): hòa giải thành 739/1.014 vụ việc,
1.646/1.646 khu dân cư có tổ hòa giải, 1.767 cuộc tuyên truyền với 140.278 lượt người. Other
figures are plausible and varied; some fields are left blank on purpose (blank is not zero).

A cell value in the plan is what the unit typed: an int/float (a number), a str (text, kept as
text even when it looks like a number) or a `date`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from mttq_xlsx import fieldmap
from mttq_xlsx.fieldmap import FieldMap
from mttq_xlsx.model import is_number
from mttq_xlsx.numbers import parse_number
from mttq_xlsx.periods import Period, parse_period
from mttq_xlsx.roster import Unit
from mttq_xlsx.spec import SUMMABLE_TYPES, Spec, load_spec
from mttq_xlsx.template import TemplateRequest

REPORT_ID = "bieu-so-lieu"
PERIOD = "2024-6T"
DEADLINE = date(2024, 6, 10)
GENERATED_AT = datetime(2024, 5, 20, 8, 0)  # fixed: the templates the province sent out
VIETNAM = timezone(timedelta(hours=7))
PROVINCE = "20"  # Lạng Sơn

# The kinds of file in the inbox.
TEMPLATE = "template"  # a unit's pre-filled template, filled and saved by LibreOffice
FOREIGN = "foreign"  # a spreadsheet made in LibreOffice that is not our template
LOCK = "lock"  # an Excel owner/lock file "~$…"
NOTE = "note"  # a text file the office keeps in the folder
TRUNCATED = "truncated"  # the first half of a real workbook's bytes (a broken download)

# each unit's mail addresses (the roster's `email` column): the sample mailbox's senders
UNITS: tuple[Unit, ...] = (
    Unit("178", "Thành phố Lạng Sơn", PROVINCE, "thanh_pho", ("mttq.tplangson@gmail.com",)),
    Unit("180", "Huyện Tràng Định", PROVINCE, "huyen", ("mttqtrangdinh@gmail.com",)),
    Unit("181", "Huyện Bình Gia", PROVINCE, "huyen", ("mttq.binhgia@gmail.com",)),
    Unit("182", "Huyện Văn Lãng", PROVINCE, "huyen", ("mttqvanlang.ls@gmail.com",)),
    Unit(
        "183", "Huyện Cao Lộc", PROVINCE, "huyen", ("mttq.caoloc@gmail.com", "vanphong.mttqcaoloc@gmail.com")
    ),
    Unit("184", "Huyện Văn Quan", PROVINCE, "huyen", ("mttqvanquan@gmail.com",)),
    Unit("185", "Huyện Bắc Sơn", PROVINCE, "huyen", ("mttq.bacson.ls@gmail.com",)),
    Unit("186", "Huyện Hữu Lũng", PROVINCE, "huyen", ("mttqhuulung@gmail.com",)),
    Unit("187", "Huyện Chi Lăng", PROVINCE, "huyen", ("mttq.chilang@gmail.com",)),
    Unit("188", "Huyện Lộc Bình", PROVINCE, "huyen", ("mttqlocbinh@gmail.com",)),
    Unit("189", "Huyện Đình Lập", PROVINCE, "huyen", ("mttq.dinhlap@gmail.com",)),
)
CODES = tuple(u.code for u in UNITS)

# What the province report says; the accepted submissions must add up to exactly this.
PROVINCE_REPORT: dict[str, int] = {
    "hoa_giai_so_vu": 1014,
    "hoa_giai_thanh": 739,
    "tong_kdc": 1646,
    "kdc_co_to_hoa_giai": 1646,
    "tt_so_cuoc": 1767,
    "tt_so_luot_nguoi": 140278,
    "tong_don_vi_xa": 200,
}

_: None = None  # a blank cell: the unit did not report the figure (not zero)

# One value per unit, in the order of UNITS:
#            178     180     181     182     183     184     185     186     187     188    189
FIGURES: dict[str, tuple[Any, ...]] = {
    # I. Số liệu chung
    "vb_chi_dao_cap_uy": (6, 4, 3, 4, 5, 3, 4, 5, 4, 3, 2),
    "vb_phoi_hop": (9, 6, 5, 5, 8, 4, 6, 7, 6, 5, 4),
    "tong_don_vi_xa": (8, 22, 19, 17, 23, 17, 17, 24, 20, 21, 12),
    "tong_kdc": (88, 207, 179, 142, 176, 151, 160, 212, 146, 105, 80),
    "kdc_van_hoa": (85, 171, 140, 118, 152, 126, 133, 186, 121, 88, 61),
    "tong_ho": (27415, 15893, 12604, 12187, 19256, 13008, 16530, 30741, 19822, 18715, 7643),
    "gd_van_hoa": (24980, 13210, 10390, 10140, 16630, 10810, 13920, 26530, 16880, 15620, 6180),
    "dan_so": (104820, 64960, 55310, 52870, 79140, 57930, 71340, 126480, 81350, 84230, 30320),
    "kp_cap_huyen": (45.5, 30, 28, _, 32.75, 25, 27.5, 38, 30, 29.25, _),
    "kp_cap_xa": (64, 88, 76, _, 92, 68, 68, 96, 80, 84, 48),
    "kp_ban_ctmt": (52.8, 124.2, 107.4, _, 105.6, 90.6, 96, 127.2, 87.6, 63, 48),
    "ntm_ngan_sach": (1250.5, 3420, 2980.35, 2760, 3115.8, 2540, 2890.125, 3870.4, 3010, 2950.6, 1980),
    "ntm_doanh_nghiep": (845.2, 120, 95.5, 80, 310.75, 60, 140, 520.3, 190, 150, 45),
    "ntm_nhan_dan": (632.118, 410.25, 380, 295.5, 520.8, 300.4, 415.6, 690.35, 405, 388.2, 160.9),
    "ntm_nguon_khac": (_, 35, _, _, 48.2, _, 20, 65, _, 30, _),
    "tt_so_cuoc": (152, 178, 149, 136, 187, 141, 158, 224, 163, 170, 109),
    "tt_so_luot_nguoi": (14230, 12460, 10915, 9820, 15342, 10388, 11907, 18716, 13105, 14020, 9375),
    "tt_so_tai_lieu": (1250, 980, 760, 640, 1120, 700, 820, 1430, 910, 890, 450),
    # II.1 Kinh tế, giảm nghèo (Σ ntm_dat_hien_m2 = 59.482 m², Σ tri_gia_qua = 1.718 triệu đồng
    # for 2.983 people, Σ ntm_tien_ung_ho = 828,864 triệu đồng: figures of the province report)
    "ntm_tien_ung_ho": (142.5, 65.3, 48.75, 52, 96.114, 45.2, 58.6, 121.4, 72.5, 80, 46.5),
    "ntm_dat_hien_m2": (1250, 7420, 6380, 5210, 6950, 4870, 5630, 8940, 5720, 4912, 2200),
    "ntm_ngay_cong": (850, 4200, 3650, 2980, 3870, 2760, 3150, 5120, 3340, 3010, 1480),
    "ntm_tri_gia_ngay_cong": (212.5, 840, 730, 596, 774, 552, 630, 1024, 668, 602, 296),
    "ho_ngheo": (95, 1810, 1520, 1115, 980, 1240, 1460, 1670, 1390, 1820, 1105),
    "ho_ngheo_ho_tro_nha": (1, 4, 3, 3, 2, 3, 3, 3, 2, 4, 2),
    "nguoi_tham_tang_qua": (185, 310, 265, 240, 295, 250, 270, 380, 290, 300, 198),
    "tri_gia_qua": (112.5, 178, 152.5, 138, 170.5, 144, 156, 219, 167, 172.5, 108),
    "ho_ngheo_doan_the_ho_tro": (60, 420, 350, 260, 300, 290, 330, 410, 320, 400, 240),
    "ho_thoat_ngheo": (18, 95, 70, 52, 81, 58, 66, 102, 75, 88, 41),
    "mh_giam_ngheo": (5, 12, 9, 8, 11, 7, 9, 14, 10, 9, 6),
    "htx_moi": (2, 3, 1, _, 4, 2, 2, 5, 3, 2, _),
    "htx_hieu_qua": (11, 14, 9, _, 18, 10, 12, 22, 15, 13, _),
    "mh_lien_ket_kinh_te": (4, 6, 5, 4, 7, 3, 5, 8, 6, 5, 2),
    "mh_van_minh_do_thi": (14, _, _, 1, 3, _, _, 3, 2, 2, _),
    # II.2 Văn hóa, y tế
    "kdc_noi_sinh_hoat": (88, 201, 170, 139, 174, 146, 155, 209, 143, 101, 74),
    "nha_van_hoa_xa": (6, 15, 12, 11, 18, 10, 11, 19, 14, 13, 7),
    "clb_kdc": (46, 38, 25, 22, 41, 24, 30, 52, 33, 29, 14),
    "mh_gia_dinh_hanh_phuc": (12, 9, 7, 6, 10, 6, 8, 13, 9, 8, 4),
    "mh_phong_chong_bao_luc_gd": (8, 7, 6, 5, 9, 5, 6, 10, 7, 7, 3),
    "mh_bao_ve_tre_em": (5, 4, 3, _, 6, 3, 4, 6, 4, _, 2),
    "nguoi_bhyt": (101240, 63120, 54010, 51760, 76820, 56540, 69150, 121980, 78640, 82110, 29840),
    "nguoi_co_cong": (412, 368, 295, 310, 452, 287, 336, 590, 402, 385, 196),
    "nguoi_co_cong_tro_giup": (412, 350, 295, 298, 440, 287, 330, 575, 395, 380, 196),
    "tro_giup_tien": (82.4, 70, 59, 59.6, 88, 57.4, 66, 115, 79, 76, 39.2),
    "tro_giup_hien_vat": (20.6, 17.5, 14.75, 14.9, 22, 14.35, 16.5, 28.75, 19.75, 19, 9.8),
    "quy_den_on_dap_nghia": (645.318, 412.6, 318.25, 296.4, 538.9, 305.75, 356.2, 720.4, 442.1, 398.6, 186.3),
    "thien_tai_tien": (35.5, 18, 12.5, 10, 22, 9.5, 15, 28, 14, 16.5, 6),
    "thien_tai_hien_vat": (12, _, 6.8, _, 9.4, _, 5, 11.2, _, 7, _),
    # II.3 Môi trường (118 tổ tự quản in the city: the province report)
    "mh_bao_ve_moi_truong": (9, 7, 5, 5, 8, 4, 6, 10, 7, 6, 3),
    "mh_xu_ly_chat_thai": (6, 3, 2, 2, 4, 2, 3, 5, 3, 3, 1),
    "to_tu_quan_moi_truong": (118, 64, 45, 40, 72, 38, 50, 86, 55, 47, 22),
    "nguoi_nuoc_hop_ve_sinh": (103950, 60210, 50870, 48320, 75400, 53260, 66480, 119870, 76930, 78940, 27110),
    # II.4 Pháp luật, ANTT (te_nan_phat_sinh: real zeros, typed as 0)
    "mh_antq": (15, 22, 19, 17, 23, 17, 17, 24, 20, 21, 12),
    "mh_atgt": (8, 6, 5, 4, 7, 4, 5, 8, 6, 5, 3),
    "mh_attp": (5, 3, 2, 2, 4, 2, 3, 4, 3, 2, 1),
    "ho_dang_ky_thuc_pham_an_toan": (320, 145, 98, 87, 210, 92, 130, 260, 175, 140, 48),
    "nguoi_cam_hoa": (14, 9, 6, 7, 12, 5, 8, 15, 9, 10, 4),
    "hom_thu_duong_day_nong": (16, 24, 20, 18, 25, 18, 18, 26, 21, 22, 13),
    "nguon_tin_to_giac": (21, 8, 5, 6, 12, 4, 7, 15, 9, 8, 3),
    "te_nan_phat_sinh": (3, 0, 1, 0, 2, 0, 1, 2, 1, 0, 0),
    # II.5 Dân chủ, giám sát (Σ gs_dtcd_so_cuoc = 125 cuộc: the province report)
    "gs_dtcd_so_cuoc": (14, 12, 10, 9, 13, 9, 10, 16, 12, 12, 8),
    "khieu_nai_tiep_nhan": (12, 5, 3, 4, 7, 3, 4, 9, 4, 5, 2),
    "khieu_nai_giai_quyet": (11, 5, 3, 3, 6, 3, 4, 8, 5, 4, 2),  # Chi Lăng: 5 of 4 (a mistake)
    "to_cao_tiep_nhan": (3, 1, _, 1, 2, _, 1, 2, 1, _, _),
    "to_cao_giai_quyet": (3, 1, _, 1, 1, _, 1, 2, 1, _, _),
    "kdc_co_to_hoa_giai": (88, 207, 179, 142, 176, 151, 160, 212, 146, 105, 80),
    "hoa_giai_so_to": (88, 207, 179, 142, 176, 151, 160, 212, 146, 105, 80),
    "hoa_giai_so_vu": (142, 76, 61, 70, 118, 80, 69, 151, 92, 88, 67),
    "hoa_giai_thanh": (118, 52, 43, 49, 87, 54, 47, 108, 66, 63, 52),
}

TEXTS: dict[str, dict[str, str]] = {
    "178": {
        "gs_ket_qua": "Giám sát 14 công trình chỉnh trang đô thị; kiến nghị khắc phục 3 công trình chậm.",
        "dg_to_chuc_dang": "100% chi bộ khu dân cư hoàn thành tốt nhiệm vụ.",
        "dg_chinh_quyen": "Chính quyền các phường, xã hoàn thành tốt nhiệm vụ.",
        "dg_mttq_doan_the": "Mặt trận và các đoàn thể hoàn thành tốt nhiệm vụ.",
    },
    "180": {
        "gs_ket_qua": "Giám sát việc hỗ trợ làm nhà cho hộ nghèo ở 5 xã biên giới; không phát hiện sai phạm.",
        "dg_mttq_doan_the": "Hoạt động của Ban công tác Mặt trận ở khu dân cư có nhiều chuyển biến tích cực.",
    },
    "181": {"gs_ket_qua": "Giám sát 10 công trình đường giao thông nông thôn, chất lượng bảo đảm."},
    "183": {
        "gs_ket_qua": "Giám sát thu chi các loại quỹ do Nhân dân đóng góp tại 13 khu dân cư.",
        "dg_to_chuc_dang": "Các tổ chức đảng ở cơ sở phát huy tốt vai trò lãnh đạo.",
        "dg_chinh_quyen": "Chính quyền cơ sở thực hiện tốt quy chế dân chủ.",
    },
    "186": {
        "gs_ket_qua": "Giám sát 16 công trình; kiến nghị điều chỉnh 2 công trình về chất lượng mặt đường.",
        "dg_mttq_doan_the": "Mặt trận và các đoàn thể hoàn thành tốt nhiệm vụ; 2 đơn vị hoàn thành xuất sắc.",
    },
    "187": {
        "gs_ket_qua": "Giám sát việc giải phóng mặt bằng cao tốc; tiếp nhận 4 đơn kiến nghị của Nhân dân."
    },
    "188": {"dg_chinh_quyen": "Chính quyền các xã biên giới giữ vững an ninh trật tự."},
}

COVER: dict[str, tuple[str, str, str]] = {  # người lập biểu, số điện thoại, thủ trưởng
    "178": ("Hoàng Thị Mai", "0205 3812 456", "Nguyễn Văn Hùng"),
    "180": ("Lương Văn Tuấn", "0205 3880 213", "Hoàng Văn Sơn"),
    "181": ("Nông Thị Hà", "0205 3835 127", "Lý Văn Thành"),
    "182": ("Vi Thị Lan", "0205 3880 645", "Hoàng Đức Minh"),
    "183": ("Lăng Văn Hải", "0205 3861 334", "Chu Thị Hương"),
    "184": ("Hà Thị Thu", "0205 3830 518", "Nông Văn Bình"),
    "185": ("Dương Văn Quý", "0205 3837 402", "Hoàng Thị Nga"),
    "186": ("Nguyễn Thị Hạnh", "0205 3825 761", "Trần Văn Long"),
    "187": ("Lộc Văn Thắng", "0205 3820 189", "Đinh Thị Huế"),
    "188": ("Mã Thị Vân", "0205 3840 256", "Hoàng Văn Cường"),
    "189": ("Đàm Văn Khánh", "0205 3845 093", "Lý Thị Phương"),
}


# ---------------------------------------------------------------------- last period
# `samples/ky-truoc.json`, the JSON report of the same districts' run for the first half of 2023
# (`--previous`): every figure a share of 2024's (PREVIOUS_SHARE, per district), but the
# structure (communes, residential areas, households, population…) the same, and a few figures of
# their own: three that differ from 2024's the way slips do (PREVIOUS_SLIPS), for the outlier
# check to catch, and Chi Lăng's complaints without 2024's mistake (PREVIOUS_FIXED).
PREVIOUS_PERIOD = "2023-6T"
PREVIOUS_DEADLINE = date(2023, 6, 10)
PREVIOUS_SAVED = datetime(2023, 6, 5, 9, 0)
PREVIOUS_SHARE = dict(
    zip(CODES, (0.94, 0.9, 0.92, 0.89, 0.95, 0.91, 0.93, 0.9, 0.96, 0.92, 0.88), strict=True)
)
STRUCTURE = frozenset(
    {
        "tong_don_vi_xa",
        "tong_kdc",
        "tong_ho",
        "dan_so",
        "nguoi_co_cong",
        "kdc_co_to_hoa_giai",
        "hoa_giai_so_to",
    }
)
PREVIOUS_SLIPS: dict[tuple[str, str], float | int] = {
    ("181", "ntm_doanh_nghiep"): 955,  # 2024: 95,5 (a digit lost this year?)
    ("183", "ho_dang_ky_thuc_pham_an_toan"): 52,  # 2024: 210, four times as many
    ("186", "tt_so_luot_nguoi"): 1872,  # 2024: 18.716 (a digit lost last year?)
}
PREVIOUS_FIXED: dict[tuple[str, str], float | int] = {("187", "khieu_nai_giai_quyet"): 4}  # of 4
# The units' 2024 ratios that stand out against the other units' (the outlier check's peers rule).
PEER_OUTLIERS = (("178", "kdc_van_hoa_ty_le"), ("178", "hoa_giai_ty_le"))


def previous_values(code: str) -> dict[str, Any]:
    """What unit `code` reported for the first half of 2023."""
    share = PREVIOUS_SHARE[code]
    values: dict[str, Any] = {}
    for fid, value in unit_values(code).items():
        if fid in FIGURES and fid not in STRUCTURE:
            value = round(value * share) if isinstance(value, int) else round(value * share, 2)
        values[fid] = (PREVIOUS_SLIPS | PREVIOUS_FIXED).get((code, fid), value)
    return values | {"ngay_lap": PREVIOUS_SAVED.date()}


def vn(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A moment in Vietnam time."""
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM)


def unit_values(code: str, **changes: Any) -> dict[str, Any]:
    """What unit `code` typed into its template: cover, figures, texts; `changes` override (None: blank)."""
    i = CODES.index(code)
    person, phone, head = COVER[code]
    values: dict[str, Any] = {"nguoi_lap": person, "dien_thoai": phone, "thu_truong": head}
    values |= {fid: column[i] for fid, column in FIGURES.items() if column[i] is not None}
    values |= TEXTS.get(code, {})
    values |= changes
    return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class ExpectedIssue:
    severity: str  # "error" | "warning"
    code: str
    field_id: str = ""  # "" for a file-level finding (rejected, superseded)


@dataclass(frozen=True)
class SampleFile:
    path: str  # relative to the inbox, "/"-separated, NFC
    kind: str
    about_vi: str
    about_en: str
    fmt: str = ""  # xlsx | xls | ods (workbooks only)
    unit_code: str = ""
    period: str = PERIOD
    values: Mapping[str, Any] = field(default_factory=dict)  # field id -> what was typed
    cells: tuple[tuple[str, str, Any], ...] = ()  # FOREIGN: (sheet, cell, value)
    unprotect: bool = False
    saved_at: datetime | None = None  # the workbook's own last-saved time
    status: str = "accepted"
    reason: str = ""
    issues: tuple[ExpectedIssue, ...] = ()

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _unit_file(path: str, code: str, fmt: str, saved: datetime, vi: str, en: str, **kw: Any) -> SampleFile:
    """A unit's filled template; dated (ngay_lap) the day it was saved."""
    values = {"ngay_lap": saved.date(), **(kw.pop("values", None) or unit_values(code))}
    return SampleFile(
        _nfc(path), TEMPLATE, vi, en, fmt=fmt, unit_code=code, values=values, saved_at=saved, **kw
    )


@cache
def sample_files() -> tuple[SampleFile, ...]:
    """Every file of the inbox, in the order the builder makes them (older duplicates first)."""
    w, e = "warning", "error"
    return (
        _unit_file(
            path="Bieu so lieu 6 thang 2024 - TP Lang Son.xlsx",
            code="178",
            fmt="xlsx",
            saved=vn(2024, 6, 4, 16, 45),
            vi="Thành phố Lạng Sơn, đủ số liệu.",
            en="The city, complete and clean.",
        ),
        _unit_file(
            path="huyen-phia-bac/BC 6 thang - Trang Dinh.xls",
            code="180",
            fmt="xls",
            saved=vn(2024, 6, 5, 10, 20),
            vi="Tràng Định, lưu dạng .xls.",
            en="Tràng Định, saved as .xls.",
        ),
        _unit_file(
            path="huyen-phia-bac/Binh Gia_bieu so lieu.ods",
            code="181",
            fmt="ods",
            saved=vn(2024, 6, 6, 15, 10),
            vi="Bình Gia, lưu dạng .ods; để trống một số chỉ tiêu (trống không phải là 0).",
            en="Bình Gia, saved as .ods; some figures left blank (blank is not zero).",
        ),
        _unit_file(
            path="huyen-phia-bac/Văn Lãng - báo cáo 6 tháng 2024.xls",
            code="182",
            fmt="xls",
            saved=vn(2024, 6, 7, 9, 5),
            vi="Văn Lãng, .xls; không ghi kinh phí Nhà nước cấp (để trống).",
            en="Văn Lãng, .xls; state funding left blank.",
        ),
        _unit_file(
            path="huyen-phia-bac/Van Lang - bao cao nam 2023.xlsx",
            code="182",
            fmt="xlsx",
            saved=vn(2023, 11, 21, 15, 0),
            vi="Văn Lãng gửi nhầm thêm báo cáo cả năm 2023 (mẫu kỳ 2023).",
            en="Văn Lãng also attached last year's annual report (a 2023 template).",
            period="2023",
            values=unit_values(
                "182",
                tong_kdc=142,
                kdc_co_to_hoa_giai=142,
                hoa_giai_so_vu=131,
                hoa_giai_thanh=97,
                tt_so_cuoc=265,
                tt_so_luot_nguoi=18540,
            ),
            status="rejected",
            reason="wrong_period",
            issues=(ExpectedIssue(e, "wrong_period"),),
        ),
        _unit_file(
            path="Báo cáo Cao Lộc.xlsx",
            code="183",
            fmt="xlsx",
            saved=vn(2024, 6, 5, 14, 30),
            vi="Cao Lộc, tên tệp có dấu tiếng Việt.",
            en="Cao Lộc, a file name with Vietnamese diacritics.",
        ),
        _unit_file(
            path="BC Van Quan 6T2024.xls",
            code="184",
            fmt="xls",
            saved=vn(2024, 6, 7, 16, 55),
            vi="Văn Quan bỏ khóa trang tính và gõ tay tỷ lệ hòa giải thành “72,97%” "
            "trong khi 54/80 = 67,50%.",
            en="Văn Quan unprotected the sheet and typed the mediation ratio “72,97%” while its "
            "own 54/80 = 67.50%.",
            values=unit_values("184", hoa_giai_ty_le="72,97%"),
            unprotect=True,
            issues=(ExpectedIssue(e, "ratio_mismatch", "hoa_giai_ty_le"),),
        ),
        _unit_file(
            path="Bắc Sơn - Biểu số liệu 6T.ods",
            code="185",
            fmt="ods",
            saved=vn(2024, 6, 6, 8, 40),
            vi="Bắc Sơn gõ số lượt người dạng chữ “11.907”: vẫn được cộng là 11907.",
            en="Bắc Sơn typed a count as text “11.907”: still counted as 11907.",
            values=unit_values("185", tt_so_luot_nguoi="11.907"),
            issues=(ExpectedIssue(w, "number_as_text", "tt_so_luot_nguoi"),),
        ),
        _unit_file(
            path="huyen-phia-nam/Huu Lung - bieu so lieu.xlsx",
            code="186",
            fmt="xlsx",
            saved=vn(2024, 6, 5, 11, 15),
            vi="Hữu Lũng, bản đầu (số liệu cũ), bị thay bằng bản gửi lại.",
            en="Hữu Lũng, first version (old figures), replaced by the one sent again.",
            values=unit_values(
                "186",
                hoa_giai_so_vu=148,
                hoa_giai_thanh=101,
                tt_so_cuoc=231,
                tt_so_luot_nguoi=19850,
                khieu_nai_giai_quyet=7,
                gs_ket_qua=None,
            ),
            status="superseded",
            reason="duplicate_superseded",
            issues=(ExpectedIssue(w, "duplicate_superseded"),),
        ),
        _unit_file(
            path="huyen-phia-nam/gui-lai/Huu Lung - bieu so lieu (da sua).ods",
            code="186",
            fmt="ods",
            saved=vn(2024, 6, 8, 9, 50),
            vi="Hữu Lũng, bản sửa gửi lại (mới hơn): bản này được tính.",
            en="Hữu Lũng, the corrected version sent again (newer): this one counts.",
        ),
        _unit_file(
            path="huyen-phia-nam/CHI LANG 6T2024.xls",
            code="187",
            fmt="xls",
            saved=vn(2024, 6, 9, 17, 20),
            vi="Chi Lăng ghi số đơn khiếu nại đã giải quyết (5) lớn hơn số tiếp nhận (4).",
            en="Chi Lăng reports more complaints settled (5) than received (4).",
            issues=(ExpectedIssue(e, "part_exceeds_whole", "khieu_nai_ty_le"),),
        ),
        _unit_file(
            path="huyen-phia-nam/Báo cáo 6 tháng Lộc Bình.ods",
            code="188",
            fmt="ods",
            saved=vn(2024, 6, 10, 16, 35),
            vi="Lộc Bình, lưu chiều ngày 10/6 (hạn chót): vẫn đúng hạn.",
            en="Lộc Bình, saved on the afternoon of the deadline (10/6): on time.",
        ),
        replace(
            _unit_file(
                path="huyen-phia-nam/Bieu so lieu Loc Binh.xlsx",
                code="188",
                fmt="xlsx",
                saved=vn(2024, 6, 10, 16, 30),
                vi="Tệp đính kèm tải về không hết (chỉ còn nửa đầu tệp).",
                en="An attachment that did not download completely (the first half of the bytes).",
                status="rejected",
                reason="corrupt_file",
                issues=(ExpectedIssue(e, "corrupt_file"),),
            ),
            kind=TRUNCATED,
        ),
        _unit_file(
            path="huyen-phia-nam/Dinh Lap bao cao 6T.xlsx",
            code="189",
            fmt="xlsx",
            saved=vn(2024, 6, 12, 8, 25),
            vi="Đình Lập lưu ngày 12/6, sau hạn 10/6: nộp muộn (vẫn được tính).",
            en="Đình Lập saved on 12/6, after the 10/6 deadline: late (still counted).",
        ),
        SampleFile(
            path="Danh sach to hoa giai.xlsx",
            kind=FOREIGN,
            about_vi="Bảng tính tự lập, không phải mẫu biểu.",
            about_en="A spreadsheet someone made, not our template.",
            fmt="xlsx",
            cells=(
                ("Tổ hòa giải", "A1", "STT"),
                ("Tổ hòa giải", "B1", "Tên tổ hòa giải"),
                ("Tổ hòa giải", "C1", "Khu dân cư"),
                ("Tổ hòa giải", "D1", "Số thành viên"),
                ("Tổ hòa giải", "A2", 1),
                ("Tổ hòa giải", "B2", "Tổ hòa giải khối 1"),
                ("Tổ hòa giải", "C2", "Khối 1, phường Chi Lăng"),
                ("Tổ hòa giải", "D2", 7),
                ("Tổ hòa giải", "A3", 2),
                ("Tổ hòa giải", "B3", "Tổ hòa giải thôn Nà Cạn"),
                ("Tổ hòa giải", "C3", "Thôn Nà Cạn, xã Hoàng Đồng"),
                ("Tổ hòa giải", "D3", 5),
            ),
            saved_at=vn(2024, 6, 3, 10, 0),
            status="rejected",
            reason="not_a_template",
            issues=(ExpectedIssue(e, "not_a_template"),),
        ),
        SampleFile(
            path=_nfc("~$Báo cáo Cao Lộc.xlsx"),
            kind=LOCK,
            about_vi="Tệp khóa tạm Excel để lại khi mở tệp.",
            about_en="The owner/lock file Excel leaves while a workbook is open.",
            status="ignored",
            reason="not_a_report",
        ),
        SampleFile(
            path="ghi-chu.txt",
            kind=NOTE,
            about_vi="Ghi chú của văn phòng.",
            about_en="The office's notes.",
            status="ignored",
            reason="not_a_report",
        ),
    )


LOCK_BYTES = (
    b"\x08vanphong" + b"\x20" * 45 + b"\x08\x00v\x00a\x00n\x00p\x00h\x00o\x00n\x00g\x00" + b"\x00" * 2
)
NOTE_TEXT = (
    "Hộp thư báo cáo 6 tháng đầu năm 2024 - Biểu số liệu Cuộc vận động\n"
    "- Hạn nộp: 10/6/2024.\n"
    "- Huyện Hữu Lũng gửi lại bản sửa ngày 08/6 (thư mục gui-lai).\n"
    "- Tệp Lộc Bình tải lần đầu bị lỗi, đơn vị đã gửi lại bản .ods.\n"
)


def is_late(sample: SampleFile) -> bool:
    """Saved after the end of the deadline day, Vietnam time."""
    end = datetime.combine(DEADLINE + timedelta(days=1), datetime.min.time(), VIETNAM)
    return sample.saved_at is not None and sample.saved_at >= end


def template_files() -> tuple[SampleFile, ...]:
    return tuple(f for f in sample_files() if f.kind == TEMPLATE)


def accepted_files() -> tuple[SampleFile, ...]:
    return tuple(f for f in sample_files() if f.status == "accepted")


def unit_of(code: str) -> Unit:
    return UNITS[CODES.index(code)]


def period_of(sample: SampleFile) -> Period:
    return parse_period(sample.period)


def template_request(sample: SampleFile, report: Spec | None = None) -> TemplateRequest:
    """The pre-filled template the province sent to the sample's unit."""
    return TemplateRequest(
        spec=report or load_spec(REPORT_ID),
        period=period_of(sample),
        unit=unit_of(sample.unit_code),
        generated_at=GENERATED_AT,
    )


# ---------------------------------------------------------------------- reading the field map
def read_field_map(path: Path) -> tuple[dict[str, str], FieldMap]:
    """The `_mttq` keys and field map of any workbook format (LibreOffice keeps it, as a hidden sheet)."""
    book = CalamineWorkbook.from_path(str(path))
    return fieldmap.parse(book.get_sheet_by_name(fieldmap.META_SHEET).to_python())


# ---------------------------------------------------------------------- what the files hold
def job_value(value: Any) -> Any:
    """A planned value as tools/libreoffice.py's job format wants it."""
    return {"date": value.isoformat()} if isinstance(value, date) else value


def counted(value: Any) -> float | int | None:
    """What consolidation adds up for a typed value: numbers, and numbers written as text."""
    if isinstance(value, bool | date):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            parsed = parse_number(value)
        except Exception:
            return None
        return None if parsed.is_percent else parsed.value
    return None


def expected_raw(sample: SampleFile, report: Spec) -> dict[str, Any]:
    """Every field's value as `reader.read_submission` returns it from the built file (before checks).

    Derived cells hold what LibreOffice calculated: a total `IF(COUNT(parts)=0,"",SUM(parts))`
    (text parts are not counted), a ratio `IF(OR(num="",den="",den=0),"",num/den)`. A blank
    result reads as None, except in .xls: LibreOffice's xls export caches a formula's ""
    result as the number 0.
    """
    period = period_of(sample)
    unit = unit_of(sample.unit_code)
    prefill = {"unit_name": unit.name, "unit_code": unit.code, "period_label": period.label}
    blank = 0.0 if sample.fmt == "xls" else None
    out: dict[str, Any] = {}
    for f in report.fields:
        if f.id in sample.values:
            out[f.id] = sample.values[f.id]
        elif f.prefill:
            out[f.id] = prefill[f.prefill]
        elif f.is_input:
            out[f.id] = None
        elif f.type == "total":
            parts = [sample.values.get(p) for p in f.parts]
            numbers = [p for p in parts if is_number(p)]
            out[f.id] = sum(numbers) if numbers else blank
        elif f.type == "ratio":
            num, den = sample.values.get(f.numerator), sample.values.get(f.denominator)
            if num is None or den is None or den == 0:
                out[f.id] = blank
            else:
                assert is_number(num) and is_number(den), f"{f.id}: plan puts text into a ratio"
                out[f.id] = num / den
        else:
            raise AssertionError(f"{f.id}: the plan has no rule for type {f.type}")
    return out


def unit_figures(sample: SampleFile, report: Spec) -> dict[str, float | int | None]:
    """A unit's numeric figures as consolidation counts them (derived totals from their parts)."""
    out: dict[str, float | int | None] = {}
    for f in report.fields:
        if not f.is_numeric or f.table:
            continue
        if f.type == "total":
            parts = [counted(sample.values.get(p)) for p in f.parts]
            numbers = [p for p in parts if p is not None]
            out[f.id] = sum(numbers) if numbers else None
        elif f.type != "ratio":
            out[f.id] = counted(sample.values.get(f.id))
    return out


def expected_totals(files: tuple[SampleFile, ...] | None = None) -> dict[str, float | int | None]:
    """Σ over the accepted files of every summable field; ratios as Σnumerator / Σdenominator."""
    report = load_spec(REPORT_ID)
    files = accepted_files() if files is None else files
    per_unit = [unit_figures(f, report) for f in files]
    totals: dict[str, float | int | None] = {}
    for f in report.fields:
        if f.type in SUMMABLE_TYPES and not f.table:
            values = [u[f.id] for u in per_unit if u.get(f.id) is not None]
            totals[f.id] = round(sum(values), 9) if values else None  # type: ignore[arg-type]
    for f in report.fields:
        if f.type == "ratio":
            num, den = totals.get(f.numerator), totals.get(f.denominator)
            totals[f.id] = num / den if num is not None and den else None
    return totals


def check_plan() -> None:
    """Raise AssertionError when the plan is inconsistent with itself or with the province report."""
    report = load_spec(REPORT_ID)
    index = report.field_index
    problems: list[str] = []
    for fid, column in FIGURES.items():
        if fid not in index or not index[fid].is_input:
            problems.append(f"{fid}: not an input field of {REPORT_ID}")
        if len(column) != len(UNITS):
            problems.append(f"{fid}: {len(column)} values for {len(UNITS)} units")
    for code, texts in TEXTS.items():
        problems += [f"{code}.{fid}: not a text field" for fid in texts if index[fid].type != "text"]
    paths = [f.path for f in sample_files()]
    if len(set(paths)) != len(paths):
        problems.append("two planned files have the same path")
    if {f.unit_code for f in accepted_files()} != set(CODES) or len(accepted_files()) != len(UNITS):
        problems.append("every unit needs exactly one accepted file")
    totals = expected_totals()
    for fid, want in PROVINCE_REPORT.items():
        if totals.get(fid) != want:
            problems.append(f"Σ {fid} = {totals.get(fid)}, the province report says {want}")
    planned = {(f.unit_code, i.field_id) for f in accepted_files() for i in f.issues}
    for sample in accepted_files():
        for f in report.fields:
            if f.type != "ratio" or (sample.unit_code, f.id) in planned:
                continue
            num, den = (counted(sample.values.get(x)) for x in (f.numerator, f.denominator))
            if num is not None and den is not None and num > den:
                problems.append(f"{sample.path}: {f.numerator} {num} > {f.denominator} {den}")
    if problems:
        raise AssertionError("sample plan: " + "; ".join(problems))
