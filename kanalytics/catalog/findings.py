"""Turn detection and anomaly rows into `Finding`s: the common shape, JSON-safe evidence, stable order."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kanalytics.catalog.model import (
    ANOMALY_COLUMNS,
    FINDING_COLUMNS,
    FINDING_NAMES,
    ROW_COLUMNS,
    Finding,
    QueryResult,
    finding_schema,
)
from kanalytics.vocabulary import SEVERITY_ORDER

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


# What makes a finding the same finding across re-evaluations, re-ingests and report runs: the query, where and
# when, and the request's who / what (not the summary or evidence, which a day-scope query restates as the day
# grows). `finding_id` and the alert outbox's fingerprint both hash these.
FINDING_IDENTITY: tuple[str, ...] = ("query_id", "cluster", "ts", "audit_id", "user_name", "source_ip", "verb",
                                     "resource", "namespace", "object_name")  # fmt: skip


def identity_values(finding: Finding) -> list[Any]:
    """The JSON-safe values of FINDING_IDENTITY for one finding, in that order."""
    return [json_safe(getattr(finding, name)) for name in FINDING_IDENTITY]


def finding_id(finding: Finding) -> str:
    """A finding's stable id ("f-" and 16 hex digits): the same finding gets the same id in every run, so an
    analyst's disposition (`kanalytics triage set ID`) follows it into later reports."""
    digest = hashlib.blake2b(json.dumps(identity_values(finding)).encode("utf-8"), digest_size=8)
    return "f-" + digest.hexdigest()


def missing_columns(kind: str, column_names: list[str]) -> list[str]:
    """The finding-shape columns a detection or anomaly result lacks (metrics have no required shape)."""
    if kind == "metric":
        return []
    required = FINDING_COLUMNS + (ANOMALY_COLUMNS if kind == "anomaly" else ())
    return [c for c in required if c not in column_names]


def json_safe(value: Any) -> Any:
    """A value json.dumps can write without a `default=`: what exports and the webhook send."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    return str(value)


def to_findings(result: QueryResult) -> list[Finding]:
    """One Finding per row of an ok detection/anomaly result; nothing for metrics or failed queries."""
    header = result.query.header
    if header.kind == "metric" or result.status != "ok" or result.table is None:
        return []
    found = []
    for row in result.table.to_pylist():
        score = row.get("score")
        found.append(
            Finding(
                query_id=header.id,
                title=header.title,
                kind=header.kind,
                severity=header.severity,
                area=header.area,
                ts=row.get("ts"),
                audit_id=_text(row.get("audit_id")),
                user_name=_text(row.get("user_name")),
                source_ip=_text(row.get("source_ip")),
                verb=_text(row.get("verb")),
                resource=_text(row.get("resource")),
                namespace=_text(row.get("namespace")),
                object_name=_text(row.get("object_name")),
                summary=_text(row.get("summary")) or header.title,
                cluster=_text(row.get("cluster")),
                score=float(score) if isinstance(score, int | float | Decimal) else None,
                baseline=_text(row.get("baseline")),
                evidence={k: json_safe(v) for k, v in row.items() if k not in ROW_COLUMNS},
            )
        )
    return found


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then oldest first; ties broken by query and audit id so output is stable."""

    def key(f: Finding) -> tuple[int, int, str, str, str]:
        ts = f.ts.isoformat() if isinstance(f.ts, datetime) else ""
        return (-SEVERITY_ORDER.get(f.severity, 0), 0 if f.ts else 1, ts, f.query_id, f.audit_id or "")

    return sorted(findings, key=key)


def findings_to_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [json_safe(f.to_json()) for f in findings]


def to_polars(table: pa.Table) -> pl.DataFrame:
    """A result table as polars (notebooks, the CLI's printers)."""
    import polars as pl

    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a Table always converts to a DataFrame
    return frame


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def findings_frame(findings: list[Finding]) -> pl.DataFrame:
    """Findings as one polars DataFrame with the finding schema (evidence as JSON text), for notebooks."""
    import json

    import polars as pl

    schema = to_polars(finding_schema().empty_table()).schema
    rows = [
        {
            **{name: getattr(f, name) for name in FINDING_NAMES},
            "score": float(f.score) if f.score is not None else None,
            "evidence": json.dumps(json_safe(f.evidence), sort_keys=True),
        }
        for f in findings
    ]
    return pl.DataFrame(rows, schema=schema)
