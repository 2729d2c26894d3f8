"""Numbers as Vietnamese reports write them: parse what people type, format what we write.

Vietnamese puts ``.`` between thousands and ``,`` before decimals: ``3.797,118`` is 3797.118
and ``1.014`` is 1014. Text that could be read two ways (``1.5``, ``1,014``) is refused with a
reason rather than guessed.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from mttq_xlsx.errors import NumberError

__all__ = [
    "PERCENT_DECIMALS",
    "PERCENT_FORMAT",
    "ParsedNumber",
    "format_figure",
    "format_number",
    "format_percent",
    "format_ratio",
    "parse_number",
    "ratio_matches",
]

# A ratio cell (templates and summary) shows a percent with this many decimals: 72,88%.
PERCENT_DECIMALS = 2
PERCENT_FORMAT = "0." + "0" * PERCENT_DECIMALS + "%"

_RULE = "theo cách viết Việt Nam dấu chấm ngăn cách hàng nghìn, dấu phẩy là dấu thập phân"

_NEGATIVE_SIGNS = frozenset("-−")
_SIGNS = _NEGATIVE_SIGNS | {"+"}
_DIGITS = frozenset("0123456789")
# Zero-width characters that survive copy-paste from Word/web pages.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_SPACE_RUN = re.compile(r"\s+")  # \s covers U+00A0 and U+202F in str patterns
_BODY = re.compile(r"[0-9]+(?:[., ][0-9]+)*")
_ENGLISH = re.compile(r"([0-9]{1,3}(?:,[0-9]{3})+)(?:\.([0-9]+))?")
# The only digits allowed in a unit: m2, km2, m3 ... ("59.482m2" must keep its 2 out of the number).
_METRIC_POWER = re.compile(r"([kcdm]?m)([23])")
_SUPERSCRIPT = {"2": "²", "3": "³"}
_UNIT_ALIASES = {
    "triệu": "triệu đồng",
    "triệu đồng": "triệu đồng",
    "triệu đ": "triệu đồng",
    "tr.đ": "triệu đồng",
    "tr. đ": "triệu đồng",
    "tr.đồng": "triệu đồng",
    "trđ": "triệu đồng",
    "đồng": "đồng",
    "đ": "đồng",
    "vnđ": "đồng",
    "vnd": "đồng",
}


@dataclass(frozen=True)
class ParsedNumber:
    """A number read from Vietnamese text.

    ``value`` is an int when no decimal part was written (and it is not a percent); percents
    are fractions (``"72,87%"`` -> 0.7287). ``decimals`` counts the digits written after the
    decimal comma, in the notation written (percent digits for percents).
    """

    value: float | int
    is_percent: bool
    decimals: int
    unit: str | None


def parse_number(text: str) -> ParsedNumber:
    """Read one number written the Vietnamese way, with an optional ``%`` or unit after it.

    Raises NumberError, with the reason in Vietnamese, for anything not a single number or
    readable two ways.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_number expects str, got {type(text).__name__}")
    clean = _clean(text)
    if not clean:
        raise NumberError("Chưa có số (ô trống hoặc chỉ có dấu cách); hãy ghi một số, ví dụ 0")
    if not any(ch in _DIGITS for ch in clean):
        raise NumberError(f"“{clean}” không phải là số: không có chữ số nào; hãy ghi một số, ví dụ 0")

    pos = 0
    negative = False
    if clean[0] in _SIGNS:
        negative = clean[0] in _NEGATIVE_SIGNS
        pos = 2 if clean[1:2] == " " else 1
    body_match = _BODY.match(clean, pos)
    if body_match is None:
        raise _bad_start(clean, clean[pos:])

    int_digits, frac_digits = _split_body(clean, body_match.group(), "-" if negative else "")
    is_percent, unit = _parse_suffix(clean, clean[body_match.end() :].strip())

    sign = "-" if negative else ""
    if is_percent:
        exact = Decimal(f"{sign}{int_digits}.{frac_digits or '0'}").scaleb(-2)
        value: float | int = float(exact)
    elif frac_digits:
        value = float(Decimal(f"{sign}{int_digits}.{frac_digits}"))
    else:
        value = -int(int_digits) if negative else int(int_digits)
    return ParsedNumber(value=value, is_percent=is_percent, decimals=len(frac_digits), unit=unit)


def format_number(value: float | int, decimals: int = 0) -> str:
    """Vietnamese notation, rounded half up: 1014 -> "1.014", (3797.118, 3) -> "3.797,118"."""
    return _format_decimal(_to_decimal(value), decimals)


