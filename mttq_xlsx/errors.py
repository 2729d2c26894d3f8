"""Exceptions. Every message is Vietnamese and says what to do next (but a fault of the program
itself, which carries its traceback for the developers)."""

import contextlib
import traceback
from collections.abc import Iterator

from .codes import REJECTION_CODES


class MttqError(Exception):
    """Root of every error this package raises on purpose."""


class SpecError(MttqError):
    """A form spec file is malformed."""


class UsageError(MttqError):
    """An option or argument given by the user is wrong."""


class RosterError(MttqError):
    """A roster CSV cannot be used, or a province is unknown."""


class NumberError(MttqError):
    """A text is not a number under Vietnamese conventions, or is ambiguous."""


class OutputError(MttqError):
    """An output file or folder cannot be written."""


class Rejected(MttqError):
    """A file that cannot be read as one of our templates: `code` is its stable reason (one of
    `codes.REJECTION_CODES`), the message the Vietnamese reason, `detail` what a library said
    (for the JSON report only). A run lists the file and goes on."""

    def __init__(self, code: str, message: str, detail: str = "") -> None:
        assert code in REJECTION_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


class MailError(MttqError):
    """A mailbox or mail server cannot be reached or used."""


@contextlib.contextmanager
def traced() -> Iterator[None]:
    """Around a task in a worker process: a fault of the program reaches the parent without its
    traceback (exceptions are pickled without it), so put the traceback in the message."""
    try:
        yield
    except MemoryError:
        raise  # an item that needs too much memory, which the worker reports as such
    except Exception as exc:
        raise RuntimeError(f"{type(exc).__name__} in a worker process:\n{traceback.format_exc()}") from None
