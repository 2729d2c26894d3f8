"""Write some sheets of a `constant_memory` workbook in a forked child process while this process
writes the others, to the byte what one process writes.

xlsxwriter numbers cell formats (their xf index, the ``s`` of every cell) in the order they are
first used, so the bytes depend on the order the sheets are written in. Here the child writes
the sheets that come next in that order (the content sheets, most of the cells of a big
summary), from the state at the fork, so its numbers are the ones one process gives them. This
process goes on with the sheets after them meanwhile, numbering new formats as if the child
had added none; when the child is done, its new formats go first and this process's sheets
get their numbers moved up (`_renumber`). The child sends back what it changed of its
worksheets, formats by their key; its rows are in the worksheets' row files.

This relies on xlsxwriter internals (`Format.xf_index`, `_get_format_key`, `Workbook.formats`,
`xf_format_indices`, the worksheets' row files and their `__dict__`): `FAST_ROWS` says whether
they are the ones tests/test_summary.py checks.
"""

from __future__ import annotations

import copy
import gc
import io
import os
import pickle
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from xlsxwriter import worksheet
from xlsxwriter.format import Format

from .rows import FAST_ROWS

# What a worksheet shares with the workbook or holds open: never sent back.
_SHARED = {"fh", "row_data_fh", "str_table", "worksheet_meta", "default_url_format", "embedded_images"}
_SHARED |= {"workbook_add_format", "row_data_filename"}
# The kinds of cell a worksheet keeps of its last row: named tuples pickle cannot find by name
_CELLS = {
    kind: name
    for name, kind in vars(worksheet).items()
    if name.startswith("Cell") and isinstance(kind, type) and issubclass(kind, tuple)
}


def usable(wb: Any) -> bool:
    """Whether the sheets of `wb` can be written on two processes here."""
    # Linux only: macOS's system libraries do not all survive a fork (Python starts its worker
    # processes otherwise there), Windows has none; and no other thread, whose locks would stay held
    forkable = sys.platform == "linux" and threading.active_count() == 1
    return FAST_ROWS and wb.constant_memory and forkable and (os.cpu_count() or 1) > 1


@contextmanager
def child_writes(wb: Any, sheets: Sequence[Any], write: Callable[[], None]) -> Iterator[None]:
    """Run `write` (which writes `sheets`, and only them) in a forked child while the block
    writes the other sheets; on leaving the block, wait for the child and make the workbook what
    one process writing `write` first and then the block would have made it. An error in the
    child is raised here; a child killed without one has its sheets written here, after the
    block's (the same cells, formats numbered in another order)."""
    for ws in wb.worksheets():  # nothing buffered may be written twice
        ws.row_data_fh.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    known = len(wb.xf_format_indices)
    dxf = len(wb.dxf_format_indices)
    read, send = os.pipe()
    gc.freeze()  # the collector then leaves alone what both processes hold: fewer pages copied
    pid = os.fork()
    if pid == 0:  # the child: write, send what changed, and leave without running any cleanup
        os.close(read)
        code = 0
        try:
            data = _child(wb, sheets, write, known, dxf)
        except BaseException as exc:  # raised again in the parent
            code = 1
            data = _pickled_error(exc)
        try:
            with os.fdopen(send, "wb") as out:
                out.write(data)
        finally:
            os._exit(code)
    os.close(send)
    try:
        yield
    finally:
        gc.unfreeze()
        with os.fdopen(read, "rb") as got:
            data = got.read()
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        _merge(wb, sheets, known, data)
    elif isinstance(error := _error(data), BaseException):
        raise error  # what went wrong in the child, as one process would raise it
    else:  # killed (out of memory, a signal): its sheets written here, after the others
        for ws in sheets:
            ws._opt_close()
            with open(ws.row_data_filename, "w", encoding="utf-8"):
                pass  # whatever rows it wrote
            ws._opt_reopen()
        write()


def _child(wb: Any, sheets: Sequence[Any], write: Callable[[], None], known: int, dxf: int) -> bytes:
    before = [{k: copy.deepcopy(v) for k, v in ws.__dict__.items() if k not in _SHARED} for ws in sheets]
    write()
    if len(wb.dxf_format_indices) != dxf:
        raise RuntimeError("sheets written in a child process may not add conditional formats")
    changed = []
    for ws, old in zip(sheets, before, strict=True):
        ws.row_data_fh.flush()  # the rows written so far: the last one stays in `table`
        changed.append(
            {k: v for k, v in ws.__dict__.items() if k not in _SHARED and old.get(k, _SHARED) != v}
        )
    sheet_state = io.BytesIO()
    pickler = _FormatPickler(sheet_state)
    pickler.dump(changed)
    owners = {f.xf_index: f for f in wb.formats if f.xf_index is not None and f.xf_index > known}
    added = [(key, _properties(owners[i])) for key, i in list(wb.xf_format_indices.items())[known:]]
    # formats of the rows still kept (numbered when written, at close), maybe new to the parent
    kept = [(key, {**_properties(f), "xf_index": None}) for key, f in pickler.formats.items()]
    return pickle.dumps((added, kept, sheet_state.getvalue()))