def format_figure(value: float | int, max_decimals: int = 9) -> str:
    """A figure with the decimals it has (at most `max_decimals`, rounded half up), as reports
    write it: 1014 -> "1.014", 828.864 -> "828,864", 2556.75 -> "2.556,75"."""
    exact = _to_decimal(value)
    context = Context(prec=max(28, exact.adjusted() + max_decimals + 2))
    rounded = exact.quantize(Decimal(1).scaleb(-max_decimals), rounding=ROUND_HALF_UP, context=context)
    return _format_decimal(rounded, _written_decimals(rounded))


def format_percent(fraction: float, decimals: int = PERCENT_DECIMALS) -> str:
    """A fraction as a Vietnamese percent, rounded half up: 0.728797 -> "72,88%"."""
    return _format_decimal(_to_decimal(fraction).scaleb(2), decimals) + "%"


def format_ratio(numerator: float, denominator: float, decimals: int = 2) -> str:
    """``"739/1.014 = 72,88%"``; with a zero denominator only ``"739/0"``."""
    num = _to_decimal(numerator)
    den = _to_decimal(denominator)
    shown = f"{_format_decimal(num, _written_decimals(num))}/{_format_decimal(den, _written_decimals(den))}"
    if den == 0:
        return shown
    with localcontext() as ctx:
        ctx.prec = 40
        percent = (num / den).scaleb(2)
    return f"{shown} = {_format_decimal(percent, decimals)}%"


def ratio_matches(shown_fraction: float, decimals: int | None, numerator: float, denominator: float) -> bool:
    """Whether a ratio shown in a report agrees with numerator/denominator.

    With ``decimals`` (digits after the comma in percent notation) the shown value may be off
    by up to one unit of its last digit, so both truncated and rounded figures pass:
    739/1014 = 72,8797% accepts 72,87%, 72,88% and 73%. With ``decimals=None`` the value is
    a cached spreadsheet float and must agree to 1e-9. A zero denominator never matches.
    """
    if denominator == 0:
        return False
    true_fraction = numerator / denominator
    diff = abs(shown_fraction - true_fraction)
    if decimals is None:
        return diff <= 1e-9
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    unit = 10.0 ** -(decimals + 2)
    # The relative slack only absorbs binary float error at exactly one unit off.
    return diff <= unit * (1 + 1e-6)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return _SPACE_RUN.sub(" ", text).strip()


def _bad_start(clean: str, after_sign: str) -> NumberError:
    first = after_sign[:1]
    if first.isalpha():
        return NumberError(
            f"“{clean}” có chữ đứng trước số; chỉ được ghi một số, đơn vị (nếu có) đặt sau số, ví dụ 1.014 vụ"
        )
    leading_fraction = re.match(r"[.,]([0-9]+)", after_sign)
    if leading_fraction:
        return NumberError(
            f"“{clean}” phải bắt đầu bằng chữ số; hãy ghi 0,{leading_fraction.group(1)}"
            " (theo cách viết Việt Nam dấu phẩy là dấu thập phân)"
        )
    return NumberError(f"“{clean}” phải bắt đầu bằng chữ số (có thể có dấu - hoặc + ngay trước số)")


