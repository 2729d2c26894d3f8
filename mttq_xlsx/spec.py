"""Load the declarative form specs (package data), the only place fields are listed; `spec_validation`
checks each one as it loads."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
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
FIELD_ID = re.compile(r"^[a-z][a-z0-9_]*$")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


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

    @property
    def titled(self) -> str:
        """The label with its unit, as the summary heads the field's column: "Số vụ hòa giải (vụ)"."""
        return self.label + (f" ({self.unit})" if self.unit else " (%)" if self.type == "ratio" else "")


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
class Phrase:
    """A sentence of the narrative report: `text` with `{field_id}` where a total goes, then
    `parts` (each a text with a placeholder) listed in brackets after it."""

    text: str
    parts: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        """The field ids of the text's placeholders, in order."""
        return placeholders(self.text)


@dataclass(frozen=True)
class Heading:
    """A heading of the narrative report's outline (level 1: I., II. …; level 2: 1., 2. …) and
    the contents whose sentences go under it."""

    text: str
    level: int = 1
    sections: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """A content of the campaign: a Biểu of `phu-luc-1` or a section of `bieu-so-lieu`."""

    id: str
    title: str
    short: str
    form_id: str
    blocks: tuple[Block, ...]
    phrases: tuple[Phrase, ...] = ()

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
    narrative_title: str = ""  # the narrative report's title, before the period
    outline: tuple[Heading, ...] = ()  # the narrative report's headings
    chart_ratios: tuple[str, ...] = ()  # the ratios charted by unit on `Biểu đồ`

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


def placeholders(text: str) -> tuple[str, ...]:
    """The names between braces in a phrase: "{a}/{b} vụ" -> ("a", "b")."""
    return tuple(PLACEHOLDER.findall(text))


def fill(text: str, figure: Callable[[str], str]) -> str:
    """A phrase with each `{name}` replaced by `figure(name)`."""
    return PLACEHOLDER.sub(lambda match: figure(match[1]), text)


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
    set_phrases = data.get("column_set_phrases", {})
    forms = tuple(_form(f, column_sets, set_checks, set_phrases) for f in data["forms"])
    narrative = data.get("narrative", {})
    spec = Spec(
        id=data["report_id"],
        version=str(data["spec_version"]),
        title=data["title"],
        short_title=data["short_title"],
        cover=cover,
        forms=forms,
        lists=lists,
        narrative_title=narrative.get("title", ""),
        outline=tuple(
            Heading(h["heading"], int(h.get("level", 1)), tuple(h.get("sections", ())))
            for h in narrative.get("outline", ())
        ),
        chart_ratios=tuple(data.get("charts", {}).get("ratios", ())),
    )
    from .spec_validation import validate  # the spec's own checks, beside the model they check

    validate(spec)
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


def _phrase(raw: dict[str, Any]) -> Phrase:
    return Phrase(raw["text"], tuple(raw.get("parts", ())))


def _grid_phrases(raw: dict[str, Any], set_phrases: dict[str, Any]) -> list[Phrase]:
    """The phrases of a grid's column set, once per row: `{row}` is its key, `{row_label}` its label."""
    if raw["kind"] != "grid" or not isinstance(raw["columns"], str):
        return []
    phrases = []
    for row in raw["rows"]:
        for p in set_phrases.get(raw["columns"], ()):
            p = {**p, "text": p["text"].replace("{row_label}", row["label"])}
            phrases.append(_phrase(_expand(p, row["key"])))
    return phrases


def _form(
    raw: dict[str, Any],
    column_sets: dict[str, Any],
    set_checks: dict[str, Any],
    set_phrases: dict[str, Any] | None = None,
) -> Form:
    form_id = raw["id"]
    sections = []
    rules = [_rule(r, form_id) for r in raw.get("checks", ())]
    aggregate = raw.get("aggregate", "")  # the form's default for its fields
    for s in raw["sections"]:
        blocks = []
        phrases = []  # a grid's, row by row, then the section's own
        for b in s["blocks"]:
            block, block_rules = _block(b, form_id, s["id"], column_sets, set_checks, aggregate)
            blocks.append(block)
            rules += block_rules
            phrases += _grid_phrases(b, set_phrases or {})
        phrases += [_phrase(p) for p in s.get("phrases", ())]
        short = s.get("short", s["title"])
        sections.append(Section(s["id"], s["title"], short, form_id, tuple(blocks), tuple(phrases)))
    return Form(form_id, raw["sheet"], raw["title"], raw.get("note", ""), tuple(sections), tuple(rules))
