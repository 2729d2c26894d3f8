"""mttq-xlsx: locked Excel report templates and consolidation for MTTQ reporting campaigns."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mttq-xlsx")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
