"""A pytest plugin: every JSON report the test suite makes is validated against the schema the
package ships (`mttq_xlsx/schemas/report-1.schema.json`).

Two nets. In this process, the JSON report's builder is wrapped for the whole session, so every
report dict the library builds is validated, written to a file or not. On disk, every `*.json`
whose `schema` is `mttq-xlsx/report/1` is validated: after each test, those under its `tmp_path`
(child processes write there), and at the end of the session those anywhere under the session's
base temp (module fixtures write there). A report that does not validate fails the test that
made it (or, for a file found only at the end, the session). The terminal summary says how many
were validated; a full run (`make test`) that validated none fails.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

# The JSON report's builder, the one function every report passes through. Repoint here only.
from mttq_xlsx import json_report as json_report_module

BUILDER = "json_report_dict"
REPORT_SCHEMA = "mttq-xlsx/report/1"
SCHEMA_FILE = ("schemas", "report-1.schema.json")
INVALID = "JSON report not valid against mttq_xlsx/schemas/report-1.schema.json: "
CODES_DOC = Path(__file__).resolve().parents[1] / "docs" / "json-report.md"
CODE_TABLES = ("### Rejection codes", "### Issue codes")
# own copies: a test may break json.dumps on purpose (a fault of the program) while a report is built
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_DECODE = json.JSONDecoder().decode


def load_schema() -> dict[str, Any]:
    text = resources.files("mttq_xlsx").joinpath(*SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def validator() -> Draft202012Validator:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def section(text: str, heading: str) -> str:
    """The part of a Markdown text under `heading`, up to the next heading."""
    start = text.index(heading + "\n") + len(heading)
    following = re.search(r"^#", text[start:], re.M)
    return text[start : start + following.start()] if following else text[start:]


@functools.cache
def documented_codes() -> frozenset[str]:
    """The codes docs/json-report.md explains: the first column of its two code tables."""
    text = CODES_DOC.read_text(encoding="utf-8")
    tables = "".join(section(text, heading) for heading in CODE_TABLES)
    return frozenset(re.findall(r"^\| `([a-z_]+)` \|", tables, re.M))


def problems(report: Any) -> list[str]:
    """What is wrong with `report` against the schema, one line each, and any issue code that
    docs/json-report.md does not explain; [] when it is right."""
    errors = sorted(validator().iter_errors(report), key=lambda e: list(e.absolute_path))
    found = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors]
    issues = report.get("issues") if isinstance(report, dict) else None
    for i, issue in enumerate(issues if isinstance(issues, list) else []):
        code = issue.get("code") if isinstance(issue, dict) else None
        if isinstance(code, str) and code not in documented_codes():
            found.append(f"/issues/{i}/code: “{code}” is not explained in docs/json-report.md")
    return found


@dataclass
class Tally:
    built: int = 0  # report dicts built in this process
    files: int = 0  # report files found on disk
    failures: list[str] = field(default_factory=list)  # not yet reported to a test
    seen: set[tuple[Path, int, int]] = field(default_factory=set)  # files validated: path, mtime, size


TALLY = Tally()


def _wrap(build: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    @functools.wraps(build)
    def validated(*args: Any, **kwargs: Any) -> dict[str, Any]:
        report = build(*args, **kwargs)
        TALLY.built += 1
        try:  # as a file has it: JSON has no NaN, no dates, no tuples
            found = problems(_DECODE(_ENCODE(report)))
        except (TypeError, ValueError) as exc:
            found = [f"not JSON: {exc}"]
        if found:
            TALLY.failures.append("a JSON report built in this process:\n  " + "\n  ".join(found[:20]))
        return report

    validated.__wrapped_for_schema__ = True  # type: ignore[attr-defined]
    return validated


def pytest_configure(config: pytest.Config) -> None:
    build = getattr(json_report_module, BUILDER)
    if not getattr(build, "__wrapped_for_schema__", False):
        setattr(json_report_module, BUILDER, _wrap(build))


def _report_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*.json")):
        if path.is_file() and not path.is_symlink():
            yield path


def scan(folder: Path) -> list[str]:
    """Validate the report files under `folder` not validated before; what is wrong with them."""
    failures = []
    for path in _report_files(folder):
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key in TALLY.seen:
            continue
        TALLY.seen.add(key)
        try:
            report = _DECODE(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue  # not JSON (a test may write a broken file on purpose): not a report
        if not isinstance(report, dict) or report.get("schema") != REPORT_SCHEMA:
            continue
        TALLY.files += 1
        if found := problems(report):
            failures.append(f"{path}:\n  " + "\n  ".join(found[:20]))
    return failures


@pytest.fixture(autouse=True)
def _json_reports_are_valid(request: pytest.FixtureRequest) -> Iterator[None]:
    # asked for here, so the test's tmp_path is torn down after this fixture, not before
    folder = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    failures = TALLY.failures[:]
    TALLY.failures.clear()
    if folder is not None:
        failures += scan(folder)
    if failures:
        pytest.fail(INVALID + "\n".join(failures))


@pytest.fixture(scope="session", autouse=True)
def _json_report_files_are_valid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    failures = scan(tmp_path_factory.getbasetemp())
    if failures:
        pytest.fail(INVALID + "\n".join(failures))


def _full_run(config: pytest.Config) -> bool:
    """The whole suite, as `make test` runs it: no paths, filters or re-runs given."""
    option = config.option
    return (
        config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not option.keyword
        and not option.markexpr
        and not option.collectonly
        and not getattr(option, "lf", False)  # no cache plugin, no --lf
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == 0 and _full_run(session.config) and not (TALLY.built and TALLY.files):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(
            f"\nThe JSON report check did not run: {TALLY.built} reports built, {TALLY.files} files "
            f"validated against mttq_xlsx/schemas/report-1.schema.json (see tests/report_schema.py)."
        )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY.built or TALLY.files:
        terminalreporter.write_line(
            f"JSON reports validated against mttq_xlsx/schemas/report-1.schema.json: "
            f"{TALLY.built} built, {TALLY.files} files"
        )
