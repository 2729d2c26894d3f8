"""Reporting periods: `2024-6T` (first six months) and `2024` (whole year)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from .errors import UsageError

VIETNAM = timezone(timedelta(hours=7))  # deadlines end, and times without a zone are read, in Vietnam


def in_vietnam(moment: datetime | None) -> datetime | None:
    """A moment as the clock in Vietnam shows it: the summary writes times without their zone. A
    time without a zone is taken as it is."""
    return moment.astimezone(VIETNAM) if moment and moment.tzinfo else moment


_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?P<half>6T))?$")


@dataclass(frozen=True)
class Period:
    id: str
    start: date  # first day of the data range
    end: date  # last day of the data range
    deadline: date  # when units must have sent their report

    @property
    def label(self) -> str:
        year = self.id[:4]
        return f"6 tháng đầu năm {year}" if self.id.endswith("6T") else f"năm {year}"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def parse_period(text: str, start: date | None = None, end: date | None = None) -> Period:
    """A period from its id; `start`/`end` override the calendar data range (offices cut off early)."""
    match = _PERIOD.match(text.strip())
    if not match:
        raise UsageError(
            f"Kỳ báo cáo “{text}” không hợp lệ. Hãy ghi theo dạng 2024-6T (6 tháng đầu năm) "
            "hoặc 2024 (cả năm)."
        )
    year = int(match["year"])
    if not 2000 <= year <= 2100:
        raise UsageError(f"Năm {year} của kỳ báo cáo “{text}” không hợp lệ.")
    half = bool(match["half"])
    period = Period(
        id=match.group(0),
        start=start or date(year, 1, 1),
        end=end or (date(year, 6, 30) if half else date(year, 12, 31)),
        deadline=date(year, 6, 10) if half else date(year, 11, 22),
    )
    if period.start > period.end:
        raise UsageError(
            f"Ngày bắt đầu {period.start:%d/%m/%Y} sau ngày kết thúc {period.end:%d/%m/%Y} "
            f"của kỳ báo cáo {period.id}."
        )
    return period


def current_period(today: date) -> Period:
    """The period being collected on `today`: the six-month report until its deadline, then the year."""
    return parse_period(f"{today.year}-6T" if today <= date(today.year, 6, 10) else str(today.year))
