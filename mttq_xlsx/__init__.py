"""mttq-xlsx: locked Excel report templates and consolidation for MTTQ reporting campaigns."""

__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it from here
