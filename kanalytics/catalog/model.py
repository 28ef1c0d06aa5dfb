"""The catalog's data contract: query and view headers, control catalogues, findings and run results.

Defined once here; the loader fills `Query` and `Framework`, the runner fills `QueryResult` and `CatalogRun`,
and the report, exports and notebooks only read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["metric", "detection", "anomaly"]
Severity = Literal["info", "low", "medium", "high", "critical"]
Level = Literal["None", "Metadata", "Request", "RequestResponse"]
Automation = Literal["automated", "partial", "manual"]
# The review areas of audit-log practice; each report section shows the queries of its area.
Area = Literal[
    "coverage",
    "integrity",
    "activity",
    "failed-access",
    "rbac",
    "privileged-workloads",
    "secrets",
    "exec",
    "anonymous",
    "anomalies",
    "network",
    "configuration",
]
SEVERITY_ORDER: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
LEVEL_ORDER: dict[str, int] = {"None": 0, "Metadata": 1, "Request": 2, "RequestResponse": 3}

# The finding shape (DESIGN.md "Queries"): every detection and anomaly returns at least these columns.
FINDING_COLUMNS = (
    "ts",
    "audit_id",
    "user_name",
    "source_ip",
    "verb",
    "resource",
    "namespace",
    "object_name",
    "summary",
)


class QueryHeader(BaseModel):
    """The YAML header of a query file. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    kind: Kind
    severity: Severity = "info"
    needs_level: Level = "Metadata"
    area: Area
    controls: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    mitre: list[str] = Field(default_factory=list)
    description: str
    # For anomalies: how long the baseline window before the period is (days).
    baseline_days: int | None = None
    # Free-form labels for selecting groups of queries, e.g. "falco-activity": the Falco rules that the
    # `consider_activity_events` macro switches off (a Falco override a run can mirror by skipping them).
    tags: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Query:
    header: QueryHeader
    sql: str
    path: str
    version: str  # short SHA-256 of the file's bytes: what the report's methodology appendix lists

    @property
    def id(self) -> str:
        return self.header.id


class ViewHeader(BaseModel):
    """The YAML header of a shared view (`queries/views/<id>.sql`). Unknown keys are errors.

    A view is not a query: it has no kind, severity or controls and is never listed, reported or run on its
    own. Its id is a plain SQL identifier because queries select from it by that name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    # Other views this one selects from; they are created first. References found in the SQL count too.
    depends_on: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class View:
    header: ViewHeader
    sql: str
    path: str
    version: str  # short SHA-256 of the file's bytes; part of the catalog version

    @property
    def id(self) -> str:
        return self.header.id


@dataclass(frozen=True)
class Control:
    framework: str
    id: str  # as referenced in headers: "<framework>:<control id>"
    control: str  # the framework's own id, e.g. "10.2.1.2"
    title: str
    automation: Automation
    note: str = ""  # why partial / manual


@dataclass(frozen=True)
class Framework:
    id: str  # e.g. "pci-dss-4.0"
    title: str
    controls: list[Control]


@dataclass
class Suppression:
    """A finding that an allow-list entry suppressed, kept so the report can show it with its reason."""

    query_id: str
    list_name: str
    value: str
    reason: str
    count: int


@dataclass
class QueryResult:
    query: Query
    status: Literal["ok", "not-evaluable", "error"]
    table: pa.Table | None = None
    reason: str = ""  # why not evaluable / the error message
    seconds: float = 0.0
    suppressed: list[Suppression] = field(default_factory=list)
    # Row count kept when a catalog run releases a detection's table after turning it into findings.
    released_rows: int = 0

    @property
    def rows(self) -> int:
        return self.table.num_rows if self.table is not None else self.released_rows

    def release_table(self) -> None:
        """Drop the result table (its rows live on as findings) so a large month stays within memory."""
        if self.table is not None:
            self.released_rows = self.table.num_rows
            self.table = None


@dataclass(slots=True)
class Finding:
    """One row of a detection or anomaly, in the common shape plus its evidence columns."""

    query_id: str
    title: str
    kind: str
    severity: str
    area: str
    ts: datetime | None
    audit_id: str | None
    user_name: str | None
    source_ip: str | None
    verb: str | None
    resource: str | None
    namespace: str | None
    object_name: str | None
    summary: str
    cluster: str | None = None
    score: float | None = None
    baseline: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["ts"] = self.ts.isoformat() if self.ts else None
        return data


@dataclass
class CatalogRun:
    """Everything one evaluation of the catalog over a period produced."""

    start: datetime
    end: datetime
    baseline_start: datetime
    clusters: list[str] | None
    results: dict[str, QueryResult]
    findings: list[Finding]
    levels_seen: list[str]
    catalog_version: str  # hash over every query version

    def by_kind(self, kind: str) -> list[QueryResult]:
        return [r for r in self.results.values() if r.query.header.kind == kind]
