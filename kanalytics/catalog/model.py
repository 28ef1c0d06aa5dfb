"""The catalog's data contract: query and view headers, control catalogues, findings and run results.

Defined once here; the loader fills `Query` and `Framework`, the runner fills `QueryResult` and `CatalogRun`,
and the report, exports and notebooks only read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kanalytics.vocabulary import LEVEL_ORDER as LEVEL_ORDER  # re-exported: kanalytics.vocabulary is the home
from kanalytics.vocabulary import SEVERITIES, Area, AuditLevel, QueryKind, Severity
from kanalytics.vocabulary import SEVERITY_ORDER as SEVERITY_ORDER

Automation = Literal["automated", "partial", "manual"]
# The configuration lists a query may need (`needs_config`): the `[allowlists]` keys, `query_list` for the
# query's own `allowlists.query_lists.<id>`.
ConfigList = Literal[
    "query_list",
    "admin_users",
    "break_glass_users",
    "automation_users",
    "trusted_networks",
    "trusted_registries",
]
CONFIG_LISTS: tuple[str, ...] = ConfigList.__args__  # type: ignore[attr-defined]

# The finding shape (DESIGN.md "Queries"), defined once: the `Finding` dataclass, `findings_frame`, findings.csv,
# findings.json and the CLI's findings table all follow FINDING_FIELDS, in this order (tests/test_contracts.py).
FindingSource = Literal["header", "required", "anomaly", "optional", "evidence"]


@dataclass(frozen=True)
class FindingField:
    """One field of a finding: its name, Arrow type, where its value comes from and what it means.

    `source`: "header" from the query's header; "required" a column every detection and anomaly returns;
    "anomaly" a column anomalies also return; "optional" a column a query may return; "evidence" every other
    column of the row, as one JSON object.
    """

    name: str
    type: pa.DataType
    source: FindingSource
    description: str


FINDING_FIELDS: tuple[FindingField, ...] = (
    FindingField("severity", pa.string(), "header", "the query's severity: " + " | ".join(SEVERITIES)),
    FindingField("query_id", pa.string(), "header", "the id of the query that raised it"),
    FindingField("title", pa.string(), "header", "the query's title"),
    FindingField("kind", pa.string(), "header", "detection | anomaly"),
    FindingField("area", pa.string(), "header", "the review area of the query"),
    FindingField(
        "ts", pa.timestamp("us", tz="UTC"), "required", "when the audited request was received (UTC)"
    ),
    FindingField("cluster", pa.string(), "optional", "the cluster of the event"),
    FindingField("audit_id", pa.string(), "required", "the Event's auditID (null for a pattern of events)"),
    FindingField("user_name", pa.string(), "required", "the identity that made the request"),
    FindingField(
        "source_ip",
        pa.string(),
        "required",
        "the address the API server saw the request come from (client_ip: the last of source_ips)",
    ),
    FindingField("verb", pa.string(), "required", "the request verb"),
    FindingField("resource", pa.string(), "required", "the resource of the request"),
    FindingField("namespace", pa.string(), "required", "the namespace of the object"),
    FindingField("object_name", pa.string(), "required", "the name of the object"),
    FindingField("summary", pa.string(), "required", "one sentence saying what happened"),
    FindingField("score", pa.float64(), "anomaly", "how far from the baseline (anomalies)"),
    FindingField("baseline", pa.string(), "anomaly", "what the period was compared with (anomalies)"),
    FindingField("evidence", pa.string(), "evidence", "every other column of the row, as a JSON object"),
)
FINDING_NAMES: tuple[str, ...] = tuple(f.name for f in FINDING_FIELDS)
# What a detection or anomaly query must return; anomalies return ANOMALY_COLUMNS too.
FINDING_COLUMNS: tuple[str, ...] = tuple(f.name for f in FINDING_FIELDS if f.source == "required")
ANOMALY_COLUMNS: tuple[str, ...] = tuple(f.name for f in FINDING_FIELDS if f.source == "anomaly")
# Row columns that fill named fields; every other column of a result row goes to `evidence`.
ROW_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in FINDING_FIELDS if f.source in ("required", "anomaly", "optional")
)
# The findings table a terminal can show (`kanalytics findings`): the rest is in the JSON and CSV outputs.
FINDING_TABLE_COLUMNS: tuple[str, ...] = ("severity", "ts", "query_id", "user_name", "namespace", "object_name",
                                          "summary")  # fmt: skip


def finding_schema() -> pa.Schema:
    """The Arrow schema of a findings table (findings_frame, exports), in FINDING_FIELDS order."""
    return pa.schema([pa.field(f.name, f.type) for f in FINDING_FIELDS])


class QueryHeader(BaseModel):
    """The YAML header of a query file. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    kind: QueryKind
    severity: Severity = "info"
    needs_level: AuditLevel = "Metadata"
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
    # Configuration lists the query's meaning depends on (CONFIG_LISTS): under the default profile it produces
    # nothing, and is reported as "needs configuration", until one of them has an entry. `query_list` is the
    # query's own `allowlists.query_lists.<id>`. The "falco" profile runs it with Falco's built-in lists.
    needs_config: list[ConfigList] = Field(default_factory=list)
    # What makes two findings of this query "the same behaviour" when judging recurrence against the
    # baseline (besides cluster, query and identity): finding columns or evidence keys, e.g. [namespace].
    pattern: list[str] = Field(default_factory=list)
    # Native queries that judge the same risk without this Falco-parity rule's noise (successful writes and
    # workload templates rather than every pod a controller makes): under the default profile this query is
    # not run ("superseded", listed in the report's coverage); the "falco" profile runs it.
    superseded_by: list[str] = Field(default_factory=list)
    # How the query is evaluated as data arrives (kanalytics.catalog.evaluate). "event": each finding comes
    # from one event alone (no aggregate, window or join across events), so the findings of a set of files are
    # the union of each file's. "day": a finding may depend on other events of its cluster's UTC day (bursts,
    # per-request stage merges), of the `lookback_minutes` before it, and for anomalies of the `baseline_days`
    # before it; the findings of a period are the union of its UTC days'. Both are checked by
    # tests/catalog/test_additivity.py.
    scope: Literal["event", "day"] = "day"
    # Events before the finding's UTC day a "day" query reads (besides an anomaly's baseline), in minutes.
    lookback_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)
    # Which finding columns (or evidence keys) each allow-list is matched against when findings are read
    # (kanalytics.catalog.suppress), where the default is not what the SQL checks: e.g. {query_list:
    # [repositories]}. A list-valued column is suppressed only when every element matches an entry.
    suppress_by: dict[ConfigList, list[str]] = Field(default_factory=dict)
    # A "first time in the period" detection (its SQL keeps the first row per key and UTC day, so that it stays
    # day-additive): the finding columns or evidence keys of that key. When findings are read, only the earliest
    # finding per cluster and key in the period is kept (after allow-lists), as if the whole period were one run.
    first_per_period: list[str] = Field(default_factory=list)
    # What makes two findings of this query "the same alert" (besides query and cluster): finding columns or
    # evidence keys. Findings of one key within the alert window update that alert's count instead of firing
    # again (docs/alerts.md). Default: the identity.
    dedup_by: list[str] = Field(default_factory=lambda: ["user_name"])
    # For the analyst who reviews a finding (shown with it in the report, the CSV/JSON and alerts): `triage`
    # says what to check to tell a true positive from expected activity (which fields, which follow-up query
    # or command); `remediation` what to do once it is confirmed. The loader requires both for detections and
    # anomalies of medium severity and above.
    triage: str = ""
    remediation: str = ""
    # Why the query cannot run on Spark (kanalytics.catalog.spark_sql), in specific words ("uses DuckDB's
    # list_reduce with a lambda over structs"); None: it is portable, and tests/catalog/test_spark_portability.py
    # holds its Spark rows equal to DuckDB's. The Spark engine skips it and lists it with this reason.
    spark: str | None = None


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


