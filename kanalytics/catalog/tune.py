"""Propose allow-list entries from a baseline period (`kanalytics tune`): TOML for a person to review, never applied.

Each proposal query (`queries/tune/<id>.sql`, validated by `loader.load_proposals`) counts, per cluster, the
values one configuration list could hold and the days they were seen on. It reads the catalog's own views and
macros in a catalog `Session`, and a proposal with `source_query` aggregates that query's own rows (run over the
period without allow-lists and without the default profile's gating), so an entry means exactly what the query
checks. Then, per list:

- values already in the current configuration are skipped (and counted);
- every value gets a reason: "observed on 28 of 30 days, 14,210 events (2026-09-01 to 2026-09-30)", which
  clusters it was seen in when there are several, and its context (identities, images ...);
- a value seen on fewer days than the threshold (`--min-days`, default `baseline.min_days`; for `recurring`
  lists also `baseline.recurring_share` of the days with events) is written commented out: a rare value in
  the baseline may be an intruder, so it takes a deliberate uncomment.

Everything from the logs is written as a TOML basic string with every character outside printable ASCII
escaped: the file parses whatever the values hold, and homoglyphs or bidi controls in a user name show as
`\\u0430` instead of passing for "admin".
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from kanalytics.catalog.model import CONFIG_LISTS, Proposal, Query
from kanalytics.catalog.tune_toml import local_day, render_toml
from kanalytics.errors import ArchiveError, QueryError, UsageError

if TYPE_CHECKING:
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.runner import EventSource, Session
    from kanalytics.config import Settings

# The relation a proposal with `source_query` reads that query's rows from.
SOURCE_ROWS = "query_rows"
REQUIRED_COLUMNS = ("cluster", "value", "dates", "events")
CONTEXT_SHOWN = 5  # context values named in a reason; the rest are counted
# The name tune never writes to: the configuration kanalytics reads from the working directory by default.


@dataclass
class Sighting:
    """Where and when one value was seen: per cluster, the days and the events."""

    days: dict[str, set[date]] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    context: set[str] = field(default_factory=set)

    def add(self, cluster: str, dates: Iterable[date], events: int, context: Iterable[str]) -> None:
        self.days.setdefault(cluster, set()).update(dates)
        self.events[cluster] = self.events.get(cluster, 0) + events
        self.context.update(context)

    @property
    def all_days(self) -> set[date]:
        return set().union(*self.days.values())


@dataclass(frozen=True)
class ProposedEntry:
    """One proposed value with its evidence; `confident` False: written commented out (seen on too few days)."""

    value: str  # what the list holds: a CIDR for trusted_networks, else the value itself
    reason: str
    days: int
    events: int
    clusters: tuple[str, ...]
    confident: bool


@dataclass
class ProposedList:
    """The proposal for one configuration list (`key`, as typed into kanalytics.toml)."""

    proposal_id: str
    list_name: str  # a CONFIG_LISTS name
    key: str  # "allowlists.trusted_networks", "allowlists.query_lists.<query id>"
    description: str
    threshold: int  # days an entry needs to be written uncommented
    entries: list[ProposedEntry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # values the configuration already has
    status: str = "ok"  # "ok", or why nothing could be proposed: "not-evaluable", "error"
    reason: str = ""

    @property
    def field_name(self) -> str:
        return "cidr" if self.list_name == "trusted_networks" else "value"


@dataclass
class TuneResult:
    """What `kanalytics tune` proposes for [start, end): `text` is the TOML to review."""

    archive: str
    start: datetime
    end: datetime
    timezone: str
    clusters: list[str]
    days_by_cluster: dict[str, int]
    days_with_events: int  # calendar days with events in any of the clusters
    min_days: int
    config_source: str | None
    lists: list[ProposedList]
    seconds: float = 0.0

    @property
    def skipped(self) -> int:
        return sum(len(p.skipped) for p in self.lists)

    @property
    def proposed(self) -> int:
        return sum(len(p.entries) for p in self.lists)

    @property
    def text(self) -> str:
        return render_toml(self)


def default_period(settings: Settings, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The `baseline.days` days (30 by default) before the current month, in the configured zone, as UTC."""
    zone = settings.zone
    local = (now or datetime.now(UTC)).astimezone(zone)
    first = datetime(local.year, local.month, 1, tzinfo=zone)
    start = (first.date() - timedelta(days=settings.baseline.days)).isoformat()
    return datetime.fromisoformat(start).replace(tzinfo=zone).astimezone(UTC), first.astimezone(UTC)


