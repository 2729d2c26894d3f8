"""Vietnamese number parsing and formatting (mttq_xlsx.numbers)."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mttq_xlsx.errors import MttqError, NumberError
from mttq_xlsx.numbers import (
    ParsedNumber,
    format_figure,
    format_number,
    format_percent,
    format_ratio,
    parse_number,
    ratio_matches,
)

# --- parse_number: accepted text ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "decimals"),
    [
        # dot groups thousands
        ("1.014", 1014, 0),
        ("140.278", 140278, 0),
        ("862.796.456", 862796456, 0),
        ("1.000.000.000", 1000000000, 0),
        # plain
        ("1014", 1014, 0),
        ("0", 0, 0),
        ("7", 7, 0),
        ("007", 7, 0),
        # decimal comma
        ("3.797,118", 3797.118, 3),
        ("72,87", 72.87, 2),
        ("0,5", 0.5, 1),
        ("1,5", 1.5, 1),
        ("12,5", 12.5, 1),
        ("1,50", 1.5, 2),
        ("1,0", 1.0, 1),
        ("1.014,5", 1014.5, 1),
        ("0,125", 0.125, 3),  # a 0 head cannot be English thousands grouping
        ("1234,567", 1234.567, 3),  # neither can a 4-digit head
        ("12,3456", 12.3456, 4),
        # spaces group thousands too
        ("1 014", 1014, 0),
        ("10 000 000", 10000000, 0),
        ("1 014,5", 1014.5, 1),
        # signs
        ("-1.014", -1014, 0),
        ("+1.014", 1014, 0),
        ("−1.014", -1014, 0),  # U+2212 minus
        ("- 5", -5, 0),
        ("-3,5", -3.5, 1),
        ("-0", 0, 0),
    ],
)
def test_parse_plain_numbers(text: str, value: float, decimals: int) -> None:
    parsed = parse_number(text)
    assert parsed == ParsedNumber(value=value, is_percent=False, decimals=decimals, unit=None)
    assert type(parsed.value) is type(value)


@pytest.mark.parametrize(
    ("text", "fraction", "decimals"),
    [
        ("72,87%", 0.7287, 2),
        ("72,87 %", 0.7287, 2),
        ("73%", 0.73, 0),
        ("100%", 1.0, 0),
        ("0%", 0.0, 0),
        ("12,5%", 0.125, 1),
        ("-5%", -0.05, 0),
        ("1.014%", 10.14, 0),
    ],
)
def test_parse_percent(text: str, fraction: float, decimals: int) -> None:
    parsed = parse_number(text)
    assert parsed == ParsedNumber(value=fraction, is_percent=True, decimals=decimals, unit=None)
    assert type(parsed.value) is float


def test_percent_is_built_without_float_error() -> None:
    value = parse_number("72,87%").value
    assert value == 0.7287
    assert value == round(72.87 / 100, 10)
    assert parse_number("0,07%").value == 0.0007  # 0.07 / 100 in floats is 0.0007000000000000001


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("59.482 m2", 59482, "m²"),
        ("59.482 m²", 59482, "m²"),
        ("59.482m2", 59482, "m²"),
        ("59.482m²", 59482, "m²"),
        ("59.482 M2", 59482, "m²"),
        ("5 km2", 5, "km²"),
        ("5 m3", 5, "m³"),
        ("1.718 triệu", 1718, "triệu đồng"),
        ("1.718 triệu đồng", 1718, "triệu đồng"),
        ("1.718 tr.đ", 1718, "triệu đồng"),
        ("1.718 trđ", 1718, "triệu đồng"),
        ("1.718 Triệu Đồng", 1718, "triệu đồng"),
        ("500.000 đồng", 500000, "đồng"),
        ("500.000 đ", 500000, "đồng"),
        ("500.000đ", 500000, "đồng"),
        ("500.000 VNĐ", 500000, "đồng"),
        ("12 ngày", 12, "ngày"),
        ("1.014 vụ", 1014, "vụ"),
        ("1.014vụ", 1014, "vụ"),
        ("3 cuộc", 3, "cuộc"),
        ("25 người", 25, "người"),
        ("25 Người", 25, "người"),
        ("40 hộ", 40, "hộ"),
        ("1.200 lượt", 1200, "lượt"),
        ("2 lượt  người", 2, "lượt người"),
        ("2,5 tỷ", 2.5, "tỷ"),
    ],
)
def test_parse_units(text: str, value: float, unit: str) -> None:
    parsed = parse_number(text)
    assert parsed.value == value
    assert type(parsed.value) is type(value)
    assert parsed.unit == unit
    assert parsed.is_percent is False


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("\u00a01.014\u00a0", 1014, None),
        ("1\u00a0014", 1014, None),
        ("1\u202f014", 1014, None),
        ("  862.796.456\t\n", 862796456, None),
        ("1.014\u00a0vụ", 1014, "vụ"),
        ("72,87\u00a0%", 0.7287, None),
        ("\u200b1.014", 1014, None),  # zero-width space from copy-paste
    ],
)
def test_parse_strips_unusual_whitespace(text: str, value: float, unit: str | None) -> None:
    parsed = parse_number(text)
    assert parsed.value == value
    assert parsed.unit == unit


@pytest.mark.parametrize(
    ("text", "unit"),
    [("1.718 triệu", "triệu đồng"), ("12 ngày", "ngày"), ("1.014 vụ", "vụ"), ("25 người", "người")],
)
def test_parse_accepts_nfd(text: str, unit: str) -> None:
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    assert parse_number(nfd) == parse_number(text)
    assert parse_number(nfd).unit == unit


# --- parse_number: refused text -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # a single dot not followed by exactly 3 digits: decimal point or typo?
        ("1.5", "hãy ghi 1,5 hoặc 15"),
        ("1.50", "hãy ghi 1,50 hoặc 150"),
        ("12.3456", "hãy ghi 12,3456 hoặc 123.456"),
        ("1234.567", "hãy ghi 1.234,567 hoặc 1.234.567"),
        ("0.500", "hãy ghi 0,500 hoặc 500"),
        ("-1.5", "hãy ghi -1,5 hoặc -15"),
        ("1.5 m2", "hãy ghi 1,5 hoặc 15"),
        # bad dot grouping
        ("1.23.456", "sau mỗi dấu chấm đúng 3 chữ số"),
        ("1.014.5", "sau mỗi dấu chấm đúng 3 chữ số"),
        ("1234.567.890", "1–3 chữ số"),
        ("1.5,3", "sau mỗi dấu chấm đúng 3 chữ số"),
        # comma + exactly 3 digits: English thousands or Vietnamese decimal?
        ("1,014", "không rõ nghĩa"),
        ("999,999", "không rõ nghĩa"),
        ("1,014 triệu", "không rõ nghĩa"),
        ("-1,014", "hãy ghi -1.014"),
        ("3,125%", "không rõ nghĩa"),
        # English convention
        ("1,014.5", "kiểu Anh"),
        ("1,014,500", "kiểu Anh"),
        ("862,796,456.25", "hãy ghi 862.796.456,25"),
        # commas
        ("1,2,3", "nhiều dấu phẩy"),
        ("1,5.3", "sau dấu phẩy thập phân chỉ được có chữ số"),
        ("1,5 000", "sau dấu phẩy thập phân chỉ được có chữ số"),
        # spaces
        ("12 3", "dấu cách"),
        ("1.014 2", "trộn dấu chấm và dấu cách"),
        # not a single number
        ("không có", "không có chữ số"),
        ("khoảng 100", "chữ đứng trước số"),
        ("100 - 200", "nhiều hơn một số"),
        ("100-200", "nhiều hơn một số"),
        ("100/200", "nhiều hơn một số"),
        ("1.014 vụ, 200 người", "nhiều hơn một số"),
        ("--5", "phải bắt đầu bằng chữ số"),
        ("~100", "phải bắt đầu bằng chữ số"),
        (",5", "hãy ghi 0,5"),
        (".5", "hãy ghi 0,5"),
        ("1.", "không phải là đơn vị"),
        ("1,", "không phải là đơn vị"),
        ("100 (vụ)", "không phải là đơn vị"),
        ("72,87% x", "sau dấu %"),
        ("72,87%%", "sau dấu %"),
    ],
)
def test_parse_refuses_with_reason(text: str, reason: str) -> None:
    with pytest.raises(NumberError) as caught:
        parse_number(text)
    message = str(caught.value)
    assert f"“{text}”" in message
    assert reason in message


def test_parse_1_5_message_explains_the_convention() -> None:
    with pytest.raises(NumberError) as caught:
        parse_number("1.5")
    assert str(caught.value) == (
        "“1.5” không rõ nghĩa: theo cách viết Việt Nam dấu chấm ngăn cách hàng nghìn,"
        " dấu phẩy là dấu thập phân; hãy ghi 1,5 hoặc 15"
    )


def test_parse_ambiguous_comma_names_both_readings() -> None:
    with pytest.raises(NumberError) as caught:
        parse_number("1,014")
    message = str(caught.value)
    assert "1.014" in message  # the English reading, written the Vietnamese way
    assert "1 phẩy 014" in message


@pytest.mark.parametrize("text", ["", "   ", "\u00a0", "\u200b"])
def test_parse_refuses_empty(text: str) -> None:
    with pytest.raises(NumberError, match="Chưa có số"):
        parse_number(text)


def test_parse_error_quotes_cleaned_text() -> None:
    with pytest.raises(NumberError) as caught:
        parse_number("\u00a01.5\u00a0")
    assert "“1.5”" in str(caught.value)


def test_number_error_is_an_mttq_error() -> None:
    with pytest.raises(MttqError):
        parse_number("1.5")


def test_parse_rejects_non_str() -> None:
    with pytest.raises(TypeError):
        parse_number(1014)  # type: ignore[arg-type]


# --- formatting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (1014, 0, "1.014"),
        (140278, 0, "140.278"),
        (862796456, 0, "862.796.456"),
        (3797.118, 3, "3.797,118"),
        (0.5, 1, "0,5"),
        (0, 0, "0"),
        (999, 0, "999"),
        (1000, 0, "1.000"),
        (-1014, 0, "-1.014"),
        (-3797.118, 3, "-3.797,118"),
        (1014, 2, "1.014,00"),
        (1014.5, 0, "1.015"),  # half up
        (2.5, 0, "3"),  # banker's rounding would give 2
        (0.125, 2, "0,13"),  # banker's rounding would give 0,12
        (2.675, 2, "2,68"),  # the float is 2.67499..., but people wrote 2,675
        (-2.5, 0, "-3"),
        (-0.001, 2, "0,00"),  # no "-0,00"
        (10**12, 0, "1.000.000.000.000"),
        (1e20, 0, "100.000.000.000.000.000.000"),
    ],
)
def test_format_number(value: float, decimals: int, expected: str) -> None:
    assert format_number(value, decimals) == expected


def test_format_number_default_decimals_is_zero() -> None:
    assert format_number(1014.4) == "1.014"


@pytest.mark.parametrize(("value", "decimals"), [(float("nan"), 0), (float("inf"), 0), (1.0, -1)])
def test_format_number_refuses(value: float, decimals: int) -> None:
    with pytest.raises((NumberError, ValueError)):
        format_number(value, decimals)


@pytest.mark.parametrize(
    ("fraction", "decimals", "expected"),
    [
        (0.728797, 2, "72,88%"),
        (0.7287968441814595, 2, "72,88%"),
        (0.7287, 2, "72,87%"),
        (0.73, 0, "73%"),
        (0.00125, 2, "0,13%"),  # half up, not banker's
        (0.005, 0, "1%"),
        (1, 2, "100,00%"),
        (0, 2, "0,00%"),
        (12.5, 0, "1.250%"),
        (-0.05, 1, "-5,0%"),
    ],
)
def test_format_percent(fraction: float, decimals: int, expected: str) -> None:
    assert format_percent(fraction, decimals) == expected


def test_format_percent_default_two_decimals() -> None:
    assert format_percent(0.728797) == "72,88%"


@pytest.mark.parametrize(
    ("numerator", "denominator", "decimals", "expected"),
    [
        (739, 1014, 2, "739/1.014 = 72,88%"),
        (739, 0, 2, "739/0"),
        (1014, 1014, 2, "1.014/1.014 = 100,00%"),
        (0, 5, 2, "0/5 = 0,00%"),
        (1, 8, 1, "1/8 = 12,5%"),
        (1, 8, 0, "1/8 = 13%"),  # half up
        (29, 400, 1, "29/400 = 7,3%"),  # 7,25 exactly, computed in Decimal
        (12.5, 100, 2, "12,5/100 = 12,50%"),
        (739.0, 1014.0, 2, "739/1.014 = 72,88%"),
    ],
)
def test_format_ratio(numerator: float, denominator: float, decimals: int, expected: str) -> None:
    assert format_ratio(numerator, denominator, decimals) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1014, "1.014"),
        (140278, "140.278"),
        (828.864, "828,864"),  # the province report's triệu đồng
        (3797.118, "3.797,118"),
        (2556.75, "2.556,75"),
        (1952.4000000000001, "1.952,4"),  # float noise of a sum is not shown
        (0.1 + 0.2, "0,3"),
        (100.0, "100"),
        (0, "0"),
        (1e20, "100.000.000.000.000.000.000"),
    ],
)
def test_format_figure_writes_the_decimals_a_figure_has(value: float, expected: str) -> None:
    assert format_figure(value) == expected


def test_format_ratio_default_two_decimals() -> None:
    assert format_ratio(739, 1014) == "739/1.014 = 72,88%"


# --- ratio tolerance ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("72,87%", True),  # truncated
        ("72,88%", True),  # rounded
        ("73%", True),  # one percentage point tolerance at 0 decimals
        ("72,97%", False),
        ("72,86%", False),
        ("72,9%", True),
        ("72,7%", False),
    ],
)
def test_ratio_matches_typed_percent(shown: str, expected: bool) -> None:
    parsed = parse_number(shown)
    assert ratio_matches(parsed.value, parsed.decimals, 739, 1014) is expected


@pytest.mark.parametrize(
    ("fraction", "decimals", "expected"),
    [
        (0.7287, 2, True),
        (0.7288, 2, True),
        (0.73, 0, True),
        (0.7297, 2, False),
        (0.07287, 3, False),  # 7,287%: parse_number refuses the text itself as ambiguous
        (0.7287968441814595, None, True),
        (0.7288, None, False),
        (0.7287968441814595 + 5e-10, None, True),
        (0.7287968441814595 + 2e-9, None, False),
    ],
)
def test_ratio_matches_739_of_1014(fraction: float, decimals: int | None, expected: bool) -> None:
    assert ratio_matches(fraction, decimals, 739, 1014) is expected


@pytest.mark.parametrize(
    ("fraction", "decimals", "expected"),
    [
        (0.51, 0, True),  # exactly one unit off; 0.51 - 0.5 is 0.010000000000000009 in floats
        (0.49, 0, True),
        (0.5101, 0, False),
        (0.4899, 0, False),
        (0.5001, 2, True),
        (0.5002, 2, False),
    ],
)
def test_ratio_matches_bound_is_inclusive(fraction: float, decimals: int, expected: bool) -> None:
    assert ratio_matches(fraction, decimals, 1, 2) is expected


def test_ratio_matches_zero_denominator_never_matches() -> None:
    assert ratio_matches(0.0, 2, 0, 0) is False
    assert ratio_matches(0.0, None, 739, 0) is False


# --- round trips ----------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**12))
def test_roundtrip_integers(n: int) -> None:
    parsed = parse_number(format_number(n))
    assert parsed.value == n
    assert type(parsed.value) is int


@given(st.integers(min_value=-(10**12), max_value=-1))
def test_roundtrip_negative_integers(n: int) -> None:
    assert parse_number(format_number(n)).value == n


def _three_place_amounts(min_abs: Decimal, max_abs: Decimal) -> st.SearchStrategy[Decimal]:
    magnitude = st.decimals(min_value=min_abs, max_value=max_abs, places=3)
    return st.tuples(magnitude, st.booleans()).map(lambda p: -p[0] if p[1] else p[0])


@given(
    st.one_of(
        _three_place_amounts(Decimal("1000"), Decimal("1e9")),
        _three_place_amounts(Decimal("0"), Decimal("0.999")),
    )
)
def test_roundtrip_three_decimals(amount: Decimal) -> None:
    text = format_number(float(amount), 3)
    parsed = parse_number(text)
    assert parsed.value == float(amount)
    assert parsed.decimals == 3


@given(_three_place_amounts(Decimal("1"), Decimal("999.999")))
def test_three_decimals_below_1000_are_ambiguous(amount: Decimal) -> None:
    # "12,500" could be English 12500, so it cannot round-trip through text.
    text = format_number(float(amount), 3)
    with pytest.raises(NumberError, match="không rõ nghĩa"):
        parse_number(text)


@given(
    st.sampled_from([1, 2, 4]).flatmap(
        lambda places: st.tuples(
            st.decimals(min_value=-(10**9), max_value=10**9, places=places), st.just(places)
        )
    )
)
def test_roundtrip_other_decimal_places(case: tuple[Decimal, int]) -> None:
    amount, places = case
    parsed = parse_number(format_number(float(amount), places))
    assert parsed.value == float(amount)
    assert parsed.decimals == places


@given(st.decimals(min_value=0, max_value=2, places=4))
def test_roundtrip_percent(fraction: Decimal) -> None:
    text = format_percent(float(fraction), 2)
    parsed = parse_number(text)
    assert parsed.is_percent
    assert parsed.value == float(fraction)
    assert ratio_matches(parsed.value, parsed.decimals, float(fraction), 1.0)
