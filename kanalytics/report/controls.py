"""The control mapping: what this period's logs say about each control of the configured frameworks.

A control's status separates what an auditor must not confuse: *exceptions* (non-info findings of the checks
behind it, to review), *evidenced* (the checks ran and found nothing to review; info-severity findings are an
inventory of recorded activity, evidence rather than failures), *not evaluable* (no check behind it could run,
with why) and *manual* (audit logs cannot evidence it, or no check maps to it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from kanalytics.catalog.findings import finding_id
from kanalytics.report.context import ControlRow, FrameworkTable
from kanalytics.vocabulary import SEVERITY_ORDER

if TYPE_CHECKING:
    from kanalytics.archive.dispositions import Disposition
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.model import CatalogRun

STATUSES: tuple[str, ...] = ("exceptions", "evidenced", "not evaluable", "manual")


def control_tables(
    run: CatalogRun,
    catalog: Catalog,
    frameworks: list[str],
    reviews: Mapping[str, Disposition] | None = None,
) -> list[FrameworkTable]:
    """One table per configured framework, in the catalogue's control order. `reviews` maps finding ids to
    the disposition that covers them (kanalytics.catalog.review); a reviewed exception stays an exception,
    counted as reviewed ("47 exceptions, 45 reviewed")."""
    reviews = reviews or {}
    index = catalog.control_index()
    exceptions: Counter[str] = Counter()
    reviewed: Counter[str] = Counter()
    inventory: Counter[str] = Counter()
    for f in run.findings:
        if f.severity == "info":
            inventory[f.query_id] += 1
            continue
        exceptions[f.query_id] += 1
        if finding_id(f) in reviews:
            reviewed[f.query_id] += 1
    tables = []
    for fid in frameworks:
        framework = catalog.frameworks.get(fid)
        if framework is None:
            continue
        rows = []
        for control in framework.controls:
            ids = [q for q in index.get(control.id, []) if q in run.results]
            results = [run.results[q] for q in ids]
            hits = sum(exceptions.get(q, 0) for q in ids)
            reason = ""
            if control.automation == "manual" or not results:
                status = "manual"
            elif hits:
                status = "exceptions"
            elif any(r.status == "ok" for r in results):
                status = "evidenced"
            else:
                status = "not evaluable"
                reason = "; ".join(sorted({f"{r.query.id}: {r.reason or r.status}" for r in results}))
            worst = sorted((q for q in ids if exceptions.get(q)),
                           key=lambda q: (-SEVERITY_ORDER[run.results[q].query.header.severity], q))  # fmt: skip
            rows.append(
                ControlRow(
                    control=control.control,
                    title=control.title,
                    automation=control.automation,
                    status=status,
                    exceptions=hits,
                    reviewed=sum(reviewed.get(q, 0) for q in ids),
                    inventory=sum(inventory.get(q, 0) for q in ids),
                    queries=ids,
                    note=control.note,
                    reason=reason,
                    first_exception=f"q-{worst[0]}" if worst else "",
                )
            )
        counts = Counter(r.status for r in rows)
        tables.append(FrameworkTable(framework.id, framework.title, rows, dict(counts)))
    return tables