def propose(
    source: EventSource,
    start: datetime,
    end: datetime,
    *,
    settings: Settings,
    catalog: Catalog,
    proposals: dict[str, Proposal],
    clusters: Sequence[str] | None = None,
    min_days: int | None = None,
    archive_name: str = "",
) -> TuneResult:
    """Run every proposal over [start, end) and return the lists with their entries (nothing is written)."""
    from kanalytics.catalog.runner import Session, event_days
    from kanalytics.config import Allowlists

    if min_days is not None and min_days < 1:
        raise UsageError(f"--min-days must be at least 1, got {min_days}")
    began = time.perf_counter()
    floor = min_days if min_days is not None else settings.baseline.min_days
    # The queries are run as they are written: no allow-lists (the configured values are skipped afterwards,
    # and counted) and no waiting for configuration (the default profile's gating is what tune resolves).
    bare = settings.model_copy(update={"profile": "falco", "allowlists": Allowlists()})
    con = source.connect(start, end, clusters)
    try:
        session = Session(
            con, start, end, bare, views=list(catalog.views.values()), macros=list(catalog.macros.values())
        )
        days = event_days(con, start, end, settings.timezone)
        if not days:
            where = f" of cluster {', '.join(clusters)}" if clusters else ""
            raise ArchiveError(
                f"{archive_name or 'the archive'} has no events{where} from {local_day(start, settings.zone)} to "
                f"{local_day(end, settings.zone)} (exclusive): nothing to propose",
                hint="`kanalytics info` lists the clusters and dates the archive holds; pick a baseline period "
                "with events (--from/--to)",
            )
        union = len(set().union(*days.values()))
        lists = [
            _propose_list(session, catalog, proposal, settings, days, union, floor)
            for proposal in sorted(proposals.values(), key=_list_order)
        ]
    finally:
        con.close()
    return TuneResult(
        archive=archive_name,
        start=start,
        end=end,
        timezone=settings.timezone,
        clusters=sorted(days),
        days_by_cluster={c: len(d) for c, d in sorted(days.items())},
        days_with_events=union,
        min_days=floor,
        config_source=settings.source,
        lists=lists,
        seconds=time.perf_counter() - began,
    )


def _list_order(proposal: Proposal) -> tuple[int, str]:
    """Top-level lists first (in CONFIG_LISTS order), then the per-query lists by query id."""
    header = proposal.header
    if header.list == "query_list":
        return len(CONFIG_LISTS), header.for_query or header.id
    return CONFIG_LISTS.index(header.list), header.id


def _propose_list(
    session: Session,
    catalog: Catalog,
    proposal: Proposal,
    settings: Settings,
    days: dict[str, set[date]],
    union: int,
    floor: int,
) -> ProposedList:
    from kanalytics.catalog.runner import config_key

    header = proposal.header
    threshold = floor
    if header.recurring:
        threshold = max(floor, math.ceil(settings.baseline.recurring_share * union))
    proposed = ProposedList(
        proposal_id=proposal.id,
        list_name=header.list,
        key=config_key(header.list, header.for_query or ""),
        description=header.description,
        threshold=threshold,
    )
    # A proposal needs what the query needs: only `header.needs_level` is read.
    reason = session.not_evaluable_reason(cast(Query, proposal))
    if reason:
        proposed.status, proposed.reason = "not-evaluable", reason
        return proposed
    try:
        rows = proposal_rows(session, catalog, proposal)
    except ProposalUnavailable as exc:
        proposed.status, proposed.reason = exc.status, exc.reason
        return proposed
    sightings = _sightings(rows, header.list)
    existing = configured_values(settings, header.list, header.for_query)
    for value in sorted(sightings):
        if already_configured(header.list, value, existing):
            proposed.skipped.append(value)
            continue
        seen = sightings[value]
        seen_days = seen.all_days
        proposed.entries.append(
            ProposedEntry(
                value=value,
                reason=_reason(seen, days, union, header.context),
                days=len(seen_days),
                events=sum(seen.events.values()),
                clusters=tuple(sorted(seen.days)),
                confident=len(seen_days) >= threshold,
            )
        )
    proposed.entries.sort(key=lambda e: (-e.days, -e.events, e.value))
    return proposed


