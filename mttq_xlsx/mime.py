"""The MIME structure of a message, found fast: its parts by their boundary lines, each part's
body left where it lies in the message (an offset range) and decoded only when read.

The email package's parser reads every line of a body in Python — 750 lines for a message with
one 35 kB workbook — and took 3 ms a message; here only the headers go through it (compat32,
which keeps raw values), and the bodies are cut with bytes.find. RFC 2046: a boundary line is
"--boundary" (the closing one "--boundary--"), padding allowed after it, and the line break
before it belongs to it; a missing closing line is forgiven, as mail programs forgive it.
"""

from __future__ import annotations

import binascii
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import Parser

MAX_DEPTH = 20  # multiparts and forwarded messages one inside another
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")  # the end of a header
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
# a header's lines as the email package's feedparser cuts them (a lone \r ends a line too), and
# the common line, "Name: value" (its headerRE, less the rare forms left to the feedparser)
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_FIELD = re.compile(r"[\041-\071\073-\176]+:")
PLAIN = ("", "7bit", "8bit", "binary")


@dataclass(frozen=True)
class Leaf:
    """A part that is not a container: its header, and its body still encoded in `data[start:stop]`."""

    head: Message
    data: bytes  # the message it lies in (a forwarded message that was itself encoded: its decoding)
    start: int
    stop: int

    @property
    def encoding(self) -> str:
        return transfer_encoding(self.head)

    def decoded(self) -> bytes:
        return decoded(self.data[self.start : self.stop], self.encoding)


def header(data: bytes, start: int = 0, stop: int | None = None) -> tuple[Message, int]:
    """The header of the part in `data[start:stop]`, parsed (compat32: raw values kept), and where its
    body starts."""
    stop = len(data) if stop is None else stop
    end = _BLANK_LINE.search(data, start, stop)
    head_end, body = (end.start(), end.end()) if end else (stop, stop)
    text = data[start:head_end].decode("ascii", "surrogateescape")  # as BytesParser decodes it
    parsed = _plain_header(text) or Parser(policy=policy.compat32).parsestr(text + "\n\n", headersonly=True)
    return parsed, body


def _plain_header(text: str) -> Message | None:
    """A header of "Name: value" lines (and their continuations) read as the feedparser reads it,
    without its line-by-line machinery (five parts a message: it took a fifth of a message's
    time); None for a header of any other form, left to the feedparser."""
    lines = _LINES.findall(text)
    if not lines or lines[0][0] in " \t":
        return None
    parsed = Message(policy=policy.compat32)
    field: list[str] = []
    for line in lines:
        if line[0] in " \t":
            field.append(line)
            continue
        if not _FIELD.match(line):
            return None  # a From_ line, a line without a colon: the feedparser's rules apply
        if field:
            parsed.set_raw(*policy.compat32.header_source_parse(field))
        field = [line]
    parsed.set_raw(*policy.compat32.header_source_parse(field))
    return parsed


def leaves(
    data: bytes,
    start: int = 0,
    stop: int | None = None,
    depth: int = 0,
    top: tuple[Message, int] | None = None,
) -> Iterator[Leaf]:
    """Every part of the message in `data[start:stop]` that is not a container: a multipart is cut
    at its boundary lines, a forwarded message (message/rfc822) opened. `top`: its `header`, when
    the caller has read it already."""
    stop = len(data) if stop is None else stop
    head, body = top or header(data, start, stop)
    ctype = head.get_content_type()
    boundary = head.get_boundary() if ctype.startswith("multipart/") else None
    if boundary and depth < MAX_DEPTH:
        for first, last in chunks(data, body, stop, boundary):
            yield from leaves(data, first, last, depth + 1)
    elif ctype == "message/rfc822" and depth < MAX_DEPTH:
        if transfer_encoding(head) in PLAIN:
            yield from leaves(data, body, stop, depth + 1)
        else:  # a forwarded message itself encoded (rare): its parts lie in its decoding
            inner = decoded(data[body:stop], transfer_encoding(head))
            yield from leaves(inner, 0, len(inner), depth + 1)
    else:
        yield Leaf(head, data, body, stop)


def chunks(data: bytes, start: int, stop: int, boundary: str) -> list[tuple[int, int]]:
    """The (start, stop) of each part of the multipart body `data[start:stop]`."""
    marker = b"--" + boundary.encode("utf-8", "surrogateescape")
    lines: list[tuple[int, int, bool]] = []  # (start, end of line, closing) of each boundary line
    at = start if data.startswith(marker, start, stop) else _line_start(data, marker, start, stop)
    while at >= 0:
        end = data.find(b"\n", at, stop)
        end = stop if end < 0 else end
        rest = data[at + len(marker) : end].rstrip(b" \t\r")
        if rest in (b"", b"--"):  # else a longer word that starts like the boundary
            lines.append((at, end, rest == b"--"))
        at = _line_start(data, marker, end, stop)
    found = []
    for (_, end, closing), after in zip(lines, [*lines[1:], None], strict=True):
        if closing:
            break
        first, last = min(end + 1, stop), after[0] if after else stop
        if after:  # the line break before a boundary line is the boundary's
            last -= 1 if data[last - 1 : last] == b"\n" else 0
            last -= 1 if data[last - 1 : last] == b"\r" else 0
        found.append((first, max(first, last)))
    return found


def _line_start(data: bytes, marker: bytes, start: int, stop: int) -> int:
    """Where the next line that starts with `marker` starts, after `start`; -1 when there is none."""
    found = data.find(b"\n" + marker, start, stop)
    return found + 1 if found >= 0 else -1


def transfer_encoding(head: Message) -> str:
    return str(head.get("content-transfer-encoding", "")).strip().lower()


def decoded(body: bytes, encoding: str) -> bytes:
    """A body as it was before its Content-Transfer-Encoding; base64 cut short is decoded as far as
    it goes (a message that did not arrive whole)."""
    if encoding == "base64":
        with contextlib.suppress(binascii.Error):  # skips line breaks; a wrong length raises
            return binascii.a2b_base64(body)
        letters = _NOT_BASE64.sub(b"", body)
        letters = letters[: len(letters) - 1] if len(letters) % 4 == 1 else letters
        return binascii.a2b_base64(letters + b"=" * (-len(letters) % 4))
    if encoding == "quoted-printable":
        return binascii.a2b_qp(body)
    return body
