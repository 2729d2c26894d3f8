"""The `mttq-xlsx` command: `commands` (the group and the report commands), `mail` (fetch and
reply), `options` (what they share)."""

from .commands import main

__all__ = ["main"]