def _split_body(clean: str, body: str, sign: str) -> tuple[str, str]:
    """Check the digits-and-separators part; return (integer digits, fraction digits)."""
    english = _ENGLISH.fullmatch(body)
    if english and ("." in body or body.count(",") > 1):
        whole = _group(english.group(1).replace(",", ""))
        fraction = english.group(2)
        suggestion = f"{sign}{whole},{fraction}" if fraction else f"{sign}{whole}"
        raise NumberError(
            f"“{clean}” viết theo kiểu Anh (dấu phẩy ngăn cách hàng nghìn, dấu chấm thập phân),"
            f" ngược với cách viết Việt Nam; hãy ghi {suggestion}"
        )
    if body.count(",") > 1:
        raise NumberError(f"“{clean}” có nhiều dấu phẩy: {_RULE}, nên chỉ được có một dấu phẩy")

    int_part, has_comma, frac = body.partition(",")
    if has_comma and not frac.isdigit():
        raise NumberError(f"“{clean}” không hợp lệ: sau dấu phẩy thập phân chỉ được có chữ số; {_RULE}")

    separators = {ch for ch in int_part if ch in ". "}
    if len(separators) > 1:
        raise NumberError(
            f"“{clean}” trộn dấu chấm và dấu cách giữa các chữ số; hãy chỉ dùng dấu chấm để ngăn"
            " cách hàng nghìn, ví dụ 1.014.500 (nếu đây là hai số, mỗi ô chỉ ghi một số)"
        )
    groups = re.split(r"[. ]", int_part)
    if len(groups) > 1 and not _valid_grouping(groups):
        if separators == {" "}:
            raise NumberError(
                f"“{clean}” không hợp lệ: dấu cách giữa các chữ số chỉ dùng để ngăn cách hàng"
                " nghìn (sau mỗi dấu cách đúng 3 chữ số); nếu đây là hai số, mỗi ô chỉ ghi"
                " một số"
            )
        if len(groups) == 2 and not has_comma:
            head, tail = groups
            as_decimal = f"{sign}{_group(head)},{tail}"
            as_integer = f"{sign}{_group(head + tail)}"
            raise NumberError(f"“{clean}” không rõ nghĩa: {_RULE}; hãy ghi {as_decimal} hoặc {as_integer}")
        raise NumberError(
            f"“{clean}” không hợp lệ: {_RULE}; trước dấu chấm đầu tiên phải có 1–3 chữ số"
            " (không bắt đầu bằng 0) và sau mỗi dấu chấm đúng 3 chữ số"
        )

    int_digits = "".join(groups)
    # "0,125" cannot be English thousands grouping, so only a 1-3 digit head is ambiguous.
    if (
        has_comma
        and len(groups) == 1
        and len(frac) == 3
        and len(int_digits) <= 3
        and not int_digits.startswith("0")
    ):
        as_integer = f"{sign}{_group(int_digits + frac)}"
        raise NumberError(
            f"“{clean}” không rõ nghĩa: kiểu Anh đọc là {as_integer} (dấu phẩy ngăn cách hàng"
            f" nghìn), cách viết Việt Nam đọc là {int_digits} phẩy {frac} (dấu phẩy là dấu thập"
            f" phân); nếu là số nguyên hãy ghi {as_integer}, nếu là số thập phân hãy nhập ô ở"
            " dạng số thay vì dạng chữ"
        )
    return int_digits, frac


def _valid_grouping(groups: list[str]) -> bool:
    head, *rest = groups
    return 1 <= len(head) <= 3 and not head.startswith("0") and all(len(g) == 3 for g in rest)


def _parse_suffix(clean: str, rest: str) -> tuple[bool, str | None]:
    """Read what follows the number: nothing, ``%``, or unit word(s)."""
    if not rest:
        return False, None
    if rest.startswith("%"):
        if rest[1:].strip():
            raise NumberError(f"“{clean}” không hợp lệ: sau dấu % không được ghi thêm gì")
        return True, None
    words = rest.lower().split(" ")
    if all(_is_unit_word(w) or _METRIC_POWER.fullmatch(w) for w in words):
        words = [_METRIC_POWER.sub(lambda m: m[1] + _SUPERSCRIPT[m[2]], w) for w in words]
        unit = " ".join(words)
        return False, _UNIT_ALIASES.get(unit, unit)
    if any(ch in _DIGITS for ch in rest):
        raise NumberError(f"“{clean}” có nhiều hơn một số; mỗi ô chỉ ghi một số")
    raise NumberError(f"“{clean}” không hợp lệ: phần “{rest}” sau số không phải là đơn vị")


def _is_unit_word(word: str) -> bool:
    return any(ch.isalpha() for ch in word) and all(ch.isalpha() or ch in "²³./" for ch in word)


def _group(digits: str) -> str:
    """Thousands grouping with dots: "1014" -> "1.014"."""
    digits = digits.lstrip("0") or "0"
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return ".".join(parts)


def _to_decimal(value: float | int | Decimal) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise NumberError(f"“{value}” không phải là một số hữu hạn")
        # repr gives the shortest text that round-trips, so 2.675 rounds like the 2.675 people see.
        result = Decimal(repr(value))
    else:
        raise TypeError(f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise NumberError(f"“{value}” không phải là một số hữu hạn")
    return result


def _written_decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only reach here
    return max(0, -exponent)


def _format_decimal(value: Decimal, decimals: int) -> str:
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    context = Context(prec=max(28, value.adjusted() + decimals + 2))
    rounded = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP, context=context)
    sign = "-" if rounded < 0 else ""  # a negative that rounds to zero prints as "0"
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    text = sign + _group(whole)
    return f"{text},{fraction}" if decimals else text
