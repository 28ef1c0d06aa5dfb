"""The "Findings by severity" section: evidence groups per check, each event once, info checks as an inventory.

Several checks can raise the same event (a pod with hostPID is both `hostpid-pod` and
`falco-create-hostpid-pod`). findings.csv/json keep every finding; the evidence sections show each event
(cluster and auditID) once, under the first check in report order (most severe first) that raised it, with
the other checks named in "also matched by". Info-severity checks describe activity rather than a problem, so
they are counted in one inventory table instead of printing their rows; findings.csv has the rows.

Each group keeps up to EMBED_ROWS_PER_FINDING rows: a medium shows its own cap of them (`ReportContext.row_cap`)
and the screen HTML embeds the rest behind "Show all rows", so they are reachable without findings.csv.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import markupsafe

from kanalytics.catalog.findings import finding_id
from kanalytics.catalog.model import CatalogRun, Finding
from kanalytics.report.context import FindingGroup, FindingRow, IncidentView, InventoryRow
from kanalytics.report.tables import fmt_ts, fmt_value
from kanalytics.vocabulary import SEVERITY_ORDER, Severity

if TYPE_CHECKING:
    from kanalytics.archive.dispositions import Disposition

HTML_ROWS_PER_FINDING = 200
EMBED_ROWS_PER_FINDING = 2_000  # rows per check the screen HTML carries behind "Show all rows"
SUMMARY_CHARS = 600  # a summary quoting a 2,000-character user agent would make a row taller than a page
INVENTORY_SEVERITIES: frozenset[Severity] = frozenset({"info"})

EventKey = tuple[str, str]


def finding_sections(
    run: CatalogRun,
    *,
    cap: int = EMBED_ROWS_PER_FINDING,
    incident_of: Mapping[int, IncidentView] | None = None,
    reviews: Mapping[str, Disposition] | None = None,
) -> tuple[list[FindingGroup], list[InventoryRow]]:
    """Evidence groups (most severe first, rows capped at `cap`) and the inventory of info-severity checks.

    `incident_of` maps `id(finding)` to the incident it belongs to; each evidence row then links to it.
    `reviews` maps finding ids to the disposition covering them: a row shows its verdict, a group counts them."""
    incident_of = incident_of or {}
    reviews = reviews or {}
    by_query: dict[str, list[Finding]] = {}
    for finding in run.findings:  # already sorted most severe and oldest first
        by_query.setdefault(finding.query_id, []).append(finding)
    severity = {q: run.results[q].query.header.severity for q in by_query}
    order = sorted(by_query, key=lambda q: (-SEVERITY_ORDER.get(severity[q], 0), -len(by_query[q]), q))
    matched: dict[EventKey, list[str]] = {}  # event -> checks that raised it, in report order
    for query_id in order:
        for finding in by_query[query_id]:
            key = event_key(finding)
            if key is not None and query_id not in matched.setdefault(key, []):
                matched[key].append(query_id)
    groups: list[FindingGroup] = []
    inventory: list[InventoryRow] = []
    for query_id in order:
        found = by_query[query_id]
        h = run.results[query_id].query.header
        if h.severity in INVENTORY_SEVERITIES:
            inventory.append(_inventory_row(query_id, h.title, h.area, found))
            continue
        rows: list[FindingRow] = []
        elsewhere = reviewed = 0
        for finding in found:
            fid = finding_id(finding)
            reviewed += fid in reviews
            checks = matched.get(key) if (key := event_key(finding)) else None
            if checks and checks[0] != query_id:
                elsewhere += 1  # shown under the more severe check that also raised it
            elif len(rows) < cap:
                also = [q for q in checks or () if q != query_id]
                rows.append(_row(finding, fid, also, incident_of.get(id(finding)), reviews.get(fid)))
        groups.append(
            FindingGroup(
                query_id=query_id, title=h.title, severity=h.severity, kind=h.kind, area=h.area,
                description=code_spans(h.description.strip()), count=len(found), rows=rows,
                controls=list(h.controls), mitre=list(h.mitre), references=list(h.references),
                elsewhere=elsewhere, first_summary=found[0].summary, triage=code_spans(h.triage.strip()),
                remediation=code_spans(h.remediation.strip()), reviewed=reviewed,
            )
        )  # fmt: skip
    return groups, inventory


def event_key(f: Finding) -> EventKey | None:
    """The audited event a finding is about, or None for findings about a pattern (no single auditID)."""
    return (f.cluster or "", f.audit_id) if f.audit_id else None


def _inventory_row(query_id: str, title: str, area: str, found: list[Finding]) -> InventoryRow:
    times = [f.ts for f in found if isinstance(f.ts, datetime)]
    return InventoryRow(
        query_id=query_id, title=title, area=area, count=len(found),
        identities=len({f.user_name for f in found if f.user_name}),
        first=fmt_ts(min(times)) if times else "—", last=fmt_ts(max(times)) if times else "—",
    )  # fmt: skip


def code_spans(text: str) -> markupsafe.Markup:
    """`text` escaped, with each `backtick span` as <code>: query headers write commands and field values so.

    Everything is escaped before it is wrapped; an unpaired backtick is printed as itself."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        return markupsafe.escape(text)
    code = markupsafe.Markup("<code>%s</code>")
    return markupsafe.Markup("").join(
        code % part if i % 2 else markupsafe.escape(part) for i, part in enumerate(parts)
    )


def _row(
    f: Finding, fid: str, also: list[str], incident: IncidentView | None, review: Disposition | None
) -> FindingRow:
    extra = {k: v for k, v in f.evidence.items() if v not in (None, "", [])}
    target = _target(f, extra)
    if f.score is not None:
        extra = {"score": round(f.score, 2), "baseline": f.baseline, **extra}
    return FindingRow(
        ts=fmt_ts(f.ts) if isinstance(f.ts, datetime) else "—",
        cluster=f.cluster or "—",
        user_name=f.user_name or "—",
        source_ip=f.source_ip or "—",
        verb=f.verb or "",
        target=target,
        summary=_clip(f.summary, SUMMARY_CHARS),
        audit_id=f.audit_id or "—",
        extra=_clip("; ".join(f"{k}={fmt_value(v)}" for k, v in extra.items()), 240),
        also=also,
        incident=incident.anchor if incident else "",
        incident_rank=incident.rank if incident else 0,
        finding_id=fid,
        verdict=review.verdict if review else "",
        review=review.text() if review else "",
    )


def _target(f: Finding, extra: dict[str, object]) -> str:
    """What the request was about: resource/namespace/name, else the request path of a non-resource request
    (`/version`: an evidence column `request_uri`, moved out of the evidence text), else what kind of finding
    has no object (a request without a known path, or a pattern over several requests: no single verb)."""
    target = "/".join(p for p in (f.resource, f.namespace, f.object_name) if p)
    if target:
        return target
    if uri := extra.pop("request_uri", None):
        return str(uri)
    return "non-resource request" if f.verb else "several requests (see evidence)"


def _clip(text: str, limit: int) -> str:
    """Evidence shown in the report is clipped; findings.csv/json keep every character."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
