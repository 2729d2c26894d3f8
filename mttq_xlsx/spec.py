"""Load and validate the declarative form specs (package data), the only place fields are listed."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

from .errors import SpecError

INPUT_TYPES = frozenset({"count", "amount", "text", "date", "list", "unit"})
DERIVED_TYPES = frozenset({"total", "ratio", "tally"})
NUMERIC_TYPES = frozenset({"count", "amount", "total", "ratio", "tally"})
# Types whose values add up across units (ratios are recomputed from their parts).
SUMMABLE_TYPES = frozenset({"count", "amount", "total", "tally"})
RULE_KINDS = frozenset({"le", "ge", "requires"})
# How a field's values from several units make one value (the totals, a roll-up for the next
# level): added up; a ratio recomputed from its summed numerator and denominator (never an average
# of ratios); texts (and a table's rows) gathered unit by unit with the unit named; or not at all.
SUM, RECOMPUTE, LIST, NONE = "sum", "recompute", "list", "none"
AGGREGATIONS = (SUM, RECOMPUTE, LIST, NONE)
# The aggregation of a field that declares none, by type (a table's columns: LIST).
DEFAULT_AGGREGATION = {
    **dict.fromkeys(SUMMABLE_TYPES, SUM),
    "ratio": RECOMPUTE,
    "text": LIST,
    **dict.fromkeys(("date", "list", "unit"), NONE),
}
# What a field outside a table may declare (a table's columns: LIST or NONE, all alike).
ALLOWED_AGGREGATION = {
    **dict.fromkeys(SUMMABLE_TYPES, (SUM, NONE)),
    "ratio": (RECOMPUTE, NONE),
    "text": (LIST, NONE),
    **dict.fromkeys(("date", "list", "unit"), (NONE,)),
}
ROWS_PREFIX = "rows:"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Field:
    """One value of a report: an input cell, a derived cell, or one column of a table."""

    id: str
    label: str
    type: str
    form_id: str
    section_id: str
    unit: str = ""
    list_name: str = ""
    parts: tuple[str, ...] = ()
    numerator: str = ""
    denominator: str = ""
    of: str = ""
    match: str = ""
    max_length: int = 0
    in_period: bool = False
    prefill: str = ""
    table: str = ""
    rows: int = 1
    aggregate: str = NONE  # one of AGGREGATIONS: declared, else the form's, else by type

    @property
    def is_input(self) -> bool:
        return self.type in INPUT_TYPES

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


@dataclass(frozen=True)
class Rule:
    """A check between fields: sum(left) <= right, >= right, or left > 0 requires right > 0."""

    kind: str
    left: tuple[str, ...]
    right: str
    severity: str
    form_id: str
    hint: str = ""


@dataclass(frozen=True)
class GridRow:
    label: str
    cells: tuple[str | None, ...]  # field id per column, None where the row has no cell
    is_total: bool = False


@dataclass(frozen=True)
class Block:
    """A piece of a form sheet: a list of fields, a table of repeated rows, or a grid."""

    kind: str  # "fields" | "table" | "grid"
    title: str
    fields: tuple[Field, ...]
    columns: tuple[Field, ...] = ()  # table columns, or a grid's column prototypes
    grid_rows: tuple[GridRow, ...] = ()
    table_id: str = ""
    rows: int = 0
    required: tuple[str, ...] = ()
    unit_column: str = ""  # a table gathered in a roll-up: the text column that names each row's unit


@dataclass(frozen=True)
class Section:
    """A content of the campaign: a Biểu of `phu-luc-1` or a section of `bieu-so-lieu`."""

    id: str
    title: str
    short: str
    form_id: str
    blocks: tuple[Block, ...]

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for b in self.blocks for f in b.fields)


@dataclass(frozen=True)
class Form:
    id: str
    sheet: str
    title: str
    note: str
    sections: tuple[Section, ...]
    rules: tuple[Rule, ...]

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for s in self.sections for f in s.fields)


@dataclass(frozen=True)
class Spec:
    id: str
    version: str
    title: str
    short_title: str
    cover: Form
    forms: tuple[Form, ...]
    lists: dict[str, tuple[str, ...]] = field(hash=False)

    @cached_property
    def all_forms(self) -> tuple[Form, ...]:
        return (self.cover, *self.forms)

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for form in self.all_forms for f in form.fields)

    @cached_property
    def sections(self) -> tuple[Section, ...]:
        """The contents of the report (the cover is not one)."""
        return tuple(s for form in self.forms for s in form.sections)

    @cached_property
    def field_index(self) -> dict[str, Field]:
        return {f.id: f for f in self.fields}

    @cached_property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(r for form in self.forms for r in form.rules)


def report_ids() -> list[str]:
    return sorted(
        p.name.removesuffix(".toml")
        for p in resources.files(__package__).joinpath("specs").iterdir()
        if p.name.endswith(".toml") and not p.name.startswith("_")
    )


@cache
def load_spec(report_id: str) -> Spec:
    """The report spec with every field expanded; raises SpecError when it is malformed."""
    if report_id not in report_ids():
        raise SpecError(f"Không có báo cáo “{report_id}”. Các báo cáo hiện có: {', '.join(report_ids())}.")
    data = _read_toml(f"{report_id}.toml")
    cover = _form(_read_toml("_cover.toml"), {}, {})
    lists = {k: tuple(v) for k, v in data.get("lists", {}).items()}
    column_sets = data.get("column_sets", {})
    set_checks = data.get("column_set_checks", {})
    forms = tuple(_form(f, column_sets, set_checks) for f in data["forms"])
    spec = Spec(
        id=data["report_id"],
        version=str(data["spec_version"]),
        title=data["title"],
        short_title=data["short_title"],
        cover=cover,
        forms=forms,
        lists=lists,
    )
    _validate(spec)
    return spec


def _read_toml(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath("specs", name).read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"Tệp đặc tả {name} sai cú pháp TOML: {exc}") from exc


def _field(raw: dict[str, Any], form_id: str, section_id: str, aggregate: str = "", **extra: Any) -> Field:
    """A field from its TOML table; `aggregate` is the default of its form or table."""
    return Field(
        id=raw["id"],
        label=raw["label"],
        type=raw["type"],
        form_id=form_id,
        section_id=section_id,
        unit=raw.get("unit", ""),
        list_name=raw.get("list", ""),
        parts=tuple(raw.get("parts", ())),
        numerator=raw.get("numerator", ""),
        denominator=raw.get("denominator", ""),
        of=raw.get("of", ""),
        match=raw.get("match", ""),
        max_length=int(raw.get("max_length", 0)),
        in_period=bool(raw.get("in_period", False)),
        prefill=raw.get("prefill", ""),
        aggregate=raw.get("aggregate") or aggregate or DEFAULT_AGGREGATION.get(raw["type"], NONE),
        **extra,
    )


def _expand(value: Any, row: str) -> Any:
    """Put a grid row's key into every `{row}` of a column prototype."""
    if isinstance(value, str):
        return value.replace("{row}", row)
    if isinstance(value, list):
        return [_expand(v, row) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, row) for k, v in value.items()}
    return value


