"""The stable English ids of what happened to a file and of what was found in it, each listed once,
and the Vietnamese words users see for statuses and severities.

The JSON report carries the ids (`status`, `reason`, `code`, `severity`); the summary workbook and
the command line show the words. A test checks that the code base makes no code missing here.
"""

from __future__ import annotations

# What happened to a file: the `status` of every file in the JSON report.
ACCEPTED, REJECTED, SUPERSEDED, IGNORED = "accepted", "rejected", "superseded", "ignored"
# How bad a finding is: the `severity` of an issue.
ERROR, WARNING = "error", "warning"

# Why a file was rejected: its `reason`; the run also lists it as an error issue with this code.
REJECTION_CODES = frozenset(
    {
        "corrupt_file",
        "empty_file",
        "file_too_large",
        "layout_changed",
        "newer_spec",
        "password_protected",
        "not_a_template",
        "sheet_missing",
        "unknown_report",
        "wrong_period",
        "unknown_unit",
        "unreadable",
        "unsupported_format",
    }
)
SUPERSEDED_REASON = "duplicate_superseded"  # the reason of a superseded file, and its warning's code
IGNORED_REASON = "not_a_report"  # the reason of a file that is listed, not read
NO_ATTACHMENT = "no_attachment"  # the reason of a mail message listed without a workbook attached
IGNORED_REASONS = frozenset({IGNORED_REASON, NO_ATTACHMENT})
# What a mail's envelope says (warnings): a workbook of one unit sent from another unit's address;
# an arrival time taken from the sender's Date: header, or none at all.
SENDER_MISMATCH, RECEIVED_TIME_UNKNOWN = "sender_mismatch", "received_time_unknown"

# Every finding in a file that is read, with its severity; a rule of a spec (`le`, `ge`,
# `requires`) gives its own severity to the codes it raises.
ISSUE_CODES: dict[str, str] = {
    # a value
    "not_a_number": ERROR,
    "unparseable_number": ERROR,
    "number_as_text": WARNING,
    "negative": ERROR,
    "not_integer": ERROR,
    "not_a_date": ERROR,
    "date_as_text": WARNING,
    "date_outside_period": ERROR,
    "not_in_list": ERROR,
    "text_too_long": WARNING,
    "error_value": ERROR,
    # totals, ratios and rules between fields
    "total_mismatch": ERROR,
    "ratio_mismatch": ERROR,
    "part_exceeds_whole": ERROR,
    "less_than_expected": ERROR,
    "missing_required": ERROR,
    "table_row_incomplete": ERROR,
    # a figure that stands out against the unit's last period or the other units (--previous)
    "outlier": WARNING,
    # the workbook as a whole
    "label_changed": WARNING,
    "rows_moved": WARNING,
    "has_macros": WARNING,
    "extra_sheet": WARNING,
    SUPERSEDED_REASON: WARNING,
    # a roll-up (a unit's report) against its units' reports
    "rollup_mismatch": ERROR,
    "rollup_double_counted": ERROR,
    "rollup_rows_missing": WARNING,
    # the mail it came in
    SENDER_MISMATCH: WARNING,
    RECEIVED_TIME_UNKNOWN: WARNING,
    **dict.fromkeys(REJECTION_CODES, ERROR),
}

STATUS_WORDS = {
    ACCEPTED: "Đã nhận",
    REJECTED: "Bị loại",
    SUPERSEDED: "Bị thay thế",
    IGNORED: "Bỏ qua",
}
SEVERITY_WORDS = {ERROR: "Lỗi", WARNING: "Cảnh báo"}
