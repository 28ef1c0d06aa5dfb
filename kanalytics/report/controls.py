"""The control mapping: what this period's logs say about each control of the configured frameworks.

A control's status separates what an auditor must not confuse: *exceptions* (non-info findings of the checks
behind it, to review), *evidenced* (the checks ran and found nothing to review; info-severity findings are an
inventory of recorded activity, evidence rather than failures), *not evaluable* (no check behind it could run,
with why) and *manual* (audit logs cannot evidence it, or no check maps to it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kanalytics.catalog.findings import finding_id
from kanalytics.report.context import ControlCheck, ControlRow, FrameworkTable
from kanalytics.vocabulary import SEVERITY_ORDER

if TYPE_CHECKING:
    from kanalytics.archive.dispositions import Disposition
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.model import CatalogRun, Control, QueryResult

STATUSES: tuple[str, ...] = ("exceptions", "evidenced", "not evaluable", "manual")


@dataclass
class _Tally:
    """Findings per query id, split the way a control's status reads them."""

    exceptions: Counter[str] = field(default_factory=Counter)  # non-info findings: the review queue
    reviewed: Counter[str] = field(default_factory=Counter)  # of those, with an analyst's disposition
    inventory: Counter[str] = field(default_factory=Counter)  # info findings: recorded activity

    def total(self, counter: Counter[str], ids: list[str]) -> int:
        return sum(counter.get(q, 0) for q in ids)


def control_tables(
    run: CatalogRun,
    catalog: Catalog,
    frameworks: list[str],
    reviews: Mapping[str, Disposition] | None = None,
) -> list[FrameworkTable]:
    """One table per configured framework, in the catalogue's control order. `reviews` maps finding ids to
    the disposition that covers them (kanalytics.catalog.review); a reviewed exception stays an exception,
    counted as reviewed ("47 exceptions, 45 reviewed")."""
    tally = _tally(run, reviews or {})
    index = catalog.control_index()
    tables = []
    for fid in frameworks:
        framework = catalog.frameworks.get(fid)
        if framework is None:
            continue
        rows = [
            _row(
                control, [q for q in index.get(control.id, []) if q in run.results], run, tally, framework.id
            )
            for control in framework.controls
        ]
        counts = Counter(r.status for r in rows)
        tables.append(FrameworkTable(framework.id, framework.title, rows, dict(counts)))
    return tables


def _tally(run: CatalogRun, reviews: Mapping[str, Disposition]) -> _Tally:
    tally = _Tally()
    for f in run.findings:
        if f.severity == "info":
            tally.inventory[f.query_id] += 1
            continue
        tally.exceptions[f.query_id] += 1
        if finding_id(f) in reviews:
            tally.reviewed[f.query_id] += 1
    return tally


def _row(control: Control, ids: list[str], run: CatalogRun, tally: _Tally, framework: str) -> ControlRow:
    """`ids`: the queries behind the control that this run knows (ran, or was told why not)."""
    results = [run.results[q] for q in ids]
    exceptions = tally.total(tally.exceptions, ids)
    if control.automation == "manual" or not results:
        status = "manual"
    elif exceptions:
        status = "exceptions"
    elif any(r.status == "ok" for r in results):
        status = "evidenced"
    else:
        status = "not evaluable"
    worst = sorted((q for q in ids if tally.exceptions.get(q)),
                   key=lambda q: (-SEVERITY_ORDER[run.results[q].query.header.severity], q))  # fmt: skip
    return ControlRow(
        control=control.control,
        title=control.title,
        automation=control.automation,
        status=status,
        exceptions=exceptions,
        reviewed=tally.total(tally.reviewed, ids),
        inventory=tally.total(tally.inventory, ids),
        queries=ids,
        note=control.note,
        reason=_reason(results) if status == "not evaluable" else "",
        first_exception=f"q-{worst[0]}" if worst else "",
        anchor=_anchor(framework, control.control),
        checks=[ControlCheck(r.query.id, r.query.header.title, r.status) for r in results],
    )


def _reason(results: list[QueryResult]) -> str:
    """Why none of `results` ran, each distinct reason once with the checks it holds for (many checks of a
    control usually share one: the audit level, a list to configure)."""
    by_reason: defaultdict[str, list[str]] = defaultdict(list)
    for r in results:
        by_reason[r.reason or r.status.replace("-", " ")].append(r.query.id)
    return "; ".join(f"{reason} ({', '.join(ids)})" for reason, ids in sorted(by_reason.items()))


def _anchor(framework: str, control: str) -> str:
    """The HTML id of a control's appendix entry: framework and control ids with every character other than
    letters, digits, '.' and '-' replaced, so "AU-3(1)" and "164.308(a)(1)" make plain fragment links."""
    safe = "".join(c if c.isalnum() or c in ".-" else "-" for c in f"{framework}-{control}")
    return f"ctl-{safe}"