class ProposalUnavailable(Exception):
    """A proposal that gave no rows to trust: its source query was not evaluable or either query failed."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def proposal_rows(session: Session, catalog: Catalog, proposal: Proposal) -> list[dict[str, Any]]:
    """The proposal's rows (column name -> value), after running its `source_query` into SOURCE_ROWS when it
    has one; ProposalUnavailable when there are none to trust."""
    import duckdb

    header = proposal.header
    con = session.con
    if header.source_query is not None:
        result = session.run(catalog.get(header.source_query))
        if result.status != "ok" or result.table is None:
            raise ProposalUnavailable(result.status, f"{header.source_query}: {result.reason}")
        con.register(SOURCE_ROWS, result.table)
    available = {
        "period_start": session.start,
        "period_end": session.end,
        "baseline_start": session.start,
        "timezone": session.timezone,
        "query_id": header.for_query or header.source_query or proposal.id,
    }
    try:
        names = duckdb.extract_statements(proposal.sql)[0].named_parameters
        relation = con.sql(proposal.sql, params={n: available[n] for n in names} or None)
        columns = [c.lower() for c in relation.columns]
        wanted = [*REQUIRED_COLUMNS, *(["context"] if header.context else [])]
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise QueryError(
                f"{proposal.path}: proposal {proposal.id} does not return the column(s) {', '.join(missing)}",
                hint="a proposal returns cluster, value, dates (a list of DATE), events, and context when its "
                "header names one; see ProposalHeader in kanalytics/catalog/model.py",
            )
        return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
    except duckdb.Error as exc:
        raise ProposalUnavailable(
            "error", f"proposal {proposal.id} ({proposal.path}) failed: {exc}"
        ) from None
    finally:
        if header.source_query is not None:
            con.unregister(SOURCE_ROWS)


def _sightings(rows: list[dict[str, Any]], list_name: str) -> dict[str, Sighting]:
    """Value (as the list holds it) -> where and when it was seen; addresses that are not public are dropped
    from trusted_networks (only the networks outside yours need trusting)."""
    sightings: dict[str, Sighting] = {}
    for row in rows:
        value = row["value"]
        if value is None or row["cluster"] is None:
            continue
        value = str(value)
        if list_name == "trusted_networks":
            cidr = public_host_network(value)
            if cidr is None:
                continue
            value = cidr
        context = [str(c) for c in (row.get("context") or []) if c is not None]
        sightings.setdefault(value, Sighting()).add(
            str(row["cluster"]), row["dates"] or [], int(row["events"] or 0), context
        )
    return sightings


def public_host_network(text: str) -> str | None:
    """The /32 or /128 network of `text` when it is a public address (the catalog's one classification,
    `functions.ip_scope`; an IPv4-mapped IPv6 address as its IPv4 address), else None."""
    from kanalytics.catalog.functions import ip_scope, parse_address

    address = parse_address(text)
    if address is None or ip_scope(text) != "public":
        return None
    return f"{address}/{address.max_prefixlen}"


def configured_values(settings: Settings, list_name: str, for_query: str | None) -> list[str]:
    """The values (CIDRs for trusted_networks) list `list_name` already has in `settings`."""
    allow = settings.allowlists
    if list_name == "query_list":
        return [e.value for e in allow.query_lists.get(for_query or "", [])]
    if list_name == "trusted_networks":
        return [n.cidr for n in allow.trusted_networks]
    return [e.value for e in getattr(allow, list_name)]


def already_configured(list_name: str, value: str, existing: Sequence[str]) -> bool:
    """Whether an entry of `existing` already covers `value`: a network containing the address, a registry
    prefix of the proposed prefix, or the same value."""
    if list_name == "trusted_networks":
        from kanalytics.catalog.functions import in_networks

        return in_networks(value.split("/")[0], tuple(existing))
    if list_name == "trusted_registries":
        return any(value.startswith(prefix) for prefix in existing)
    return value in existing


def _reason(seen: Sighting, days: dict[str, set[date]], union: int, context_label: str) -> str:
    seen_days = seen.all_days
    events = sum(seen.events.values())
    text = (
        f"observed on {len(seen_days)} of {union} days, {events:,} events "
        f"({min(seen_days).isoformat()} to {max(seen_days).isoformat()})"
    )
    if len(days) > 1:
        per_cluster = ", ".join(
            f"{c} {len(seen.days[c])} of {len(days[c])} days" for c in sorted(seen.days) if c in days
        )
        absent = sorted(set(days) - set(seen.days))
        where = (
            "in every cluster"
            if not absent
            else f"only in {', '.join(sorted(seen.days))} (not {', '.join(absent)})"
        )
        text += f", {where}: {per_cluster}"
    if context_label and seen.context:
        shown = sorted(seen.context)[:CONTEXT_SHOWN]
        more = len(seen.context) - len(shown)
        text += f"; {context_label}: {', '.join(shown)}" + (f" and {more} more" if more else "")
    return text
