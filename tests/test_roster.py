"""Tests for mttq_xlsx.roster."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mttq_xlsx.errors import MttqError, OutputError, RosterError
from mttq_xlsx.roster import (
    Unit,
    all_communes,
    province_units,
    read_roster,
    strip_diacritics,
    write_roster,
)

BOM = b"\xef\xbb\xbf"


# --- strip_diacritics -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lạng Sơn", "Lang Son"),
        ("Đồng Đăng", "Dong Dang"),
        ("đặc khu Phú Quốc", "dac khu Phu Quoc"),
        ("Ưng Hoà, Thừa Thiên Huế", "Ung Hoa, Thua Thien Hue"),
        ("plain ascii 123", "plain ascii 123"),
    ],
)
def test_strip_diacritics(text: str, expected: str) -> None:
    assert strip_diacritics(text) == expected


def test_strip_diacritics_accepts_decomposed_input() -> None:
    import unicodedata

    assert strip_diacritics(unicodedata.normalize("NFD", "Lạng Sơn")) == "Lang Son"


# --- province_units / all_communes --------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["lang son", "LẠNG SƠN", "Tỉnh Lạng Sơn", "  tinh  lang   son ", "20", "lang_son"],
)
def test_lang_son_same_list_however_named(query: str) -> None:
    assert province_units(query) == province_units("Lạng Sơn")


def test_lang_son_content() -> None:
    units = province_units("Lạng Sơn")
    assert len(units) == 65
    assert all(u.parent_code == "20" for u in units)
    assert {u.kind for u in units} == {"xa", "phuong"}
    names = {u.name for u in units}
    # Full official names, with the type prefix.
    assert "Xã Đồng Đăng" in names
    assert "Phường Lương Văn Tri" in names
    assert all(u.name.startswith(("Xã ", "Phường ")) for u in units)
    # The province itself is not included.
    assert "20" not in {u.code for u in units}
    assert not any(u.name == "Lạng Sơn" for u in units)
    # Official codes: five digits, zero-padded, sorted and unique.
    codes = [u.code for u in units]
    assert codes == sorted(codes)
    assert len(set(codes)) == len(codes)
    assert all(len(c) == 5 and c.isdigit() for c in codes)
    assert next(u.code for u in units if u.name == "Phường Đông Kinh") == "05977"


def test_lai_chau_has_38_communes() -> None:
    units = province_units("Lai Châu")
    assert len(units) == 38
    assert province_units("12") == units
    assert {u.parent_code for u in units} == {"12"}


@pytest.mark.parametrize(
    ("query", "parent_code"),
    [
        ("Thành phố Hà Nội", "01"),
        ("ha noi", "01"),
        ("1", "01"),
        ("01", "01"),
        ("TP. Hồ Chí Minh", "79"),
        ("tphcm", "79"),
        ("Hue", "46"),
        ("dak lak", "66"),
        ("Thanh Hoá", "38"),
    ],
)
def test_province_name_forms(query: str, parent_code: str) -> None:
    units = province_units(query)
    assert units
    assert {u.parent_code for u in units} == {parent_code}


def test_all_communes_totals_and_kinds() -> None:
    units = all_communes()
    assert len(units) == 3321
    assert Counter(u.kind for u in units) == {"xa": 2621, "phuong": 687, "dac_khu": 13}
    assert len({u.code for u in units}) == 3321
    assert len({u.parent_code for u in units}) == 34
    codes = [int(u.code) for u in units]
    assert codes == sorted(codes)
    assert [u for u in units if u.parent_code == "20"] == province_units("20")


def test_all_communes_kind_matches_name_prefix() -> None:
    prefix = {"xa": "Xã ", "phuong": "Phường ", "dac_khu": "Đặc khu "}
    assert all(u.name.startswith(prefix[u.kind]) for u in all_communes())


def test_returned_lists_are_copies() -> None:
    first = all_communes()
    first.clear()
    assert len(all_communes()) == 3321
    lai_chau = province_units("12")
    lai_chau.pop()
    assert len(province_units("12")) == 38


def test_unknown_province_suggests_closest() -> None:
    with pytest.raises(RosterError) as info:
        province_units("Lang Sonn")
    message = str(info.value)
    assert "“Lang Sonn”" in message
    assert "Có phải: Lạng Sơn" in message
    assert isinstance(info.value, MttqError)


def test_unknown_province_at_most_three_suggestions() -> None:
    with pytest.raises(RosterError) as info:
        province_units("Quang")
    suggestions = str(info.value).split("Có phải: ", 1)[1].split("?", 1)[0]
    assert 1 <= len(suggestions.split(", ")) <= 3


@pytest.mark.parametrize("query", ["99", "zzzz", "", "   "])
def test_unknown_province_without_suggestion_says_what_to_do(query: str) -> None:
    with pytest.raises(RosterError) as info:
        province_units(query)
    message = str(info.value)
    assert "Không tìm thấy tỉnh/thành phố" in message
    assert "Lạng Sơn" in message and "20" in message  # shows an example to follow


# --- write_roster / read_roster -----------------------------------------------------------


SAMPLE = [
    Unit("20", "Tỉnh Lạng Sơn", "", "tinh"),
    Unit("6001", "Xã Đồng Đăng", "20", "xa"),
    Unit("5983", "Phường Lương Văn Tri", "20", "phuong"),
    Unit("HD-01", 'Hội "Cựu chiến binh", chi hội 1', "20", "to_chuc"),
]


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    write_roster(SAMPLE, path)
    assert read_roster(path) == SAMPLE


def test_round_trip_whole_province(tmp_path: Path) -> None:
    path = tmp_path / "lang_son.csv"
    units = province_units("Lạng Sơn")
    write_roster(iter(units), path)
    assert read_roster(path) == units


def test_written_file_format(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    write_roster(SAMPLE[:2], path)
    data = path.read_bytes()
    assert data.startswith(BOM)
    assert data[len(BOM) :].decode("utf-8") == (
        "code,name,parent_code,kind\r\n20,Tỉnh Lạng Sơn,,tinh\r\n6001,Xã Đồng Đăng,20,xa\r\n"
    )


def test_email_column_several_addresses(tmp_path: Path) -> None:
    """The optional `email` column: the addresses a unit sends from, separated by ";" (Excel with
    Vietnamese settings saves the file itself with ";": then the cell is quoted)."""
    path = tmp_path / "don-vi.csv"
    path.write_text(
        "code;name;email\n"
        '183;Huyện Cao Lộc;"MTTQ.CaoLoc@gmail.com; vanphong.mttqcaoloc@gmail.com"\n'
        "184;Huyện Văn Quan;\n",
        encoding="utf-8",
    )
    assert read_roster(path) == [
        Unit("183", "Huyện Cao Lộc", "", "", ("mttq.caoloc@gmail.com", "vanphong.mttqcaoloc@gmail.com")),
        Unit("184", "Huyện Văn Quan", "", ""),
    ]


def test_email_column_round_trip_and_written_only_when_used(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    units = [Unit("183", "Huyện Cao Lộc", "20", "huyen", ("a@x.vn", "b@x.vn")), SAMPLE[1]]
    write_roster(units, path)
    assert read_roster(path) == units
    assert path.read_bytes()[len(BOM) :].decode("utf-8") == (
        "code,name,parent_code,kind,email\r\n"
        "183,Huyện Cao Lộc,20,huyen,a@x.vn;b@x.vn\r\n"
        "6001,Xã Đồng Đăng,20,xa,\r\n"
    )


def test_a_bad_address_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "don-vi.csv"
    path.write_text("code,name,email\n1,Xã A,a@x.vn\n2,Xã B,xa-b.gmail.com\n", encoding="utf-8")
    with pytest.raises(RosterError) as info:
        read_roster(path)
    assert str(info.value) == (
        f"Tệp “{path}”, dòng 3: địa chỉ thư “xa-b.gmail.com” của đơn vị mã “2” không hợp lệ (cột email). "
        "Hãy ghi mỗi địa chỉ dạng ten@mien.vn, cách nhau bằng dấu chấm phẩy (;)."
    )


def test_write_replaces_existing_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("old content", encoding="utf-8")
    write_roster(SAMPLE, path)
    assert read_roster(path) == SAMPLE
    assert [p.name for p in tmp_path.iterdir()] == ["roster.csv"]


def test_write_rejects_duplicate_code_and_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    write_roster(SAMPLE, path)
    before = path.read_bytes()
    with pytest.raises(RosterError, match="6001"):
        write_roster([*SAMPLE, Unit("6001", "Xã Khác", "20", "xa")], path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["roster.csv"]


def test_write_creates_a_missing_folder_as_every_output_does(tmp_path: Path) -> None:
    path = tmp_path / "no_such_folder" / "roster.csv"
    write_roster(SAMPLE, path)
    assert read_roster(path) == SAMPLE


def test_write_where_a_file_stands_for_the_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match=r"Không tạo được thư mục .*: đã có tệp trùng tên"):
        write_roster(SAMPLE, tmp_path / "a-file" / "roster.csv")


def test_read_bom_file(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    text = "code,name,parent_code,kind\r\n1,Xã Đồng Đăng,20,xa\r\n2,Phường Tam Thanh,20,phuong\r\n"
    path.write_bytes(BOM + text.encode("utf-8"))
    assert read_roster(path) == [
        Unit("1", "Xã Đồng Đăng", "20", "xa"),
        Unit("2", "Phường Tam Thanh", "20", "phuong"),
    ]


def test_read_without_bom_optional_columns_blank_lines_strip_and_nfc(tmp_path: Path) -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Xã Đồng Đăng")
    assert decomposed != "Xã Đồng Đăng"
    path = tmp_path / "plain.csv"
    path.write_text(f"name , Code\n\n  {decomposed} ,  A1 \n,\nPhường Tam Thanh,A2\n\n", encoding="utf-8")
    assert read_roster(path) == [
        Unit("A1", "Xã Đồng Đăng", "", ""),
        Unit("A2", "Phường Tam Thanh", "", ""),
    ]


def test_read_semicolon_csv_from_vietnamese_excel(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_bytes(BOM + "code;name;parent_code;kind\r\n1;Xã A, thôn B;20;xa\r\n".encode())
    assert read_roster(path) == [Unit("1", "Xã A, thôn B", "20", "xa")]


def test_read_normalises_kind(tmp_path: Path) -> None:
    path = tmp_path / "kind.csv"
    path.write_text("code,name,kind\n1,Đặc khu Cô Tô,Đặc khu\n2,Xã A, XA \n", encoding="utf-8")
    assert [u.kind for u in read_roster(path)] == ["dac_khu", "xa"]


def test_duplicate_code_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("code,name,parent_code,kind\n1,Xã A,,xa\n\n2,Xã B,,xa\n1,Xã C,,xa\n", encoding="utf-8")
    with pytest.raises(RosterError) as info:
        read_roster(path)
    message = str(info.value)
    assert "dup.csv" in message
    assert "“1”" in message
    assert "dòng 2 và dòng 5" in message


def test_duplicate_code_line_numbers_count_multiline_cells(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text('code,name\n1,"Xã A\nthôn B"\n2,Xã B\n1,Xã C\n', encoding="utf-8")
    with pytest.raises(RosterError, match=r"dòng 2 và dòng 5"):
        read_roster(path)


def test_unreadable_csv_says_why_in_vietnamese(tmp_path: Path) -> None:
    """The csv module's own words ("field larger than field limit") are English."""
    path = tmp_path / "dai.csv"
    path.write_text(f'code,name\n1,"{"x" * 200_000}"\n', encoding="utf-8")
    with pytest.raises(RosterError) as info:
        read_roster(path)
    message = str(info.value)
    assert "dòng 2" in message and "có ô quá dài" in message
    assert "field larger" not in message