def _rule(raw: dict[str, Any], form_id: str) -> Rule:
    return Rule(
        kind=raw["kind"],
        left=tuple(raw["left"]),
        right=raw["right"],
        severity=raw["severity"],
        form_id=form_id,
        hint=raw.get("hint", ""),
    )


def _block(
    raw: dict[str, Any],
    form_id: str,
    section_id: str,
    column_sets: dict[str, Any],
    set_checks: dict[str, Any],
    aggregate: str = "",
) -> tuple[Block, list[Rule]]:
    kind = raw["kind"]
    title = raw.get("title", "")
    if kind == "fields":
        listed = tuple(_field(f, form_id, section_id, aggregate) for f in raw["fields"])
        return Block(kind, title, listed), []
    if kind == "table":
        table_id = raw["id"]
        rows = int(raw["rows"])
        gathered = raw.get("aggregate") or aggregate or LIST  # a table's rows go together
        columns = tuple(
            _field(
                {**c, "id": f"{table_id}.{c['id']}", "aggregate": gathered},
                form_id,
                section_id,
                table=table_id,
                rows=rows,
            )
            for c in raw["columns"]
        )
        required = tuple(f"{table_id}.{c}" for c in raw.get("required", ()))
        named = f"{table_id}.{raw['unit_column']}" if raw.get("unit_column") else ""
        return Block(kind, title, columns, columns, (), table_id, rows, required, named), []
    if kind == "grid":
        set_name = raw["columns"] if isinstance(raw["columns"], str) else ""
        protos = column_sets[set_name] if set_name else raw["columns"]
        fields: list[Field] = []
        grid_rows: list[GridRow] = []
        rules: list[Rule] = []
        for row in raw["rows"]:
            cells = [_expand(p, row["key"]) for p in protos]
            fields += [_field({**c, "id": c["field"]}, form_id, section_id, aggregate) for c in cells]
            grid_rows.append(GridRow(row["label"], tuple(c["field"] for c in cells)))
            rules += [_rule(_expand(r, row["key"]), form_id) for r in set_checks.get(set_name, ())]
        total = raw.get("total_row")
        if total:
            keys = [p["key"] for p in protos]
            cells_total: list[str | None] = [total["fields"].get(k) for k in keys]
            for key, fid in total["fields"].items():
                col = keys.index(key)
                parts = [r.cells[col] for r in grid_rows]
                proto = protos[col]
                fields.append(
                    _field(
                        {
                            "id": fid,
                            "label": f"{total['label']}: {proto['label']}",
                            "type": "total",
                            "parts": parts,
                            "unit": proto.get("unit", ""),
                        },
                        form_id,
                        section_id,
                        aggregate,
                    )
                )
            grid_rows.append(GridRow(total["label"], tuple(cells_total), is_total=True))
        proto_fields = tuple(
            _field({**p, "id": p["key"], "field": None}, form_id, section_id) for p in protos
        )
        return Block(kind, title, tuple(fields), proto_fields, tuple(grid_rows)), rules
    raise SpecError(f"Khối “{kind}” không hợp lệ trong biểu {form_id}.")


