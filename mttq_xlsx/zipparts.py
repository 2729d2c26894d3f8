"""Copies of one zip with some members' contents replaced, for writing many workbooks that differ
in one part. The other members' compressed bytes and headers are copied as they are, so a copy
costs the deflating of what changed only; a replaced member is deflated as Python's `zipfile`
deflates it, so a copy is byte for byte the zip `zipfile` would have written with that content.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Mapping

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
