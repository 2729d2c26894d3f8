"""mttq-xlsx: locked Excel report templates and consolidation for MTTQ reporting campaigns.

The library API (see README, "Library"): `load_spec`, `write_templates`, `check`, `consolidate`
(a `Consolidation`, with `Options`; a mailbox with `MailAccess`; `read_previous`),
`write_summary`, `write_docx`, `write_json_report`, `write_rollup`, `fetch` and `reply` (mail),
and the errors. They are imported when first used, so importing the package stays cheap: reading
workers import it, and nothing here imports pandas, xlsxwriter, python-docx or openpyxl.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it from here

from .errors import (
    MailError,
    MttqError,
    NumberError,
    OutputError,
    Rejected,
    RosterError,
    SpecError,
    UsageError,
)

if TYPE_CHECKING:
    from .admission import Options
    from .api import (
        check,
        consolidate,
        fetch,
        read_previous,
        reply,
        write_docx,
        write_json_report,
        write_rollup,
        write_summary,
        write_templates,
    )
    from .consolidation import Consolidation
    from .mailboxes import MailAccess
    from .spec import load_spec

_LAZY = {
    "load_spec": "spec",
    "write_templates": "api",
    "check": "api",
    "consolidate": "api",
    "Consolidation": "consolidation",
    "Options": "admission",
    "MailAccess": "mailboxes",
    "fetch": "api",
    "reply": "api",
    "write_summary": "api",
    "write_json_report": "api",
    "write_rollup": "api",
    "write_docx": "api",
    "read_previous": "api",
}
__all__ = [
    "Consolidation",
    "MailAccess",
    "MailError",
    "MttqError",
    "NumberError",
    "Options",
    "OutputError",
    "Rejected",
    "RosterError",
    "SpecError",
    "UsageError",
    "__version__",
    "check",
    "consolidate",
    "fetch",
    "load_spec",
    "read_previous",
    "reply",
    "write_docx",
    "write_json_report",
    "write_rollup",
    "write_summary",
    "write_templates",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
