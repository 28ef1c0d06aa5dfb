"""Retention: which partitions a policy deletes (the plan), deleting exactly those (apply), and the status.

Plan and apply share one selection function, so apply deletes what a fresh plan lists and nothing else. A
partition is deleted only when its whole UTC day ended before the local cutoff, it is under no active legal
hold, and its files verify against the manifest chain. Its findings files (detection results about its
events) go with it in the same manifest, and are held with it; a partition left with findings files only
(its events deleted earlier) is deleted like any other. Each batch of deletions is one `retention-delete`
manifest (the commit point), so a killed run leaves a verifiable archive and a re-run completes it.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kanalytics.archive import holds as holds_mod
from kanalytics.archive import manifest as manifests
from kanalytics.archive.chain import RETENTION_OPERATION, ChainState, replay
from kanalytics.archive.layout import Layout, Partition
from kanalytics.archive.lock import writer_lock
from kanalytics.archive.manifest import FileEntry
from kanalytics.archive.verify import key_problem, verify_archive
from kanalytics.config import RetentionPolicy, Settings
from kanalytics.errors import RetentionError

if TYPE_CHECKING:
    from kanalytics.archive.api import Store
    from kanalytics.archive.signing import Keys

DEFAULT_BATCH = 50  # partitions per retention-delete manifest: each batch is one commit point
Hook = Callable[[str], None]  # tests inject failures between steps ("after-manifest", "after-delete")


def check_policy(policy: RetentionPolicy) -> None:
    """Refuse a policy that keeps anything for less than the configured floor."""
    if policy.floor_days is None:
        return
    rules = [("default", policy.keep_days)] + [
        (f"cluster {c.cluster}", c.keep_days) for c in policy.per_cluster
    ]
    for name, keep in rules:
        if keep is not None and keep < policy.floor_days:
            raise RetentionError(
                f"retention policy ({name}) keeps {keep} days, below the configured floor of "
                f"{policy.floor_days} days; nothing was deleted",
                hint="raise retention.keep_days (or the per-cluster value), or lower retention.floor_days "
                "if your obligations allow it",
            )


def describe_policy(policy: RetentionPolicy) -> str | None:
    if policy.keep_days is None and not policy.per_cluster:
        return None
    parts = [f"keep {policy.keep_days} days" if policy.keep_days else "keep forever by default"]
    parts += [f"{c.cluster}: {c.keep_days} days" for c in policy.per_cluster]
    return "; ".join(parts)


def _rule_for(policy: RetentionPolicy, cluster: str) -> tuple[int | None, str]:
    for override in policy.per_cluster:
        if override.cluster == cluster:
            return override.keep_days, f"keep_days={override.keep_days} (cluster {cluster})"
    return policy.keep_days, f"keep_days={policy.keep_days} (default)"


def cutoff_for(keep_days: int, today: date, zone: ZoneInfo) -> datetime:
    """The instant before which events are out of policy: local midnight `keep_days` before today, in UTC."""
    return datetime.combine(today - timedelta(days=keep_days), time(), zone).astimezone(UTC)


@dataclass
class PartitionPlan:
    cluster: str
    date: str
    action: str  # delete | held | blocked
    rule: str
    reason: str
    age_days: int
    files: int  # every file of the partition: events and findings
    bytes: int
    events: int
    findings_files: int = 0  # of `files`, the findings files (stored detection results) about its events

    def line(self) -> str:
        size = f"{self.bytes / 1e6:.1f} MB"
        findings = f" ({self.findings_files} findings)" if self.findings_files else ""
        return (
            f"{self.action:<7} cluster={self.cluster} date={self.date} age={self.age_days}d "
            f"files={self.files}{findings} size={size} events={self.events}  {self.rule}; {self.reason}"
        )


@dataclass
class RetentionPlan:
    today: str
    timezone: str
    policy: str | None
    floor_days: int | None
    partitions: list[PartitionPlan] = field(default_factory=list)
    kept: int = 0  # partitions inside the policy (not listed one by one)

    @property
    def deletions(self) -> list[PartitionPlan]:
        return [p for p in self.partitions if p.action == "delete"]

    def key(self) -> list[tuple[str, str]]:
        """What an approval binds to: the exact partitions to delete."""
        return [(p.cluster, p.date) for p in self.deletions]

    def lines(self) -> list[str]:
        if self.policy is None:
            return ["no retention policy configured: nothing is ever deleted"]
        head = f"policy: {self.policy}; time zone {self.timezone}; today {self.today}"
        if self.floor_days:
            head += f"; floor {self.floor_days} days"
        out = [head, *(p.line() for p in self.partitions)]
        d = self.deletions
        out.append(
            f"{len(d)} partitions to delete ({sum(p.files for p in d)} files, {sum(p.events for p in d)} events, "
            f"{sum(p.bytes for p in d) / 1e6:.1f} MB); "
            f"{sum(p.action == 'held' for p in self.partitions)} held; "
            f"{sum(p.action == 'blocked' for p in self.partitions)} blocked; {self.kept} within policy"
        )
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"deletions": len(self.deletions)}


def _today(settings: Settings, today: date | None) -> date:
    return today if today is not None else datetime.now(settings.zone).date()


def plan_retention(layout: Layout, settings: Settings, *, today: date | None = None) -> RetentionPlan:
    """Every partition out of policy, with what will happen to it and why. Reads only."""
    policy = settings.retention
    check_policy(policy)
    day = _today(settings, today)
    plan = RetentionPlan(day.isoformat(), settings.timezone, describe_policy(policy), policy.floor_days)
    if plan.policy is None or not layout.is_archive():
        return plan
    chain = verify_archive(layout, public_key=_public_key(settings), hash_files=False)
    state = replay(layout)
    holds = holds_mod.active_holds(layout)
    for partition, entries in partition_files(state).items():
        keep_days, rule = _rule_for(policy, partition.cluster)
        day_end = datetime.combine(partition.date + timedelta(days=1), time(), UTC)
        # Conservative: the whole UTC day must lie before the local cutoff, so no kept event goes with it.
        if keep_days is None or day_end > cutoff_for(keep_days, day, settings.zone):
            plan.kept += 1
            continue
        action, reason = (
            "delete",
            f"out of policy (cutoff {cutoff_for(keep_days, day, settings.zone):%Y-%m-%d %H:%M}Z)",
        )
        covering = holds_mod.holds_covering(holds, partition)
        if covering:
            action, reason = "held", "held by " + ", ".join(h.describe() for h in covering)
        elif not chain.ok:
            action, reason = "blocked", "blocked: manifest chain fails verification (run `kanalytics verify`)"
        else:
            bad = [e.path for e in entries if key_problem(layout, e.path, e, state.live[e.path][1])]
            bad += _unexpected(layout, partition, state)
            if bad:
                action, reason = (
                    "blocked",
                    f"blocked: fails verification ({len(bad)} files; run `kanalytics verify`)",
                )
        plan.partitions.append(
            PartitionPlan(
                cluster=partition.cluster,
                date=partition.date.isoformat(),
                action=action,
                rule=rule,
                reason=reason,
                age_days=(day - partition.date).days,
                files=len(entries),
                bytes=sum(e.bytes for e in entries),
                events=_event_rows(entries),
                findings_files=sum(e.kind == "findings" for e in entries),
            )
        )
    return plan


def partition_files(state: ChainState) -> dict[Partition, list[FileEntry]]:
    """Every partition with live files, and its files: events first, then its findings files, which are
    about those events and share their fate (a partition with findings files only is listed too)."""
    events, findings = state.live_by_partition(), state.findings_by_partition()
    return {p: events.get(p, []) + findings.get(p, []) for p in sorted(events.keys() | findings.keys())}


def _event_rows(entries: list[FileEntry]) -> int:
    return sum(e.rows for e in entries if e.kind == "events")


def _unexpected(layout: Layout, partition: Partition, state: ChainState) -> list[str]:
    """Files in the partition's events or findings folder that no manifest committed (removed files awaiting
    deletion do not count)."""
    if layout.remote:  # listing the partition's two prefixes: proportional to what is deleted
        folders = (partition.relpath, partition.findings_relpath)
        files = [k for f in folders for k in layout.storage.list(f) if k.endswith(".parquet")]
    else:
        files = [
            p.relative_to(layout.root).as_posix()
            for directory in (layout.partition_dir(partition), layout.findings_dir(partition))
            if directory.is_dir()
            for p in directory.glob("*.parquet")
        ]
    removed = {**state.superseded, **state.deleted_by_policy}
    return [
        f
        for f in files
        if f not in state.live
        and not f.rsplit("/", 1)[-1].startswith(".")
        and (f not in removed or key_problem(layout, f, *removed[f]) is not None)
    ]


def _public_key(settings: Settings) -> Any:
    from kanalytics.archive import signing

    path = settings.signing.public_key_path  # the environment's key is applied by load_settings
    return signing.load_public_key(path) if path else None


@dataclass
class ApplyResult:
    plan: RetentionPlan
    deleted_partitions: int = 0
    deleted_files: int = 0
    deleted_events: int = 0
    deleted_findings_files: int = 0  # of deleted_files, the findings files that went with their partitions
    manifests: list[int] = field(default_factory=list)
    deferred_files: int = 0  # committed deletions left on disk while readers use the archive

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def apply_retention(
    layout: Layout,
    settings: Settings,
    *,
    today: date | None = None,
    approved: list[tuple[str, str]] | None = None,
    batch_size: int = DEFAULT_BATCH,
    hook: Hook | None = None,
    keys: Keys | None = None,
) -> ApplyResult:
    """Delete what a fresh plan (made under the writer lock) lists, in batches, one manifest per batch.

    `approved`: the partitions the operator confirmed; if the fresh plan differs, nothing is deleted.
    """
    with writer_lock(layout):
        manifests.recover(
            layout, keys=keys
        )  # finishes a killed earlier run: its committed removals are deleted here
        plan = plan_retention(layout, settings, today=today)
        if approved is not None and sorted(approved) != sorted(plan.key()):
            raise RetentionError(
                "the retention plan changed since it was shown (new data, holds or a new day); "
                "nothing was deleted",
                hint="run `kanalytics retention plan` again and confirm the new plan",
            )
        result = ApplyResult(plan)
        state = replay(layout)
        by_partition = partition_files(state)
        todo = plan.deletions
        for first in range(0, len(todo), max(1, batch_size)):
            batch = todo[first : first + max(1, batch_size)]
            removed: list[FileEntry] = []
            described: list[dict[str, Any]] = []
            for item in batch:
                partition = Partition(item.cluster, date.fromisoformat(item.date))
                entries = by_partition[partition]
                removed += entries
                described.append(
                    {"cluster": item.cluster, "date": item.date, "rule": item.rule, "age_days": item.age_days}
                    | {"files": len(entries), "rows": _event_rows(entries), "bytes": item.bytes}
                    | {"findings_files": item.findings_files}
                )
            details = {
                "policy": plan.policy,
                "keep_days": {item.cluster: _rule_for(settings.retention, item.cluster)[0] for item in batch},
                "timezone": plan.timezone,
                "today": plan.today,
                "floor_days": plan.floor_days,
                "operator": _operator(),
                "partitions": described,
            }
            committed = manifests.append_manifest(
                layout, RETENTION_OPERATION, removed=removed, details=details, keys=keys
            )
            result.manifests.append(committed.seq)
            if hook:
                hook("after-manifest")
            # Deleted now if no reader is using the archive, else by the next writer run (a report that
            # resolved the old state keeps its files until it is done).
            result.deferred_files = manifests.purge_removed(
                layout,
                trusted=committed,
                on_delete=(lambda: hook("after-delete")) if hook else None,
                keys=keys,
            )
            result.deleted_partitions += len(batch)
            result.deleted_files += len(removed)
            result.deleted_events += _event_rows(removed)
            result.deleted_findings_files += sum(e.kind == "findings" for e in removed)
    return result


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass
class RetentionStatus:
    """What the monthly report's retention section shows."""

    oldest_date: str | None
    newest_date: str | None
    policy: str | None
    floor_days: int | None
    timezone: str
    holds: list[dict[str, Any]] = field(default_factory=list)
    deletions: list[dict[str, Any]] = field(default_factory=list)
    last_manifest_seq: int | None = None
    last_manifest_sha256: str | None = None
    verification: str | None = None  # the integrity statement: what was verified, and whether it held
    verification_ok: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def retention_status(
    archive: Store, settings: Settings, *, period: tuple[datetime, datetime] | None = None
) -> RetentionStatus:
    """Policy, holds, deletions so far, the chain head of `archive` and its integrity, for the report.

    `period` [start, end): the data files of its UTC dates are hashed too (the report passes the dates its
    queries read); without it only the chain is checked, and the statement says so.
    """
    layout = archive.layout
    status = RetentionStatus(
        None, None, describe_policy(settings.retention), settings.retention.floor_days, settings.timezone
    )
    if not layout.is_archive():
        return status
    state = replay(layout)
    dates = sorted(p.date for p in state.live_by_partition())
    if dates:
        status.oldest_date, status.newest_date = dates[0].isoformat(), dates[-1].isoformat()
    status.holds = [h.to_json() for h in holds_mod.list_holds(layout)]
    for m in state.manifests:
        if m.operation == RETENTION_OPERATION:
            parts = m.details.get("partitions", [])
            status.deletions.append(
                {
                    "seq": m.seq,
                    "created_at": m.created_at,
                    "rule": sorted({p.get("rule", "") for p in parts}),
                    "policy": m.details.get("policy"),
                    "partitions": [f"{p['cluster']}/{p['date']}" for p in parts],
                    "files": len(m.files_removed),
                    "rows": _event_rows(m.files_removed),
                }
            )
    if state.manifests:
        status.last_manifest_seq, status.last_manifest_sha256 = (
            state.manifests[-1].seq,
            state.manifests[-1].sha256,
        )
    first, last = (
        (period[0].astimezone(UTC).date(), (period[1] - timedelta(microseconds=1)).astimezone(UTC).date())
        if period is not None
        else (None, None)
    )
    report = verify_archive(
        layout, public_key=_public_key(settings), start=first, end=last, hash_files=period is not None
    )
    status.verification, status.verification_ok = report.statement(), report.ok
    return status
