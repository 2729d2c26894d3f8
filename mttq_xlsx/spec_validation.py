"""Check a loaded spec, so that a mistake in a spec file is said when it loads, in Vietnamese,
instead of showing up in a user's workbook."""

from __future__ import annotations

from .errors import SpecError
from .spec import (
    AGGREGATIONS,
    ALLOWED_AGGREGATION,
    DERIVED_TYPES,
    FIELD_ID,
    INPUT_TYPES,
    LIST,
    NONE,
    PLACEHOLDER,
    RECOMPUTE,
    ROWS_PREFIX,
    RULE_KINDS,
    SUM,
    Spec,
    placeholders,
)


def validate(spec: Spec) -> None:
    """Catch spec mistakes at load time instead of in a user's workbook."""
    seen: set[str] = set()
    problems: list[str] = []
    for f in spec.fields:
        base = f.id.split(".", 1)[-1]
        if not FIELD_ID.match(base):
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
    problems += _narrative_problems(spec)
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


def _narrative_problems(spec: Spec) -> list[str]:
    """What is wrong with the phrases, the outline and the charts of a spec."""
    problems: list[str] = []
    figures = {f.id: f for f in spec.fields if f.is_numeric and not f.table}
    for section in spec.sections:
        for phrase in section.phrases:
            where = f"câu “{phrase.text}”"
            texts = (phrase.text, *phrase.parts)
            if not phrase.fields:
                problems.append(f"{where} không có số liệu nào ({{mã trường}})")
            if phrase.text.rstrip().endswith((".", ";")):
                problems.append(f"{where} không được kết thúc bằng dấu câu (chương trình tự thêm)")
            for text in texts:
                if PLACEHOLDER.sub("", text).count("{") or PLACEHOLDER.sub("", text).count("}"):
                    problems.append(f"{where}: dấu ngoặc nhọn không thành cặp trong “{text}”")
                problems += [
                    f"{where}: “{{{name}}}” không phải là số liệu của báo cáo"
                    for name in placeholders(text)
                    if name not in figures
                ]
            problems += [
                f"{where}: phần “{part}” không có số liệu" for part in phrase.parts if not placeholders(part)
            ]
    placed = [sid for h in spec.outline for sid in h.sections]
    section_ids = {s.id for s in spec.sections}
    for heading in spec.outline:
        if heading.level not in (1, 2):
            problems.append(f"đề mục “{heading.text}”: cấp {heading.level} không hợp lệ (1 hoặc 2)")
        problems += [
            f"đề mục “{heading.text}”: không có nội dung “{sid}”"
            for sid in heading.sections
            if sid not in section_ids
        ]
    for section in spec.sections:
        if section.phrases and placed.count(section.id) != 1:
            problems.append(f"nội dung {section.id} có câu số liệu nhưng không nằm dưới đúng một đề mục")
    problems += [
        f"biểu đồ: “{fid}” không phải là một tỷ lệ"
        for fid in spec.chart_ratios
        if fid not in figures or figures[fid].type != "ratio"
    ]
    return problems
