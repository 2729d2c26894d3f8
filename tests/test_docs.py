"""The documentation against the code: the generated references are current and complete, every
command has help with an example, the JSON report's schema is tight and every report the tests
make is checked against it, the file contract is what the templates hold, and nothing the docs
cite lies outside the repository."""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from python_calamine import CalamineWorkbook

from mttq_xlsx.codes import IGNORED_REASONS, REJECTION_CODES
from tests import report_schema
from tests.report_schema import TALLY, documented_codes, load_schema, problems, section
from tools import docs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SAMPLES = ROOT / "samples"
CLI = docs.CLI


def run(*args: object) -> Any:
    result = CliRunner().invoke(CLI, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the Markdown tables in `text`, as lists of cell texts."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return rows


def unquote(cell: str) -> str:
    return cell.strip("`")


# ---------------------------------------------------------------------- generated docs
@pytest.mark.parametrize("name", sorted(docs.GENERATED))
def test_generated_doc_is_current(name: str) -> None:
    path, make = docs.GENERATED[name]
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    diff = list(
        difflib.unified_diff(
            current.splitlines(), make().splitlines(), "committed", "generated", n=1, lineterm=""
        )
    )
    assert not diff, f"{path.relative_to(ROOT)} is not current; run `make docs`:\n" + "\n".join(diff[:40])


def test_the_docs_command_writes_and_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "forms.md"
    target.write_text("stale\n", encoding="utf-8")
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    monkeypatch.setitem(docs.GENERATED, "forms", (target, docs.forms_reference))
    assert docs.main(["forms", "--check"]) == 1
    assert target.read_text(encoding="utf-8") == "stale\n"  # --check writes nothing
    assert docs.main(["forms"]) == 0
    assert target.read_text(encoding="utf-8") == docs.forms_reference()
    assert docs.main(["forms", "--check"]) == 0


def _forms_doc() -> str:
    return (DOCS / "forms-reference.md").read_text(encoding="utf-8")


def _chapter(text: str, heading: str) -> str:
    """The part of a Markdown text under a `## ` heading, its subsections included."""
    start = text.index(heading + "\n") + len(heading)
    end = text.find("\n## ", start)
    return text[start:] if end < 0 else text[start:end]


def _field_rows(text: str) -> list[list[str]]:
    """Rows of the field tables: | `id` | cell | label | `type` | unit | how |."""
    return [r for r in table_rows(text) if len(r) == 6 and r[0].startswith("`") and r[3].startswith("`")]


def _template_map(report_id: str, folder: Path) -> list[list[str]]:
    """The `_mttq` field map rows of a template written by `mttq-xlsx template`."""
    result = run("template", report_id, "-o", folder, "--period", "2024-6T")
    assert result.exit_code == 0, result.output
    (path,) = folder.glob(f"{report_id}_*.xlsx")
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("_mttq").to_python()
    start = next(i for i, r in enumerate(rows) if r[0] == "field_id")
    return [[str(c) for c in r] for r in rows[start + 1 :] if r[0]]


@pytest.mark.parametrize("report_id", docs.report_ids())
def test_forms_reference_lists_every_field_in_its_template_cell(report_id: str, tmp_path: Path) -> None:
    """Every field of the report, cover first, in the order of the template's own `_mttq` map,
    at the map's cell, with the spec's type and label; and every check of the report."""
    text = _forms_doc()
    spec = docs.load_spec(report_id)
    cover = _chapter(text, f"## Cover sheet “{spec.cover.sheet}” (form `{spec.cover.id}`, every report)")
    own = _chapter(text, f"## Report `{report_id}`: {spec.title}")
    documented = _field_rows(cover) + _field_rows(own)
    fmap = _template_map(report_id, tmp_path)
    assert [unquote(r[0]) for r in documented] == [r[0] for r in fmap]
    fields = spec.field_index
    for row, mapped in zip(documented, fmap, strict=True):
        field_id, cell, label, type_ = unquote(row[0]), row[1], row[2], unquote(row[3])
        assert (cell, type_) == (mapped[3], mapped[4]), field_id
        assert label.endswith(" ".join(fields[field_id].label.split())), field_id
        assert row[4] == fields[field_id].unit, field_id
    checks = [r for r in table_rows(own) if len(r) == 5 and r[1] in ("`le`", "`ge`", "`requires`")]
    assert len(checks) == len(spec.rules)
    for row, rule in zip(checks, spec.rules, strict=True):
        assert (unquote(row[1]), row[2], row[4]) == (rule.kind, rule.severity, rule.hint)
        for ref in (*rule.left, rule.right):
            assert f"`{ref.removeprefix('rows:')}`" in row[0], (row, ref)


def test_forms_reference_explains_every_field_type() -> None:
    text = _forms_doc()
    for field_type in docs.INPUT_TYPES | docs.DERIVED_TYPES:
        assert f"\n### `{field_type}`\n" in text, field_type


# ---------------------------------------------------------------------- CLI help
def help_problems(cli: click.Command) -> list[str]:
    """Commands without help, and leaf commands whose help has no example block: a `Ví dụ:`
    line followed by an indented command line of that command (kept apart by click's `\\b`)."""
    found = []
    for path, command in docs.commands(cli):
        name = " ".join((docs.PROG, *path))
        if not (command.help or "").strip():
            found.append(f"{name}: no help")
        if isinstance(command, click.Group):
            continue
        lines = docs.help_text(path, cli).splitlines()
        at = [i for i, line in enumerate(lines) if line.strip() == "Ví dụ:"]
        if not at or not lines[at[0] + 1].startswith(f"      {name}"):
            found.append(f"{name}: no “Ví dụ:” block")
    return found


def test_every_command_has_help_and_an_example() -> None:
    assert help_problems(CLI) == []
    assert len(list(docs.commands())) > 1


def test_the_help_check_finds_a_command_without_help_or_example() -> None:
    @click.group(help="Nhóm lệnh.")
    def fake() -> None:
        pass

    @fake.command()
    def silent() -> None:
        pass

    @fake.command()
    def unbroken() -> None:
        """Làm một việc.

        Ví dụ:
            mttq-xlsx unbroken
        """

    @fake.command()
    def good() -> None:
        """Làm một việc.

        \b
        Ví dụ:
            mttq-xlsx good
        """

    assert help_problems(fake) == [
        "mttq-xlsx silent: no help",
        "mttq-xlsx silent: no “Ví dụ:” block",
        "mttq-xlsx unbroken: no “Ví dụ:” block",  # without \b click joins the example to the text
    ]


# ---------------------------------------------------------------------- the JSON report schema
def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_the_schema_lists_exactly_the_programs_rejection_codes() -> None:
    assert set(load_schema()["$defs"]["rejection_code"]["enum"]) == REJECTION_CODES


def test_the_schema_lists_exactly_the_programs_reasons_for_ignoring() -> None:
    assert set(load_schema()["$defs"]["ignored_reason"]["enum"]) == IGNORED_REASONS


def _demo_command(report: Path, summary: Path) -> list[str]:
    """`make demo`'s consolidate command, read from the Makefile, writing to the given paths."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    values = dict(re.findall(r"^(\w+) [:?]?= (\S+)$", makefile, re.M))
    recipe = re.search(r"^demo:.*\n\t\$\(BIN\)/mttq-xlsx (.*?);", makefile, re.M | re.S)
    assert recipe, "the demo target's command is not where this test looks for it"
    command = re.sub(r"\$\((\w+)\)", lambda m: values[m[1]], recipe[1].replace("\\\n", " "))
    args = shlex.split(command)
    swap = {"out/tong-hop.xlsx": str(summary), "out/bao-cao.json": str(report)}
    return [swap.get(a) or (str(ROOT / a) if (ROOT / a).exists() else a) for a in args]


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], int]:
    out = tmp_path_factory.mktemp("demo")
    built = TALLY.built
    args = _demo_command(out / "bao-cao.json", out / "tong-hop.xlsx")
    result = CliRunner().invoke(CLI, args)
    assert result.exit_code == 1, result.output  # the samples have findings on purpose
    report = json.loads((out / "bao-cao.json").read_text(encoding="utf-8"))
    return report, TALLY.built - built


def test_the_demo_report_is_valid_and_was_checked_as_it_was_built(demo_report: tuple[dict, int]) -> None:
    report, built = demo_report
    assert problems(report) == []
    assert built == 1  # the session-wide check saw the report as the library built it
    assert {f["status"] for f in report["files"]} == {"accepted", "rejected", "superseded", "ignored"}
    assert {f["source"]["kind"] for f in report["files"]} == {"file"}


def _file(report: dict, status: str) -> dict:
    return next(f for f in report["files"] if f["status"] == status)


MUTATIONS = {
    "an unknown top-level key": lambda r: r.update(extra=1),
    "a missing top-level key": lambda r: r.pop("completeness"),
    "another schema": lambda r: r.update(schema="mttq-xlsx/report/2"),
    "a period that is not one": lambda r: r.update(period="2024-H1"),
    "an unknown status": lambda r: r["files"][0].update(status="pending"),
    "a rejection code that is not one": lambda r: _file(r, "rejected").update(reason="broken"),
    "an accepted file with a reason": lambda r: _file(r, "accepted").update(reason="corrupt_file"),
    "a superseded file with another reason": lambda r: _file(r, "superseded").update(reason="not_a_report"),
    "a rejected file without a message": lambda r: _file(r, "rejected").update(message=""),
    "a file without detail": lambda r: r["files"][0].pop("detail"),
    "a file with an unknown key": lambda r: r["files"][0].update(received="x"),
    "a saved time without offset": lambda r: r["files"][0].update(saved_at="2024-06-07T09:55:00"),
    "a hash that is not one": lambda r: r["files"][0].update(sha256="abc"),
    "late as text": lambda r: r["files"][0].update(late="no"),
    "an unknown source kind": lambda r: r["files"][0]["source"].update(kind="ftp"),
    "a source with an unknown key": lambda r: r["files"][0]["source"].update(size=1),
    "a zip member without its name": lambda r: r["files"][0]["source"].update(kind="zip"),
    "a file in the folder with a sender": lambda r: r["files"][0]["source"].update(sender="a@b.vn"),
    "a file in the folder with an arrival": lambda r: r["files"][0]["source"].update(
        received_at="2024-06-10T20:35:00+07:00"
    ),
    "an ignored file with a rejection code": lambda r: _file(r, "ignored").update(reason="corrupt_file"),
    "an unknown severity": lambda r: r["issues"][0].update(severity="info"),
    "an issue without a cell key": lambda r: r["issues"][0].pop("cell"),
    "an issue cell that is not a cell": lambda r: r["issues"][0].update(cell="$E$82"),
    "an issue code not explained in the docs": lambda r: r["issues"][0].update(code="made_up_code"),
    "a total as text": lambda r: r["totals"]["bieu-so-lieu"].update(tong_kdc="1.646"),
    "a unit value that is an object": lambda r: next(iter(r["units"].values()))["bieu-so-lieu"].update(
        tong_kdc={"value": 1}
    ),
    "a field id that is not one": lambda r: next(iter(r["units"].values()))["bieu-so-lieu"].update(
        {"Tổng": 1}
    ),
    "completeness with an unknown key": lambda r: r["completeness"].update(total=11),
    "a negative count of units": lambda r: r["completeness"].update(received=-1),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_schema_refuses_what_the_contract_does_not_allow(
    demo_report: tuple[dict, int], mutation: str
) -> None:
    report = copy.deepcopy(demo_report[0])
    MUTATIONS[mutation](report)
    assert problems(report), mutation


def _schema_keys(node: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(node, dict):
        keys |= set(node.get("properties", {}))
        for value in node.values():
            keys |= _schema_keys(value)
    elif isinstance(node, list):
        for value in node:
            keys |= _schema_keys(value)
    return keys


def test_the_json_report_doc_explains_every_key_and_code() -> None:
    text = (DOCS / "json-report.md").read_text(encoding="utf-8")
    explained = {unquote(r[0]) for r in table_rows(text) if r[0].startswith("`")}
    assert _schema_keys(load_schema()) <= explained
    rejection = {unquote(r[0]) for r in table_rows(section(text, "### Rejection codes")) if r[0] != "code"}
    assert rejection == REJECTION_CODES


def test_every_documented_issue_code_is_one_the_program_uses() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "mttq_xlsx").glob("*.py"))
    unused = sorted(c for c in documented_codes() if f'"{c}"' not in source)
    assert unused == []


INNER_TESTS = """
import json
from click.testing import CliRunner
from mttq_xlsx.cli import main
from mttq_xlsx.consolidation import Completeness

SAMPLE = {sample!r}

def test_writes_a_valid_report(tmp_path):
    CliRunner().invoke(main, ["check", SAMPLE, "--report", str(tmp_path / "r.json")])

def test_writes_an_invalid_report_file(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({{"schema": "mttq-xlsx/report/1", "period": "2024-6T"}}))

def test_builds_an_invalid_report(tmp_path, monkeypatch):
    monkeypatch.setattr(Completeness, "as_dict", lambda self: {{"expected": 0}})
    CliRunner().invoke(main, ["check", SAMPLE, "--report", str(tmp_path / "r.json")])
"""


def test_a_test_that_makes_an_invalid_report_fails(tmp_path: Path) -> None:
    """The plugin in a pytest run of its own: a valid report passes; an invalid report file, and
    an invalid report built in the process, make their tests fail; the summary counts them."""
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(INNER_TESTS).format(sample=str(SAMPLES / "inbox" / "Báo cáo Cao Lộc.xlsx")),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.report_schema", "-p", "no:cacheprovider", "-rE"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "3 passed, 2 errors" in out, out
    assert "ERROR test_inner.py::test_writes_an_invalid_report_file" in out, out
    assert "ERROR test_inner.py::test_builds_an_invalid_report" in out, out
    assert "'files' is a required property" in out, out
    assert "a JSON report built in this process" in out, out
    assert "/completeness: 'received' is a required property" in out, out
    counted = "JSON reports validated against mttq_xlsx/schemas/report-1.schema.json: 2 built, 3 files"
    assert counted in out, out


def test_the_package_ships_the_schema(tmp_path: Path) -> None:
    """What setuptools puts in the package (wheel) from pyproject.toml: the spec files and the schema."""
    for name in ("pyproject.toml", "README.md"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    for path in (ROOT / "mttq_xlsx").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    build = "import setuptools; setuptools.setup()"
    done = subprocess.run(
        [sys.executable, "-c", build, "-q", "build_py", "--build-lib", "built"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    shipped = tmp_path / "built" / "mttq_xlsx" / "schemas" / "report-1.schema.json"
    assert json.loads(shipped.read_text(encoding="utf-8")) == load_schema()
    assert sorted(p.name for p in (tmp_path / "built" / "mttq_xlsx" / "specs").glob("*.toml")) == sorted(
        p.name for p in (ROOT / "mttq_xlsx" / "specs").glob("*.toml")
    )


# ---------------------------------------------------------------------- the file contract
def _contract() -> str:
    return (DOCS / "file-contract.md").read_text(encoding="utf-8")


def _meta(path: Path) -> tuple[list[str], list[str], list[list[str]], dict[str, str]]:
    """A workbook's `_mttq` keys in order, its map header and rows, and its sheets' visibility."""
    book = CalamineWorkbook.from_path(str(path))
    rows = [[str(c) for c in r] for r in book.get_sheet_by_name("_mttq").to_python(skip_empty_area=False)]
    start = next(i for i, r in enumerate(rows) if r[0] == "field_id")
    keys = [r[0] for r in rows[:start] if r[0]]
    states = {m.name: str(m.visible).rsplit(".", 1)[-1] for m in book.sheets_metadata}
    return keys, rows[start], [r for r in rows[start + 1 :] if r[0]], states


def test_the_file_contract_is_what_templates_hold(tmp_path: Path) -> None:
    roster = tmp_path / "don-vi.csv"
    roster.write_text("code,name,parent_code,kind\n05977,Phường Đông Kinh,20,phuong\n", encoding="utf-8")
    result = run("template", "bieu-so-lieu", "-o", tmp_path, "--period", "2024-6T", "--roster", roster)
    assert result.exit_code == 0, result.output
    generic = tmp_path / "bieu-so-lieu_2024-6T.xlsx"
    own = tmp_path / "bieu-so-lieu_2024-6T_05977_phuong-dong-kinh.xlsx"
    text = _contract()
    doc_keys = [unquote(r[0]) for r in table_rows(section(text, "### Keys")) if r[0] != "key"]
    columns = table_rows(section(text, "### The field map"))
    doc_header = [unquote(r[1]) for r in columns if r[0] in tuple("ABCDEFG")]
    examples = [
        [unquote(c) for c in r]
        for r in table_rows(section(text, "### The field map"))
        if len(r) == 7 and r[0] != "field_id"
    ]
    roll_up_only = ["units_sheet"]
    for path in (generic, own):
        keys, header, fmap, states = _meta(path)
        assert keys == [k for k in doc_keys if k not in roll_up_only]
        assert header[: len(doc_header)] == doc_header
        assert all(row in [m[:7] for m in fmap] for row in examples), examples
        assert (states["_mttq"], states["_ds"]) == ("VeryHidden", "VeryHidden")
        assert list(states)[-2:] == ["_ds", "_mttq"]
    assert examples, "the field map's example rows were not found"
    lists = CalamineWorkbook.from_path(str(generic)).get_sheet_by_name("_ds").to_python()
    assert lists[0][0] == "_units" and lists[1][0] == "Phường Đông Kinh"
    own_lists = CalamineWorkbook.from_path(str(own)).get_sheet_by_name("_ds").to_python()
    assert not own_lists or "_units" not in own_lists[0]  # the unit's name is locked: no roster


def test_the_file_contract_is_what_a_roll_up_holds(tmp_path: Path) -> None:
    """A roll-up has every key the contract lists, and `_donvi` as it describes it."""
    roll_up = tmp_path / "tinh.xlsx"
    result = run(
        "consolidate", SAMPLES / "inbox", "-o", tmp_path / "th.xlsx", "--roster", SAMPLES / "don-vi.csv",
        "--period", "2024-6T", "--rollup", roll_up, "--as-unit", "20",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    text = _contract()
    doc_keys = [unquote(r[0]) for r in table_rows(section(text, "### Keys")) if r[0] != "key"]
    keys, _header, _fmap, states = _meta(roll_up)
    assert keys == doc_keys
    assert list(states)[-3:] == ["_donvi", "_ds", "_mttq"] and states["_donvi"] == "VeryHidden"
    units = CalamineWorkbook.from_path(str(roll_up)).get_sheet_by_name("_donvi").to_python()
    assert units[0][:2] == ["unit_code", "unit_name"] and "`unit_code`, `unit_name`" in text
    assert "hoa_giai_ty_le" not in units[0] and "don_vi" not in units[0]
    assert [r[0] for r in units[1:]] == ["178", *map(str, range(180, 190))]


LIBREOFFICE_SAMPLES = (  # one bieu-so-lieu sample of each format LibreOffice saved
    "Bieu so lieu 6 thang 2024 - TP Lang Son.xlsx",
    "BC Van Quan 6T2024.xls",
    "Bắc Sơn - Biểu số liệu 6T.ods",
)


@pytest.mark.parametrize("name", LIBREOFFICE_SAMPLES)
def test_what_libreoffice_does_to_the_contract_sheets(name: str, tmp_path: Path) -> None:
    """As file-contract.md says, on the samples LibreOffice saved: the sheets are plain hidden,
    `_xa_` in a field id came back as a line break, and the reader still finds the field."""
    path = SAMPLES / "inbox" / name
    _keys, _header, fmap, states = _meta(path)
    assert (states["_mttq"], states["_ds"]) == ("Hidden", "Hidden")
    assert "nha_van_hoa\nty_le" in [r[0] for r in fmap]
    result = run("check", path, "--report", tmp_path / "r.json")
    assert result.exit_code in (0, 1), result.output
    (unit,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["units"].values()
    assert unit["bieu-so-lieu"]["nha_van_hoa_xa_ty_le"] is not None
    text = " ".join(_contract().split())
    assert "saves them as plain hidden sheets" in text and "`nha_van_hoa` + line break + `ty_le`" in text


# ---------------------------------------------------------------------- links and citations
def _repository_files() -> list[Path]:
    skip = {".git", ".venv", "__pycache__", ".hypothesis", "out", "build", "dist", "bench-out"}
    return [
        p
        for p in ROOT.rglob("*")
        if p.is_file()
        and not (skip & set(p.relative_to(ROOT).parts))
        and not any(part.startswith(".") or part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)
    ]


def test_nothing_cites_a_document_outside_the_repository() -> None:
    outside = [b"../" + b"shared", b"/work/" + b"shared", b"shared/" + b"docs", b"seeds/"]
    cited = [
        str(p.relative_to(ROOT))
        for p in _repository_files()
        if p != Path(__file__) and any(needle in p.read_bytes() for needle in outside)
    ]
    assert cited == []


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_links_in_the_readme_and_docs_resolve() -> None:
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            linked = (page.parent / target).resolve() if target else page
            assert linked.exists(), f"{page.name}: {target}"
            if anchor and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), re.M)
                assert anchor in {_slug(h) for h in headings}, f"{page.name}: {target}#{anchor}"


def test_the_readme_lists_every_doc() -> None:
    readme = section((ROOT / "README.md").read_text(encoding="utf-8"), "## Documentation")
    for page in DOCS.glob("*.md"):
        assert f"](docs/{page.name})" in readme, page.name
    assert report_schema.SCHEMA_FILE[-1] in readme
