"""Exceptions. Every message is Vietnamese and says what to do next."""


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


class MailError(MttqError):
    """A mailbox or mail server cannot be reached or used."""