class MacroHeader(BaseModel):
    """The YAML header of a shared macro (`queries/macros/<id>.sql`, body: one SQL expression). Unknown keys
    are errors. Queries and views call it as `<id>(<parameters>)`; like a view it is never listed or run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    parameters: list[str] = Field(default_factory=list)
    # The values a macro may return, when it names categories (identity_type); a test holds them true.
    returns: list[str] = Field(default_factory=list)
    description: str


@dataclass(frozen=True)
class Macro:
    header: MacroHeader
    sql: str  # the body: one expression over `parameters`
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
    status: Literal["ok", "not-evaluable", "needs-configuration", "superseded", "error"]
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
    """One row of a detection or anomaly, in the common shape plus its evidence columns.

    The fields are FINDING_FIELDS (a test holds them equal); `to_json` gives them in that order.
    """

    query_id: str
    title: str
    kind: QueryKind
    severity: Severity
    area: Area
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
        data = {name: getattr(self, name) for name in FINDING_NAMES}
        data["ts"] = self.ts.isoformat() if self.ts else None
        return data


@dataclass
class RecurringPattern:
    """Medium/low findings of one query whose pattern (cluster, identity and the query's `pattern` keys) was also
    found on many baseline days: recurring behaviour, shown with this evidence instead of in the review queue.
    Like a Suppression it is never hidden: the report and `findings --include-recurring` list it."""

    query_id: str
    cluster: str | None
    user_name: str | None
    key: dict[str, Any]  # the query's `pattern` keys and their values
    days_seen: int  # baseline days on which the query found this pattern
    baseline_days: int  # baseline days with events in this cluster (the denominator)
    first_seen: str  # first and last baseline day it was found (ISO dates)
    last_seen: str
    findings: list[Finding] = field(default_factory=list)  # this period's findings it covers

    @property
    def evidence(self) -> str:
        return f"seen on {self.days_seen} of {self.baseline_days} baseline days ({self.first_seen} to {self.last_seen})"


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
    # resource ("pods", "pods/exec") -> audit levels its events came at in the period (policy coverage)
    levels_by_resource: dict[str, list[str]] = field(default_factory=dict)
    # Filled by `catalog.recurrence.judge_recurrence` (default profile): the findings moved out of `findings`
    # as recurring behaviour, and the baseline days with events per cluster that judgement (and anomalies) used.
    recurring: list[RecurringPattern] = field(default_factory=list)
    baseline_days_with_events: dict[str, int] = field(default_factory=dict)
    # How the findings were obtained (kanalytics.catalog.evaluate.EvaluationStats.to_json): results read as
    # stored, refreshed now, or recomputed from the events; and, after `--recompute`, whether they agreed.
    evaluation: dict[str, Any] = field(default_factory=dict)

    def by_kind(self, kind: str) -> list[QueryResult]:
        return [r for r in self.results.values() if r.query.header.kind == kind]


class ProposalHeader(BaseModel):
    """The YAML header of a proposal query (`queries/tune/<id>.sql`): what `kanalytics tune` proposes for one
    configuration list from a baseline period. Unknown keys are errors.

    The SQL returns one row per cluster and value: `cluster`, `value`, `dates` (the days it was seen, as a
    list of DATE in $timezone), `events`, and, when `context` names it, a `context` list (identities,
    images, ...) shown in the entry's reason. With `source_query`, that query is run first over the period
    (without allow-lists or gating) and its rows are the relation `query_rows`, so the proposal counts exactly
    what the query would report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    list: ConfigList
    # For `list: query_list`: the query whose `allowlists.query_lists.<id>` the values go into.
    for_query: str | None = None
    source_query: str | None = None
    needs_level: AuditLevel = "Metadata"
    # "On most days": written uncommented only when seen on at least `baseline.recurring_share` of the days with
    # events (and on `--min-days` days), for lists that suppress widely.
    recurring: bool = False
    # What the `context` column lists ("identities", "images"); empty when the SQL returns none.
    context: str = ""
    description: str

    @model_validator(mode="after")
    def _query_list_names_its_query(self) -> ProposalHeader:
        if (self.list == "query_list") != (self.for_query is not None):
            raise ValueError("for_query is required with list: query_list, and only then")
        return self


@dataclass(frozen=True)
class Proposal:
    header: ProposalHeader
    sql: str
    path: str

    @property
    def id(self) -> str:
        return self.header.id