def _properties(f: Format) -> dict[str, Any]:
    return {k: v for k, v in f.__dict__.items() if k not in {"xf_format_indices", "dxf_format_indices"}}


def _error(data: bytes) -> BaseException | None:
    """The exception a child sent, if it sent one whole."""
    try:
        error = pickle.loads(data)
    except Exception:  # nothing, or cut short
        return None
    return error if isinstance(error, BaseException) else None


def _pickled_error(exc: BaseException) -> bytes:
    try:
        return pickle.dumps(exc)
    except Exception:  # one that cannot be pickled: its text
        return pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))


class _FormatPickler(pickle.Pickler):
    """Formats go by their key: the parent has its own objects."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)
        self.formats: dict[str, Format] = {}

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, Format):
            return None
        key = obj._get_format_key()
        self.formats[key] = obj
        return key

    def reducer_override(self, obj: Any) -> Any:
        name = _CELLS.get(type(obj))
        return (_cell, (name, tuple(obj))) if name else NotImplemented


def _cell(name: str, fields: tuple[Any, ...]) -> Any:
    return getattr(worksheet, name)(*fields)


class _FormatUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, by_key: dict[str, Format]) -> None:
        super().__init__(io.BytesIO(data))
        self.by_key = by_key

    def persistent_load(self, pid: Any) -> Any:
        return self.by_key[pid]


def _merge(wb: Any, sheets: Sequence[Any], known: int, data: bytes) -> None:
    """Number the child's new formats first, then this process's; take the child's sheets."""
    added, kept, sheet_state = pickle.loads(data)
    ours = list(wb.xf_format_indices)[known:]  # numbered known + 1 … as if the child added none
    theirs = [key for key, _ in added]
    taken = set(theirs)
    order = list(wb.xf_format_indices)[:known] + theirs + [key for key in ours if key not in taken]
    owners: dict[str, Format] = {}
    by_key: dict[str, Format] = {}
    for f in wb.formats:
        key = f._get_format_key()
        by_key.setdefault(key, f)
        if f.xf_index is not None and f.xf_index > known:
            owners[key] = f
            f.xf_index = None
    for key, properties in added:
        if key not in owners:
            owner = next((f for f in wb.formats if f.xf_index is None and f._get_format_key() == key), None)
            if owner is None:
                owner = wb.add_format()
                owner.__dict__.update(properties)
            owners[key] = by_key[key] = owner
    for key, properties in kept:
        if key not in by_key:
            by_key[key] = wb.add_format()
            by_key[key].__dict__.update(properties)
    new = {key: n for n, key in enumerate(order, 1)}
    moved = {str(old): str(new[key]) for old, key in enumerate(ours, known + 1) if new[key] != old}
    wb.xf_format_indices.clear()
    wb.xf_format_indices.update(new)
    for key, n in new.items():
        if n > known:
            owners[key].xf_index = n
    ours_sheets = [ws for ws in wb.worksheets() if not any(ws is s for s in sheets)]
    if moved:
        for ws in ours_sheets:
            _renumber(ws, moved)
    for ws, state in zip(sheets, _FormatUnpickler(sheet_state, by_key).load(), strict=True):
        ws.__dict__.update(state)
        ws._opt_close()  # this process's handle never wrote; the rows are the child's
        ws._opt_reopen()


def _renumber(ws: Any, moved: dict[str, str]) -> None:
    """Give the cells in `ws`'s row file their formats' new numbers."""
    ws._opt_close()
    with open(ws.row_data_filename, encoding="utf-8") as f:
        rows = f.read()
    # cells only: no row of a summary has a format of its own (set_row gives heights only);
    # ``<`` never occurs unescaped in a text, so a text cannot look like a cell
    style = re.compile(f'(<c r="[A-Z]+[0-9]+" s=")({"|".join(moved)})"')
    with open(ws.row_data_filename, "w", encoding="utf-8") as f:
        f.write(style.sub(lambda m: f'{m[1]}{moved[m[2]]}"', rows))
    ws._opt_reopen()
