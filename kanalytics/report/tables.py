"""Formatting of query results into report cells: one place that decides how numbers, times and nulls read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from kanalytics.report.context import Cell, Table

# Column names as headings; anything not listed is title-cased from its snake_case name.
_HEADINGS = {
    "user_name": "Identity",
    "identity_type": "Type",
    "source_ips": "Source IPs",
    "first_ts": "First (UTC)",
    "last_ts": "Last (UTC)",
    "hour_utc": "Hour (UTC)",
    "usual_events": "Usual / hour",
    "response_code": "Code",
}


def fmt_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if value % 1 else f"{int(value):,}"
    if isinstance(value, datetime):
        return fmt_ts(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v) for v in value)
    return str(value)


def fmt_ts(value: datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def heading(column: str) -> str:
    return _HEADINGS.get(column, column.replace("_", " ").capitalize())


def cell(value: Any, limit: int = 120) -> Cell:
    text = fmt_value(value)
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    nowrap = isinstance(value, date)  # datetimes too: "2026-10-01 19:45:33" never splits mid-date
    if len(text) > limit:
        return Cell(text[: limit - 1] + "…", numeric, title=text, nowrap=nowrap)
    return Cell(text, numeric, nowrap=nowrap)


def to_table(rows: list[dict[str, Any]], *, limit: int = 50, caption: str = "") -> Table:
    """The first `limit` rows as cells; `total_rows` keeps the real count for the "showing N of M" note."""
    columns = list(rows[0]) if rows else []
    body = [[cell(row[c]) for c in columns] for row in rows[:limit]]
    return Table([heading(c) for c in columns], body, len(rows), caption)
