"""Turn what people type (`--from 2026-10-01 --to 2026-11-01`, `--month 2026-10`) into a UTC period."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from kanalytics.errors import UsageError


def parse_instant(value: str, tz: ZoneInfo | str = "UTC", *, option: str = "date") -> datetime:
    """A date (midnight in `tz`) or an ISO 8601 timestamp (in `tz` when it has no offset), as UTC."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option}: cannot read {value!r} as a date or timestamp",
            hint="use YYYY-MM-DD or an ISO timestamp such as 2026-10-01T12:00:00Z",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def month_bounds(month: str, tz: ZoneInfo | str = "UTC") -> tuple[datetime, datetime]:
    """`YYYY-MM` -> [first midnight of the month, first midnight of the next month) in `tz`, as UTC."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    try:
        first = datetime.strptime(month.strip(), "%Y-%m").date()
    except ValueError:
        raise UsageError(
            f"--month: cannot read {month!r} as a month", hint="use YYYY-MM, e.g. 2026-10"
        ) from None
    return _midnight(first, zone), _midnight(_next_month(first), zone)


def parse_period(
    from_: str | None,
    to: str | None,
    month: str | None = None,
    tz: ZoneInfo | str = "UTC",
) -> tuple[datetime, datetime]:
    """The period [start, end) in UTC from either `month` or both `from_` and `to` (`to` is exclusive)."""
    if month is not None:
        if from_ is not None or to is not None:
            raise UsageError("give either --month or --from/--to, not both")
        return month_bounds(month, tz)
    if from_ is None or to is None:
        raise UsageError(
            "a period needs both --from and --to (or --month)", hint="e.g. --from 2026-10-01 --to 2026-11-01"
        )
    start = parse_instant(from_, tz, option="--from")
    end = parse_instant(to, tz, option="--to")
    if end <= start:
        raise UsageError(f"--to ({to}) must be after --from ({from_}); --to is exclusive")
    return start, end


def previous_month(now: datetime | None = None, tz: ZoneInfo | str = "UTC") -> tuple[datetime, datetime]:
    """The calendar month before the one `now` falls in (in `tz`): the default period of a monthly report."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    local = (now or datetime.now(UTC)).astimezone(zone)
    this_month = local.date().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    return _midnight(last_month, zone), _midnight(this_month, zone)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
