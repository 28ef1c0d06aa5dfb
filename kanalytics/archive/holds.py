"""Legal holds: recorded as `hold-add` / `hold-release` manifests, so the hold list is a replay of the chain.

A hold names a cluster, optionally a namespace, and a date range in the configured time zone. Partitions are
(cluster, UTC date) and hold every namespace, so a namespace-scoped hold protects whole partitions, and the
range is widened to every UTC date that its local days touch: a hold never protects less than it says.
"""

from __future__ import annotations

import getpass
import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kanalytics.archive import manifest as manifests
from kanalytics.archive.layout import Layout, Partition, check_cluster_name
from kanalytics.archive.lock import writer_lock
from kanalytics.errors import ArchiveError, RetentionError, UsageError
from kanalytics.vocabulary import HOLD_ADD, HOLD_RELEASE

if TYPE_CHECKING:
    from kanalytics.archive.signing import Keys


@dataclass
class Hold:
    id: str
    cluster: str
    namespace: str | None
    start: str  # first local day held (inclusive), ISO date
    end: str  # last local day held (inclusive), ISO date
    timezone: str
    reason: str
    owner: str
    created_at: str
    created_seq: int
    released: bool = False
    released_at: str | None = None
    released_reason: str | None = None
    released_by: str | None = None
    released_seq: int | None = None

    @property
    def active(self) -> bool:
        return not self.released

    def utc_dates(self) -> tuple[date, date]:
        """First and last UTC partition dates that hold events of the held local days."""
        zone = ZoneInfo(self.timezone)
        first = datetime.combine(date.fromisoformat(self.start), time(), zone).astimezone(UTC)
        after = datetime.combine(date.fromisoformat(self.end) + timedelta(days=1), time(), zone).astimezone(
            UTC
        )
        return first.date(), (after - timedelta(microseconds=1)).date()

    def covers(self, partition: Partition) -> bool:
        if partition.cluster != self.cluster:
            return False
        first, last = self.utc_dates()
        return first <= partition.date <= last

    def describe(self) -> str:
        scope = f" (namespace {self.namespace})" if self.namespace else ""
        return f"{self.id}{scope}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"active": self.active}


_HOLD_ID = re.compile(r"\AH[1-9][0-9]{0,8}\Z")


def hold_problem(manifest: manifests.Manifest) -> str | None:
    """Why a hold-add/hold-release manifest's details cannot be a hold, or None (also None for other kinds)."""
    d = manifest.details
    if manifest.operation not in (HOLD_ADD, HOLD_RELEASE):
        return None
    if not isinstance(d.get("id"), str) or not _HOLD_ID.match(d["id"]):
        return f"{manifest.operation} has no valid hold id ({d.get('id')!r})"
    if manifest.operation == HOLD_RELEASE:
        return None
    try:
        check_cluster_name(d["cluster"])
        first, last = date.fromisoformat(d["from"]), date.fromisoformat(d["to"])
        ZoneInfo(d.get("timezone", "UTC"))
        if not (isinstance(d["reason"], str) and isinstance(d["owner"], str)) or last < first:
            raise ValueError("reason, owner or range")
        if d.get("namespace") is not None and not isinstance(d["namespace"], str):
            raise ValueError("namespace")
    except (KeyError, TypeError, ValueError, UsageError, ZoneInfoNotFoundError) as exc:
        detail = exc.message if isinstance(exc, UsageError) else str(exc)
        return f"hold-add {d.get('id')} has invalid details ({detail})"
    return None


def list_holds(layout: Layout) -> list[Hold]:
    """Every hold ever placed, in order, with its release if any: the replay of the chain."""
    holds: dict[str, Hold] = {}
    for manifest in manifests.iter_manifests(layout):
        d = manifest.details
        problem = hold_problem(manifest)
        if problem is not None:
            raise ArchiveError(
                f"_manifests/{manifest.seq:010d}.json: {problem}; the legal holds cannot be read",
                hint="the manifest was forged or corrupted: run `kanalytics verify`; nothing was deleted",
            )
        if manifest.operation == HOLD_ADD:
            holds[d["id"]] = Hold(
                id=d["id"],
                cluster=d["cluster"],
                namespace=d.get("namespace"),
                start=d["from"],
                end=d["to"],
                timezone=d.get("timezone", "UTC"),
                reason=d["reason"],
                owner=d["owner"],
                created_at=manifest.created_at,
                created_seq=manifest.seq,
            )
        elif manifest.operation == HOLD_RELEASE and d.get("id") in holds:
            hold = holds[d["id"]]
            hold.released, hold.released_at, hold.released_seq = True, manifest.created_at, manifest.seq
            hold.released_reason, hold.released_by = d.get("released_reason"), d.get("released_by")
    return list(holds.values())


def active_holds(layout: Layout) -> list[Hold]:
    return [h for h in list_holds(layout) if h.active]


def holds_covering(holds: list[Hold], partition: Partition) -> list[Hold]:
    return [h for h in holds if h.active and h.covers(partition)]


def _required(value: str | None, name: str) -> str:
    if value is None or not value.strip():
        raise UsageError(f"a legal hold needs a non-empty {name}", hint=f"pass --{name}")
    return value.strip()


def add_hold(
    layout: Layout,
    *,
    cluster: str,
    start: date,
    end: date,
    reason: str,
    owner: str,
    namespace: str | None = None,
    timezone: str = "UTC",
    keys: Keys | None = None,
) -> Hold:
    """Place a hold: one `hold-add` manifest. From that commit on, no retention run deletes what it covers."""
    check_cluster_name(cluster)
    reason, owner = _required(reason, "reason"), _required(owner, "owner")
    if end < start:
        raise UsageError(f"hold range ends ({end}) before it starts ({start})")
    ZoneInfo(timezone)
    with writer_lock(layout):
        manifests.recover(layout, keys=keys)
        number = 1 + sum(1 for m in manifests.iter_manifests(layout) if m.operation == HOLD_ADD)
        details = {
            "id": f"H{number}",
            "cluster": cluster,
            "namespace": namespace or None,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "timezone": timezone,
            "reason": reason,
            "owner": owner,
            "placed_by": _operator(),
        }
        manifests.append_manifest(layout, HOLD_ADD, details=details, keys=keys)
    return next(h for h in list_holds(layout) if h.id == details["id"])


def release_hold(
    layout: Layout, hold_id: str, *, reason: str, released_by: str | None = None, keys: Keys | None = None
) -> Hold:
    """Release a hold (one `hold-release` manifest); the hold stays in the record, marked released."""
    reason = _required(reason, "reason")
    hold_id = hold_id.strip().upper()
    with writer_lock(layout):
        manifests.recover(layout, keys=keys)
        found = {h.id: h for h in list_holds(layout)}
        if hold_id not in found:
            known = ", ".join(found) or "none"
            raise UsageError(f"no legal hold {hold_id} (holds: {known})", hint="see `kanalytics hold list`")
        if found[hold_id].released:
            raise RetentionError(f"legal hold {hold_id} was already released at {found[hold_id].released_at}")
        manifests.append_manifest(
            layout,
            HOLD_RELEASE,
            details={"id": hold_id, "released_reason": reason, "released_by": released_by or _operator()},
            keys=keys,
        )
    return next(h for h in list_holds(layout) if h.id == hold_id)


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): record that we could not tell
        return "unknown"
