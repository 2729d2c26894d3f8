"""Writing zips faster, to the byte what Python's `zipfile` writes.

- `ZipCopier`: copies of one zip with some members' contents replaced, for writing many workbooks
  that differ in one part. The other members' compressed bytes and headers are copied as they
  are, so a copy costs the deflating of what changed only.
- `DeflatingZipFile`: a ZipFile whose members are deflated on several threads at once (the
  summary workbook's parts, each as soon as xlsxwriter's packager has written it).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

# The zip format's records (APPNOTE 4.3.7, 4.3.12, 4.3.16), as zipfile packs them
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # ... name length [10], extra length [11]
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # ... name, extra, comment lengths [12:15], offset [18]
_END = struct.Struct("<4s4H2LH")  # ... directory size [5], directory offset [6]
_SIZES = struct.Struct("<LLL")  # CRC-32, compressed size, size: the same order in both headers
_LOCAL_SIZES = 14  # where they start in a local file header
_CENTRAL_SIZES = 16  # and in a central directory record
_CENTRAL_OFFSET = 42  # where a central directory record gives its local header's offset
_DATA_DESCRIPTOR = 0x08
_KINDS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# What a thread deflates at a time. ZipFile.write deflates 8 KiB at a time; deflate's output
# does not depend on how its input is cut (tests/test_zipparts.py compares), and a thread that
# lets go of the GIL for every 8 KiB waits up to 5 ms to get it back while the packager works.
_PIECE = 1 << 20


class ZipCopier:
    """A zip read once (as `zipfile` writes a small one: UTF-8 or ASCII names, no data descriptors,
    no zip64, one disk), ready to be copied with members replaced."""

    def __init__(self, data: bytes) -> None:
        at = data.rfind(b"PK\x05\x06", max(0, len(data) - _END.size - 0xFFFF))
        end = _END.unpack_from(data, at) if at >= 0 else None
        if end is None or end[1:3] != (0, 0) or end[3] != end[4]:
            raise ValueError("not a zip this copier writes")
        self.end = data[at:]
        self.names: list[str] = []
        self.types: dict[str, int] = {}
        self.locals: list[bytes] = []
        self.datas: list[bytes] = []
        self.centrals: list[bytes] = []
        at = end[6]
        for _ in range(end[4]):
            fields = _CENTRAL.unpack_from(data, at)
            size = _CENTRAL.size + fields[12] + fields[13] + fields[14]
            name = data[at + _CENTRAL.size : at + _CENTRAL.size + fields[12]].decode()
            if fields[5] & _DATA_DESCRIPTOR or fields[6] not in _KINDS:
                raise ValueError(f"{name}: not a member this copier writes")
            self.centrals.append(data[at : at + size])
            at += size
            offset, compressed = fields[18], fields[10]
            local = _LOCAL.unpack_from(data, offset)
            head = _LOCAL.size + local[10] + local[11]
            self.locals.append(data[offset : offset + head])
            self.datas.append(data[offset + head : offset + head + compressed])
            self.names.append(name)
            self.types[name] = fields[6]

    def read(self, name: str) -> bytes:
        """A member's content."""
        data = self.datas[self.names.index(name)]
        return data if self.types[name] == zipfile.ZIP_STORED else zlib.decompress(data, -15)

    def copy(self, replaced: Mapping[str, bytes]) -> bytes:
        """The zip's bytes with the contents of the members named in `replaced` replaced."""
        unknown = set(replaced) - set(self.names)
        if unknown:
            raise KeyError(f"no such member: {sorted(unknown)}")
        out = io.BytesIO()
        central = io.BytesIO()
        for name, local, data, record in zip(self.names, self.locals, self.datas, self.centrals, strict=True):
            offset = out.tell()
            if name in replaced:
                content = replaced[name]
                data = _compressed(content, self.types[name])
                sizes = _SIZES.pack(zlib.crc32(content), len(data), len(content))
                local = local[:_LOCAL_SIZES] + sizes + local[_LOCAL_SIZES + _SIZES.size :]
                record = record[:_CENTRAL_SIZES] + sizes + record[_CENTRAL_SIZES + _SIZES.size :]
            out.write(local)
            out.write(data)
            central.write(record[:_CENTRAL_OFFSET])
            central.write(struct.pack("<L", offset))
            central.write(record[_CENTRAL_OFFSET + 4 :])
        start = out.tell()
        directory = central.getvalue()
        out.write(directory)
        fields = list(_END.unpack_from(self.end))
        fields[5], fields[6] = len(directory), start
        out.write(_END.pack(*fields) + self.end[_END.size :])
        return out.getvalue()


def _compressed(content: bytes, kind: int) -> bytes:
    if kind == zipfile.ZIP_STORED:
        return content
    deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)  # as zipfile does
    return deflate.compress(content) + deflate.flush()