def _form(raw: dict[str, Any], column_sets: dict[str, Any], set_checks: dict[str, Any]) -> Form:
    form_id = raw["id"]
    sections = []
    rules = [_rule(r, form_id) for r in raw.get("checks", ())]
    aggregate = raw.get("aggregate", "")  # the form's default for its fields
    for s in raw["sections"]:
        blocks = []
        for b in s["blocks"]:
            block, block_rules = _block(b, form_id, s["id"], column_sets, set_checks, aggregate)
            blocks.append(block)
            rules += block_rules
        sections.append(Section(s["id"], s["title"], s.get("short", s["title"]), form_id, tuple(blocks)))
    return Form(form_id, raw["sheet"], raw["title"], raw.get("note", ""), tuple(sections), tuple(rules))


def _validate(spec: Spec) -> None:
    """Catch spec mistakes at load time instead of in a user's workbook."""
    seen: set[str] = set()
    problems: list[str] = []
    for f in spec.fields:
        base = f.id.split(".", 1)[-1]
        if not _ID.match(base):
            problems.append(f"mã trường “{f.id}” không hợp lệ")
        if f.id in seen:
            problems.append(f"mã trường “{f.id}” bị trùng")
        seen.add(f.id)
        if f.type not in INPUT_TYPES | DERIVED_TYPES:
            problems.append(f"trường {f.id}: kiểu “{f.type}” không hợp lệ")
        if f.list_name and f.list_name not in spec.lists:
            problems.append(f"trường {f.id}: không có danh sách “{f.list_name}”")
    index = spec.field_index
    for f in spec.fields:
        refs = [*f.parts, f.numerator, f.denominator, f.of]
        problems += [f"trường {f.id}: tham chiếu “{r}” không tồn tại" for r in refs if r and r not in index]
        if f.type == "ratio" and not (f.numerator and f.denominator):
            problems.append(f"trường {f.id}: tỷ lệ cần tử số và mẫu số")
    problems += _aggregation_problems(spec)
    tables = {b.table_id for s in spec.sections for b in s.blocks if b.kind == "table"}
    for rule in spec.rules:
        if rule.kind not in RULE_KINDS:
            problems.append(f"kiểm tra “{rule.kind}” không hợp lệ")
        for ref in (*rule.left, rule.right):
            ok = ref.removeprefix(ROWS_PREFIX) in tables if ref.startswith(ROWS_PREFIX) else ref in index
            if not ok:
                problems.append(f"kiểm tra {rule.kind}: tham chiếu “{ref}” không tồn tại")
    sheets = [f.sheet for f in spec.all_forms]
    if len(set(sheets)) != len(sheets):
        problems.append("tên trang tính bị trùng")
    if problems:
        raise SpecError(f"Đặc tả {spec.id} có lỗi: " + "; ".join(problems) + ".")


def _aggregation_problems(spec: Spec) -> list[str]:
    """Each field's aggregation fits its type and the fields it is made of."""
    problems: list[str] = []
    index = spec.field_index
    for f in spec.fields:
        if f.aggregate not in AGGREGATIONS:
            problems.append(
                f"trường {f.id}: cách cộng dồn “{f.aggregate}” không hợp lệ ({', '.join(AGGREGATIONS)})"
            )
            continue
        if not f.table and f.aggregate not in ALLOWED_AGGREGATION.get(f.type, AGGREGATIONS):
            problems.append(f"trường {f.id}: kiểu {f.type} không cộng dồn theo cách “{f.aggregate}”")
        if f.table and f.aggregate not in (LIST, NONE):
            problems.append(f"trường {f.id}: cột của bảng chỉ cộng dồn theo cách list hoặc none")
        parts = [*f.parts, f.numerator, f.denominator] if f.aggregate in (SUM, RECOMPUTE) else []
        for ref in parts:
            if ref in index and index[ref].aggregate != SUM:
                problems.append(f"trường {f.id}: thành phần “{ref}” phải cộng dồn theo cách sum")
        if f.type == "tally" and f.aggregate == SUM and f.of in index and index[f.of].aggregate != LIST:
            problems.append(f"trường {f.id}: bảng của cột “{f.of}” phải cộng dồn theo cách list")
    for block in (b for s in spec.sections for b in s.blocks if b.kind == "table"):
        columns = {c.id: c for c in block.columns}
        if block.columns[0].aggregate == LIST:
            named = columns.get(block.unit_column)
            if named is None or named.type != "text":
                problems.append(f"bảng {block.table_id}: cần unit_column là một cột chữ để ghi tên đơn vị")
    return problems
