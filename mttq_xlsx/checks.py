"""Check a submission against its report spec: types, totals, ratios, parts within wholes, tables.

Values are normalised in place (a Vietnamese number typed as text becomes that number, with a
warning); a blank stays None, never 0.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from .cells import cell_index, cell_name
from .codes import ERROR, WARNING
from .fieldmap import UNITS_KEY
from .model import Issue, Submission, Value, is_number
from .numbers import (
    PERCENT_DECIMALS,
    ParsedNumber,
    format_number,
    format_percent,
    parse_number,
    ratio_matches,
)
from .periods import Period
from .spec import LIST, ROWS_PREFIX, Field, Rule, Spec

TEXT_LIMIT = 255


def check_submission(sub: Submission, spec: Spec, period: Period) -> None:
    """Normalise `sub.values` and append every finding to `sub.issues`."""
    index = spec.field_index
    shown: dict[str, ParsedNumber | None] = {}
    for field_id in list(sub.values):
        f = index.get(field_id)
        if f is None:
            continue  # a field of an older spec version: kept as read, not checked
        raw = sub.values[field_id]
        if raw is None:
            continue  # a blank stays blank
        if isinstance(raw, list):
            sub.values[field_id] = [
                _normalise(sub, f, v, period, i, shown, spec.lists) for i, v in enumerate(raw)
            ]
        else:
            sub.values[field_id] = _normalise(sub, f, raw, period, None, shown, spec.lists)
    for f in spec.fields:
        if f.id in sub.values and not f.is_input:
            _check_derived(sub, f, shown.get(f.id))
    for rule in spec.rules:
        _check_rule(sub, rule, index)
    for section in spec.sections:
        for block in section.blocks:
            if block.kind == "table":
                _check_table(sub, block.columns, block.required)


# ---------------------------------------------------------------------- issues
def located(sub: Submission, f: Field, row: int | None = None) -> tuple[str, str, str]:
    """(sheet, cell, "Ô sheet!cell (label)"): where a finding about `f` (a table's `row`) is."""
    sheet, cell = sub.cells.get(f.id, ("", ""))
    if row is not None and ":" in cell:
        first = cell_index(cell.split(":")[0])
        cell = cell_name(first[0] + row, first[1])
    where = f"Ô {sheet}!{cell}" if cell else f"Trường {f.id}"
    return sheet, cell, f"{where} ({f.label})"


def _issue(sub: Submission, f: Field, severity: str, code: str, message: str, row: int | None = None) -> None:
    sheet, cell, where = located(sub, f, row)
    sub.issues.append(
        Issue(
            severity, sub.file.path, code, f"{where}: {message}", sub.unit_code, f.form_id, f.id, sheet, cell
        )
    )


def show_value(value: Any) -> str:
    """A value as a message quotes it: a number in Vietnamese notation, a date as dd/mm/yyyy, a text
    in quotes."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | float):
        return format_number(value, 0 if isinstance(value, int) else 3)
    if isinstance(value, datetime | date):
        return f"{value:%d/%m/%Y}"
    text = str(value)
    return f"“{text[:60]}…”" if len(text) > 60 else f"“{text}”"


# ---------------------------------------------------------------------- one value
def _normalise(
    sub: Submission,
    f: Field,
    value: Value,
    period: Period,
    row: int | None,
    shown: dict[str, ParsedNumber | None],
    lists: dict[str, tuple[str, ...]],
) -> Value:
    if value is None:
        return None
    if f.is_numeric:
        return _number(sub, f, value, row, shown)
    if f.type == "date":
        return _date(sub, f, value, period, row)
    text = _text_of(value)
    if f.type == "list" and text not in lists.get(f.list_name, ()):
        _issue(sub, f, ERROR, "not_in_list", f"{show_value(text)} không có trong danh sách chọn.", row)
    limit = f.max_length or TEXT_LIMIT
    # a roll-up's gathered text is as long as its units' texts, each checked at the level below
    gathered = f.aggregate == LIST and UNITS_KEY in sub.meta
    if len(text) > limit and not gathered:
        _issue(sub, f, WARNING, "text_too_long", f"dài {len(text)} ký tự, quá giới hạn {limit}.", row)
    return text


def _text_of(value: Value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed as a number
    if isinstance(value, datetime | date):
        return f"{value:%d/%m/%Y}"
    return str(value)


def _number(
    sub: Submission, f: Field, value: Value, row: int | None, shown: dict[str, ParsedNumber | None]
) -> Value:
    if type(value) is float and value >= 0 and (f.type != "count" or value.is_integer()):
        shown.setdefault(f.id, None)  # the usual figure, as a spreadsheet stores it: nothing to say
        return int(value) if f.type != "ratio" and value.is_integer() else value
    if isinstance(value, bool | datetime | date):
        _issue(sub, f, ERROR, "not_a_number", f"{show_value(value)} không phải là số.", row)
        return None
    number: float | int
    if isinstance(value, str):
        try:
            parsed = parse_number(value)
        except Exception as exc:  # NumberError says why, in Vietnamese
            _issue(
                sub,
                f,
                ERROR,
                "unparseable_number",
                f"{show_value(value)} không đọc được thành số: {exc}",
                row,
            )
            return value
        shown[f.id] = parsed
        number = parsed.value
        if f.type != "ratio" or not parsed.is_percent:
            _issue(
                sub,
                f,
                WARNING,
                "number_as_text",
                f"số được nhập dưới dạng chữ {show_value(value)}, đã đọc là {show_value(number)}.",
                row,
            )
    elif isinstance(value, int | float):
        number = value
        shown.setdefault(f.id, None)
    else:  # a time of day or a duration (hh:mm typed into the cell)
        _issue(sub, f, ERROR, "not_a_number", f"{show_value(value)} không phải là số.", row)
        return None
    if isinstance(number, float) and math.isnan(number):
        return None
    if number < 0:
        _issue(sub, f, ERROR, "negative", f"số âm ({show_value(number)}); số liệu phải ≥ 0.", row)
    if f.type == "count" and not float(number).is_integer():
        _issue(sub, f, ERROR, "not_integer", f"{show_value(number)} không phải số nguyên.", row)
    if isinstance(number, float) and number.is_integer() and f.type != "ratio":
        return int(number)
    return number


def _date(sub: Submission, f: Field, value: Value, period: Period, row: int | None) -> Value:
    day: date | None = None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        try:
            day = datetime.strptime(value, "%d/%m/%Y").date()
            _issue(
                sub,
                f,
                WARNING,
                "date_as_text",
                f"ngày được nhập dưới dạng chữ {show_value(value)}.",
                row,
            )
        except ValueError:
            _issue(
                sub,
                f,
                ERROR,
                "not_a_date",
                f"{show_value(value)} không phải là ngày (ngày/tháng/năm).",
                row,
            )
            return value
    else:  # a number, a time of day or a duration: kept as the text it shows
        _issue(sub, f, ERROR, "not_a_date", f"{show_value(value)} không phải là ngày.", row)
        return _text_of(value)
    if f.in_period and not period.contains(day):
        _issue(
            sub,
            f,
            ERROR,
            "date_outside_period",
            f"ngày {day:%d/%m/%Y} nằm ngoài kỳ báo cáo ({period.start:%d/%m/%Y} – {period.end:%d/%m/%Y}).",
            row,
        )
    return day


# ---------------------------------------------------------------------- derived cells
def _num(sub: Submission, field_id: str) -> float | None:
    value = sub.values.get(field_id)
    return value if is_number(value) else None


def _check_derived(sub: Submission, f: Field, shown: ParsedNumber | None) -> None:
    held = _num(sub, f.id)
    if f.type == "total":
        parts = [_num(sub, p) for p in f.parts]
        present = [p for p in parts if p is not None]
        expected = sum(present) if present else None
        if held is not None and expected is not None and not math.isclose(held, expected, abs_tol=1e-9):
            _issue(
                sub,
                f,
                ERROR,
                "total_mismatch",
                f"tổng ghi {show_value(held)} nhưng cộng các số hạng được {show_value(expected)}.",
            )
        if held is None and expected is not None:
            sub.values[f.id] = expected  # the file was never recalculated: the total is its parts
        elif expected is None and held == 0:
            sub.values[f.id] = None  # LibreOffice's xls stores a blank formula result as 0
    elif f.type == "ratio":
        num, den = _num(sub, f.numerator), _num(sub, f.denominator)
        if num is not None and den is not None and num > den:
            _issue(
                sub,
                f,
                ERROR,
                "part_exceeds_whole",
                f"tử số {show_value(num)} lớn hơn mẫu số {show_value(den)}.",
            )
        if held is not None and num is not None and den:
            decimals = _shown_decimals(shown)
            if not ratio_matches(held, decimals, num, den):
                _issue(
                    sub,
                    f,
                    ERROR,
                    "ratio_mismatch",
                    f"tỷ lệ ghi {format_percent(held, decimals)} nhưng {show_value(num)}/{show_value(den)} = "
                    f"{format_percent(num / den)}.",
                )
        sub.values[f.id] = num / den if num is not None and den else None
    elif f.type == "tally":
        column = sub.values.get(f.of)
        count = sum(1 for v in column if v == f.match) if isinstance(column, list) else 0
        if held is not None and held != count:
            _issue(sub, f, ERROR, "total_mismatch", f"ghi {show_value(held)} nhưng bảng có {count} dòng.")
        sub.values[f.id] = count


def _shown_decimals(shown: ParsedNumber | None) -> int:
    """The precision a ratio is judged at, as decimals of its percent: a number at what its cell
    shows (0,00%: 72,88% typed into it is stored as 0.7288), a text at what was written (“73%”:
    0; “0,7288”: 2)."""
    if shown is None:
        return PERCENT_DECIMALS
    return shown.decimals if shown.is_percent else max(shown.decimals - 2, 0)


# ---------------------------------------------------------------------- rules between fields
def _operand(sub: Submission, ref: str) -> float | None:
    if ref.startswith(ROWS_PREFIX):
        return float(len(_filled_rows(sub, ref.removeprefix(ROWS_PREFIX))))
    return _num(sub, ref)


def _filled_rows(sub: Submission, table_id: str) -> list[int]:
    columns = [v for k, v in sub.values.items() if k.startswith(table_id + ".") and isinstance(v, list)]
    if not columns:
        return []
    return [i for i in range(len(columns[0])) if any(c[i] is not None for c in columns if i < len(c))]


def _label(ref: str, index: dict[str, Field]) -> str:
    if ref.startswith(ROWS_PREFIX):
        return "số dòng đã ghi trong bảng"
    return index[ref].label


def _check_rule(sub: Submission, rule: Rule, index: dict[str, Field]) -> None:
    left = [_operand(sub, ref) for ref in rule.left]
    right = _operand(sub, rule.right)
    names = " + ".join(_label(r, index) for r in rule.left)
    anchor = index[rule.left[0]] if not rule.left[0].startswith(ROWS_PREFIX) else index[rule.right]
    hint = f" ({rule.hint})" if rule.hint else ""
    total = sum(v for v in left if v is not None)
    if rule.kind == "requires":
        if total > 0 and not right:
            _issue(
                sub,
                anchor,
                rule.severity,
                "missing_required",
                f"{names} là {show_value(total)} nhưng {_label(rule.right, index)} "
                f"{'chưa ghi' if right is None else 'bằng 0'}.{hint}",
            )
        return
    if right is None or any(v is None for v in left):
        return
    broken = total > right if rule.kind == "le" else total < right
    if broken:
        relation = "lớn hơn" if rule.kind == "le" else "nhỏ hơn"
        code = "part_exceeds_whole" if rule.kind == "le" else "less_than_expected"
        _issue(
            sub,
            anchor,
            rule.severity,
            code,
            f"{names} ({show_value(total)}) {relation} {_label(rule.right, index)} "
            f"({show_value(right)}).{hint}",
        )


def _check_table(sub: Submission, columns: tuple[Field, ...], required: tuple[str, ...]) -> None:
    if not columns:
        return
    table_id = columns[0].table
    for row in _filled_rows(sub, table_id):
        for f in columns:
            column = sub.values.get(f.id)
            if f.id in required and isinstance(column, list) and column[row] is None:
                _issue(
                    sub,
                    f,
                    ERROR,
                    "table_row_incomplete",
                    f"dòng {row + 1} của bảng đã ghi nhưng thiếu “{f.label}”.",
                    row,
                )
