"""Allow-lists applied when findings are read: raw rows in, the rows to review and the suppressions out.

Results are stored raw (the queries run with every allow-list empty, `runner.Session(raw=True)`), so editing an
allow-list never needs a recompute. Each raw finding of a query is matched against the entries of the lists the
query reads (in its SQL or through the macros and views it uses), on the finding's own columns:

- user lists (admin, break-glass, automation users): `user_name`;
- trusted networks: `source_ip` (CIDR match, IPv4-mapped IPv6 as IPv4);
- trusted registries: `image` and `image_full_name`, or the `images` list (prefix match);
- the query's own list (`allowlisted($query_id, [a.user_name, a.namespace])` in its SQL): the columns it names.

A query's header `suppress_by` replaces these columns where its SQL judges others. A scalar column matches
when an entry equals it (networks: contains it; registries: prefixes it); a list-valued column (an image list)
only when every element matches some entry. A matched finding is suppressed and counted against the entry
that matched it, with that entry's reason: what the report's Suppressions section shows.
tests/catalog/test_read_time_allowlists.py holds these equal to the SQL's own allow-list handling on every
case that configures one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kanalytics.catalog.functions import in_networks
from kanalytics.catalog.model import Finding, Query, Suppression
from kanalytics.catalog.runner import _Entry, lists_read

_ALLOWLISTED = re.compile(r"allowlisted\(\s*\$query_id\s*,\s*\[([^\]]*)\]\s*\)")
# A column an `allowlisted(...)` call names -> the finding column that carries it.
_OUTPUT_NAME = {"object_ref": "object_name", "name": "object_name"}
_DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "allow_admin_users": ("user_name",),
    "allow_break_glass_users": ("user_name",),
    "allow_automation_users": ("user_name",),
    "allow_trusted_networks": ("source_ip",),
    "allow_trusted_registries": ("image", "image_full_name", "images"),
}


def applicable(query: Query, entries: Sequence[_Entry], shared: Mapping[str, str]) -> list[_Entry]:
    """The entries that can suppress findings of `query`: those of the lists it reads (its own per-query list)."""
    used = set(lists_read(query, shared))
    return [e for e in entries if e.list_name in used and (e.query_id is None or e.query_id == query.id)]


def match_columns(query: Query) -> dict[str, tuple[str, ...]]:
    """Allow-list table -> the finding columns its entries are matched against, for `query`."""
    columns = dict(_DEFAULT_COLUMNS)
    named = [
        _OUTPUT_NAME.get(name.strip().split(".")[-1], name.strip().split(".")[-1])
        for call in _ALLOWLISTED.findall(query.sql)
        for name in call.split(",")
        if name.strip()
    ]
    columns["allow_query_list"] = tuple(dict.fromkeys(named))
    for list_name, names in query.header.suppress_by.items():
        columns[f"allow_{list_name}"] = tuple(names)
    return columns


def apply_allowlists(
    query: Query, findings: Iterable[Finding], entries: Sequence[_Entry]
) -> tuple[list[Finding], list[Suppression]]:
    """(findings kept, suppressions by entry) for the raw findings of `query`, given its applicable entries."""
    findings = list(findings)
    if not entries:
        return findings, []
    columns = match_columns(query)
    by_list: dict[str, list[_Entry]] = {}
    for entry in entries:
        by_list.setdefault(entry.list_name, []).append(entry)
    kept: list[Finding] = []
    counts: Counter[tuple[str, str, str]] = Counter()
    for finding in findings:
        match = _matching_entry(finding, by_list, columns)
        if match is None:
            kept.append(finding)
        else:
            counts[(match.list_name, match.value, match.reason)] += 1
    suppressed = [
        Suppression(query_id=query.id, list_name=name, value=value, reason=reason, count=count)
        for (name, value, reason), count in sorted(counts.items())
    ]
    return kept, suppressed


def _matching_entry(
    finding: Finding, by_list: Mapping[str, list[_Entry]], columns: Mapping[str, tuple[str, ...]]
) -> _Entry | None:
    for list_name, entries in by_list.items():
        for column in columns.get(list_name, ()):
            value = _value(finding, column)
            if isinstance(value, list):
                items = [v for v in value if v is not None]
                matched = [next((e for e in entries if _matches(e, str(v))), None) for v in items]
                first = matched[0] if matched else None
                if first is not None and all(m is not None for m in matched):
                    return first
            elif value is not None:
                match = next((e for e in entries if _matches(e, str(value))), None)
                if match is not None:
                    return match
    return None


def _value(finding: Finding, column: str) -> Any:
    if column in (
        "user_name",
        "source_ip",
        "namespace",
        "object_name",
        "verb",
        "resource",
        "cluster",
        "audit_id",
    ):
        return getattr(finding, column)
    return finding.evidence.get(column)


def _matches(entry: _Entry, value: str) -> bool:
    if entry.list_name == "allow_trusted_networks":
        return in_networks(value, (entry.value,))
    if entry.list_name == "allow_trusted_registries":
        return value.startswith(entry.value)
    return value == entry.value