class DeflatingZipFile(zipfile.ZipFile):
    """A `zipfile.ZipFile` to write, whose members written from files (`write`) are deflated on
    `threads` threads at once (zlib lets go of the GIL while it works) and written in their order
    at `close`: the same bytes `ZipFile.write` writes, sooner on more than one core."""

    threads = 2

    def __init__(self, *args: Any, ahead: _Ahead | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ahead = ahead or _Ahead(self.threads)
        self._queued: list[tuple[zipfile.ZipInfo, bytes, Future[bytes]]] = []

    def write(
        self, filename: Any, arcname: Any = None, compress_type: Any = None, compresslevel: Any = None
    ) -> None:
        zinfo = zipfile.ZipInfo.from_file(filename, arcname, strict_timestamps=self._strict_timestamps)  # type: ignore[attr-defined]
        if (
            zinfo.is_dir()
            or compress_type is not None
            or compresslevel is not None
            or self.compression != zipfile.ZIP_DEFLATED
        ):
            self._write_queued()
            super().write(filename, arcname, compress_type, compresslevel)
            return
        zinfo.compress_type = self.compression
        zinfo._compresslevel = self.compresslevel  # type: ignore[attr-defined]
        content, deflated = self._ahead.take(filename, self.compresslevel)
        self._queued.append((zinfo, content, deflated))

    def close(self) -> None:
        try:
            if self.fp is not None:
                self._write_queued()
        finally:
            self._ahead.pool.shutdown(cancel_futures=True)
            super().close()

    def _write_queued(self) -> None:
        for zinfo, content, deflated in self._queued:
            with self.open(zinfo, "w") as member:
                member._compressor = _Deflated(deflated.result())  # type: ignore[attr-defined]
                member.write(content)  # counts the size and the CRC; the data is the deflated bytes
        self._queued.clear()


class _Ahead:
    """Files deflated on `threads` threads as soon as they are written, by their path."""

    def __init__(self, threads: int) -> None:
        self.pool = ThreadPoolExecutor(threads)
        self.files: dict[str, tuple[bytes, Future[bytes]]] = {}

    def submit(self, filename: str, level: int | None = None) -> None:
        content = Path(filename).read_bytes()  # now: the caller may remove the file next
        self.files[filename] = (content, self.pool.submit(_deflated, content, level))

    def take(self, filename: Any, level: int | None) -> tuple[bytes, Future[bytes]]:
        """The content of `filename` and its deflating, begun now unless it was already."""
        found = self.files.pop(str(filename), None)
        if found is None or level is not None:  # deflated ahead at the default level only
            self.submit(str(filename), level)
            found = self.files.pop(str(filename))
        return found


class _Deflated:
    """Stands in for a member's compressor: the member's bytes, deflated beforehand."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def compress(self, _content: bytes) -> bytes:
        return b""

    def flush(self) -> bytes:
        return self.data


def _deflated(content: bytes, level: int | None) -> bytes:
    """`content` deflated as ZipFile.write deflates a file, at `level` (in bigger pieces)."""
    deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION if level is None else level, zlib.DEFLATED, -15)
    view = memoryview(content)
    pieces = [deflate.compress(view[i : i + _PIECE]) for i in range(0, len(content), _PIECE)]
    return b"".join(pieces) + deflate.flush()


@contextlib.contextmanager
def deflating_in_parallel(module: Any) -> Iterator[None]:
    """Within the block, `module.ZipFile` (a writer's own name for it, such as xlsxwriter's) is
    DeflatingZipFile, when the machine has more than one core and the name is zipfile's own.
    Where `module.Packager` is xlsxwriter's packager (writing the workbook's parts to temporary
    files, then zipping them), each part is deflated as soon as the next is begun, while the
    packager writes the others."""
    if (os.cpu_count() or 1) < 2 or module.ZipFile is not zipfile.ZipFile:
        yield
        return
    ahead = _Ahead(DeflatingZipFile.threads)
    original, packager = module.ZipFile, getattr(module, "Packager", None)
    module.ZipFile = functools.partial(DeflatingZipFile, ahead=ahead)
    if packager is not None and hasattr(packager, "_filename"):
        module.Packager = _early_packager(packager, ahead)
    try:
        yield
    finally:
        module.ZipFile = original
        if packager is not None:
            module.Packager = packager
        ahead.pool.shutdown(cancel_futures=True)


def _early_packager(packager: type, ahead: _Ahead) -> type:
    class EarlyPackager(packager):  # type: ignore[valid-type,misc]
        def _filename(self, xml_filename: str) -> Any:
            if self.filenames and isinstance(self.filenames[-1][0], str):
                ahead.submit(self.filenames[-1][0])  # the part before is written: deflate it
            return super()._filename(xml_filename)

    return EarlyPackager