@pytest.mark.parametrize(("header", "missing"), [("name,kind", "code"), ("code,kind", "name")])
def test_missing_column_named(tmp_path: Path, header: str, missing: str) -> None:
    path = tmp_path / "bad_header.csv"
    path.write_text(f"{header}\nX,Y\n", encoding="utf-8")
    with pytest.raises(RosterError) as info:
        read_roster(path)
    message = str(info.value)
    assert "bad_header.csv" in message
    assert f"thiếu cột “{missing}”" in message


@pytest.mark.parametrize(("body", "what"), [(",Xã A\n", "mã đơn vị"), ("7, \n", "thiếu tên")])
def test_empty_code_or_name_names_the_line(tmp_path: Path, body: str, what: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("code,name\n1,Xã B\n" + body, encoding="utf-8")
    with pytest.raises(RosterError) as info:
        read_roster(path)
    message = str(info.value)
    assert "dòng 3" in message
    assert what in message


# "Xã Đồng Đăng" as Excel saves it with "CSV (Comma delimited)" on Vietnamese Windows
# (cp1258: precomposed base letter + combining tone mark).
CP1258_NAME = b"Xa\xde \xd0\xf4\xccng \xd0\xe3ng"


@pytest.mark.parametrize("name_bytes", [CP1258_NAME, "Xã Bác".encode("latin-1")], ids=["cp1258", "latin-1"])
def test_non_utf8_file(tmp_path: Path, name_bytes: bytes) -> None:
    path = tmp_path / "ansi.csv"
    path.write_bytes(b"code,name\r\n1," + name_bytes + b"\r\n")
    with pytest.raises(RosterError) as info:
        read_roster(path)
    message = str(info.value)
    assert "CSV UTF-8" in message
    assert "ansi.csv" in message
    assert "dòng 2" in message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(BOM + b"\r\n\r\n")
    with pytest.raises(RosterError, match="trống"):
        read_roster(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="Không tìm thấy tệp"):
        read_roster(tmp_path / "nope.csv")


def test_header_only_gives_empty_roster(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("code,name,parent_code,kind\n", encoding="utf-8")
    assert read_roster(path) == []
