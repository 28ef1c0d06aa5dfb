"""From a commit to alerts: the findings of the days a commit touched, as the report would show them, keyed for
deduplication and turned into `Alert`s for the sinks that want them.

The findings are read with `catalog.api.judged_run`: allow-lists, suppressions, profile gating and the recurrence
judgement apply exactly as in `kanalytics findings` and the report, so a finding the report suppresses (with its
reason) never alerts. Which of them are new is the outbox's business (it remembers a fingerprint per finding).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kanalytics.catalog.findings import identity_values, json_safe
from kanalytics.catalog.model import FINDING_NAMES, Finding
from kanalytics.config import AlertSettings, AlertSink, Settings
from kanalytics.outputs.alerts.model import Alert
from kanalytics.vocabulary import SEVERITY_ORDER

if TYPE_CHECKING:
    from kanalytics.archive.api import Store
    from kanalytics.catalog.incidents import Incident
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.results import Part

# The columns that name one finding (its fingerprint): not the summary, score or evidence, which a day-scope
# query may restate as more of the day's events arrive (a burst's count grows; it is the same burst).


def commit_findings(
    store: Store, catalog: Catalog, settings: Settings, parts: Iterable[Part]
) -> list[Finding]:
    """The findings to review (after allow-lists, suppressions and the recurrence judgement) of every
    (cluster, UTC day) in `parts`, read from the stored results; one judged read per cluster over its days."""
    from kanalytics.catalog.api import FINDING_KINDS, judged_run

    days: dict[str, list[Any]] = defaultdict(list)
    for part in parts:
        days[part.cluster].append(part.day)
    found: list[Finding] = []
    for cluster, dates in sorted(days.items()):
        start = datetime.combine(min(dates), datetime.min.time(), tzinfo=UTC)
        end = datetime.combine(max(dates), datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
        run = judged_run(
            store, start, end, settings=settings, catalog=catalog, clusters=[cluster], kinds=FINDING_KINDS
        )
        wanted = set(dates)
        found += [f for f in run.findings if f.ts is None or f.ts.astimezone(UTC).date() in wanted]
    return found


def fingerprint(finding: Finding) -> str:
    """A finding's identity across re-evaluations (the outbox alerts each once)."""
    return hashlib.sha256(json.dumps(identity_values(finding)).encode("utf-8")).hexdigest()


def dedup_values(finding: Finding, columns: Sequence[str]) -> dict[str, str | None]:
    """The values of a query's `dedup_by` columns (finding fields, else evidence keys) for one finding."""
    values: dict[str, str | None] = {}
    for column in columns:
        value = getattr(finding, column) if column in FINDING_NAMES else finding.evidence.get(column)
        values[column] = None if value is None else str(json_safe(value))
    return values


def wants(sink: AlertSink, alert: Alert) -> bool:
    """Whether `sink` is sent `alert`: at or above its minimum severity, and in its query/area filters."""
    if SEVERITY_ORDER[alert.severity] < SEVERITY_ORDER[sink.min_severity]:
        return False
    if sink.queries and alert.query_id not in sink.queries:
        return False
    return not sink.areas or alert.area in sink.areas


@dataclass
class Keying:
    """How a batch of findings becomes alerts: the key, the alert and the sinks, for `Outbox.admit`."""

    key_of: Callable[[Finding], str]
    alert_of: Callable[[Finding, str], Alert]
    sinks_of: Callable[[Alert], list[str]]


