"""`Entry`, one path as OneLake describes it, and the values it is read from (times, ETags):
what every layer above the store passes around. Standard library only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def bare_etag(value: str | None) -> str:
    return (value or "").strip().strip('"')


_MONTHS = {name: number for number, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_FILETIME_EPOCH = 116444736000000000  # 1970-01-01 in 100 ns ticks since 1601-01-01
_HTTP_DATE = re.compile(r"\w{3}, (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT")


def http_date(value: str) -> datetime:
    """An RFC 1123 date as OneLake writes it (`Thu, 01 Jan 2026 10:00:00 GMT`), in UTC."""
    match = _HTTP_DATE.fullmatch(value)
    if match is None:
        return parsedate_to_datetime(value).astimezone(UTC)
    day, month, year, hour, minute, second = match.groups()
    return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC)


def filetime(value) -> datetime | None:
    """List Paths' `creationTime`: Windows FILETIME ticks ("0": none), else an RFC 1123 date."""
    if not value:
        return None
    try:
        ticks = int(value)
    except ValueError:
        return http_date(value)
    return None if ticks == 0 else datetime.fromtimestamp((ticks - _FILETIME_EPOCH) / 10**7, tz=UTC)


@dataclass(frozen=True, slots=True)
class Entry:
    """One path as OneLake describes it (workspace-relative path, tz-aware UTC times, bare ETag)."""

    path: str
    is_dir: bool
    size: int
    last_modified: datetime
    created: datetime
    etag: str

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]
