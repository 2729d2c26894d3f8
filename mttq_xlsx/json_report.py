"""The JSON report (`--report`), schema `mttq-xlsx/report/1`: written atomically, and read back
(`mttq-xlsx reply` answers each mail from it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .consolidation import Consolidation
from .errors import UsageError
from .model import plain
from .output import atomic_path, reason

SCHEMA = "mttq-xlsx/report/1"


def json_report_dict(result: Consolidation) -> dict[str, Any]:
    """The JSON report of `result` as plain data: files, issues, totals, units, completeness."""
    units: dict[str, dict[str, dict[str, Any]]] = {}
    for sub in result.submissions:
        units.setdefault(sub.unit_code, {})[sub.report_id] = {k: plain(v) for k, v in sub.values.items()}
    return {
        "schema": SCHEMA,
        "period": result.period.id,
        "files": [f.as_dict() for f in result.files],
        "issues": [i.as_dict() for i in result.issues],
        "totals": result.totals,
        "units": units,
        "completeness": result.completeness.as_dict(),
    }


def write_json_report(result: Consolidation, target: Path) -> Path:
    """Write the JSON report of `result` to `target` atomically and return `target`."""
    with atomic_path(target) as tmp:
        tmp.write_text(
            json.dumps(json_report_dict(result), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    return target


def read_json_report(path: Path) -> dict[str, Any]:
    """A JSON report written by `write_json_report`; UsageError in Vietnamese when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"Không đọc được báo cáo JSON “{path}”: {reason(exc)}.") from None
    except ValueError:
        raise UsageError(f"“{path}” không phải báo cáo JSON của mttq-xlsx consolidate --report.") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(
            f"“{path}” không phải báo cáo JSON của mttq-xlsx consolidate (--report), lược đồ {SCHEMA}."
        )
    return data