def keying(findings: Sequence[Finding], *, catalog: Catalog, settings: Settings, now: datetime) -> Keying:
    """Per finding (query, cluster, the query's `dedup_by` values) or, with `alerts.unit = "incident"`, per
    incident (keyed by its first finding, so a growing incident stays one alert within the window)."""
    config = settings.alerts

    def sinks_of(alert: Alert) -> list[str]:
        return [sink.name for sink in config.sinks if wants(sink, alert)]

    if config.unit == "incident":
        return _incident_keying(findings, catalog=catalog, settings=settings, now=now, sinks_of=sinks_of)

    def key_of(finding: Finding) -> str:
        columns = catalog.get(finding.query_id).header.dedup_by
        return json.dumps([finding.query_id, finding.cluster, dedup_values(finding, columns)], sort_keys=True)

    def alert_of(finding: Finding, key: str) -> Alert:
        header = catalog.get(finding.query_id).header
        return _alert(
            finding, key, config, now=now, title=header.title, kind=header.kind, severity=header.severity,
            summary=finding.summary, description=header.description, controls=list(header.controls),
            mitre=list(header.mitre), references=list(header.references),
            dedup=dedup_values(finding, header.dedup_by),
        )  # fmt: skip

    return Keying(key_of, alert_of, sinks_of)


def _incident_keying(
    findings: Sequence[Finding],
    *,
    catalog: Catalog,
    settings: Settings,
    now: datetime,
    sinks_of: Callable[[Alert], list[str]],
) -> Keying:
    from kanalytics.catalog.incidents import configured_incidents

    of: dict[str, Incident] = {}
    for incident in configured_incidents(findings, catalog=catalog, settings=settings):
        for member in incident.findings:
            of[fingerprint(member)] = incident

    def key_of(finding: Finding) -> str:
        incident = of.get(fingerprint(finding))
        if incident is None:  # info findings are in no incident: keyed alone (sinks rarely want info)
            return json.dumps(["finding", fingerprint(finding)])
        return json.dumps(["incident", fingerprint(incident.findings[0])])

    def alert_of(finding: Finding, key: str) -> Alert:
        incident = of.get(fingerprint(finding))
        if incident is None:
            header = catalog.get(finding.query_id).header
            return _alert(
                finding, key, settings.alerts, now=now, title=header.title, kind=header.kind,
                severity=header.severity, summary=finding.summary, description=header.description,
                dedup={"user_name": finding.user_name},
            )  # fmt: skip
        queries = sorted({f.query_id for f in incident.findings})
        return _alert(
            finding, key, settings.alerts, now=now, title=incident.title, kind="incident",
            severity=incident.severity, summary=" ".join(incident.narrative) or finding.summary,
            description=f"{len(incident.findings)} linked findings ({', '.join(queries)})",
            mitre=sorted({t for q in queries for t in catalog.get(q).header.mitre}),
            dedup={"identities": ", ".join(incident.identities)}, incident=incident.id,
        )  # fmt: skip

    return Keying(key_of, alert_of, sinks_of)


def _alert(
    finding: Finding,
    key: str,
    config: AlertSettings,
    *,
    now: datetime,
    title: str,
    kind: str,
    severity: str,
    summary: str,
    description: str,
    dedup: dict[str, str | None],
    controls: list[str] | None = None,
    mitre: list[str] | None = None,
    references: list[str] | None = None,
    incident: str | None = None,
) -> Alert:
    ts = finding.ts.astimezone(UTC) if finding.ts is not None else now
    return Alert(
        id=str(uuid.uuid4()),
        key=key,
        query_id=finding.query_id,
        title=title,
        kind=kind,
        severity=severity,
        area=finding.area,
        cluster=finding.cluster,
        dedup=dedup,
        summary=summary,
        description=description,
        first_ts=ts,
        last_ts=ts,
        count=1,
        created_at=now,
        findings=[json_safe(finding.to_json())],
        controls=controls or [],
        mitre=mitre or [],
        references=references or [],
        runbook=runbook(finding, ts),
        link=config.link,
        incident=incident,
    )


def runbook(finding: Finding, ts: datetime) -> str:
    """What the on-call runs next: the findings and incidents of the two hours around the alert."""
    start = (ts - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (ts + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cluster = f" --cluster {finding.cluster}" if finding.cluster else ""
    return (
        f"kanalytics incidents --from {start} --to {end}{cluster}; "
        f"kanalytics findings --from {start} --to {end}{cluster}"
    )
