"""The typed context the report templates receive: every field a template may read, documented here.

Templates run with `StrictUndefined`, so a name that is not defined below fails the render instead of printing
nothing. All strings are raw values (log values included); the templates autoescape them. Numbers are kept as
numbers and formatted by the template filters, so the CSV/JSON exports and the report never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kanalytics.vocabulary import SEVERITY_ORDER


@dataclass(frozen=True)
class Cell:
    """One table cell: `text` as displayed, `numeric` for right alignment, `title` for a hover tooltip,
    `nowrap` for values that must not break (timestamps)."""

    text: str
    numeric: bool = False
    title: str = ""
    nowrap: bool = False


@dataclass
class Table:
    """A small table shown as it is: the result of a metric query, already formatted and capped.

    `columns` are headings; `rows` hold formatted cells; `total_rows` is how many rows the source had, so the
    template can say "showing 50 of 312" instead of truncating silently.
    """

    columns: list[str]
    rows: list[list[Cell]]
    total_rows: int
    caption: str = ""

    @property
    def hidden_rows(self) -> int:
        return self.total_rows - len(self.rows)


@dataclass
class Cover:
    """The first page: what the report covers and what it was computed from (DESIGN.md "Reports")."""

    organisation: str
    title: str  # e.g. "Kubernetes audit log review: October 2026"
    clusters: list[str]  # clusters in scope (all clusters of the archive when none were chosen)
    period_label: str  # e.g. "1 October 2026 – 31 October 2026"
    period_start: str  # ISO instant in the configured time zone
    period_end: str  # ISO instant (exclusive)
    period_start_utc: str
    period_end_utc: str
    timezone: str  # IANA name
    generated_at: str  # ISO instant (UTC)
    kanalytics_version: str
    catalog_version: str
    manifest_seq: int | None  # the archive checkpoint the report was computed from
    manifest_sha256: str | None
    archive: str  # archive root as given


@dataclass
class Delta:
    """A figure of this period with the previous period's value; `previous` is None when it had no data."""

    label: str
    current: int
    previous: int | None
    missing: str = "no data for the previous period"  # why `previous` is None, as the reader sees it

    @property
    def change(self) -> int | None:
        return None if self.previous is None else self.current - self.previous

    @property
    def arrow(self) -> str:
        """▲ up, ▼ down, ● unchanged, – no comparison (never a fake zero: Prowler #7989)."""
        change = self.change
        if change is None:
            return "–"
        return "▲" if change > 0 else "▼" if change < 0 else "●"

    @property
    def signed(self) -> str:
        """The change as a signed count ("+1,204", "−3", "0"), "—" without a comparison."""
        change = self.change
        if change is None:
            return "—"
        return f"+{change:,}" if change > 0 else f"−{-change:,}" if change < 0 else "0"

    @property
    def percent(self) -> str:
        if self.previous is None:
            return self.missing
        if self.previous == 0:
            return "new" if self.current else "unchanged"
        return f"{(self.current - self.previous) / self.previous:+.0%}"


@dataclass
class Highlight:
    """One of the "look at these first" items of the executive summary."""

    severity: str  # a severity name, or "coverage" for a gap in the data
    title: str
    detail: str
    anchor: str  # id of the report section holding the evidence


@dataclass
class ExecutiveSummary:
    events: Delta
    identities: Delta
    denied: Delta
    findings: Delta
    by_severity: list[Delta]  # findings per severity, most severe first
    identity_types: Table  # events / identities per identity type
    highlights: list[Highlight]  # what limits the evidence (gaps, configuration, baseline, audit level)
    previous_label: str  # the comparison period in words
    empty: bool  # no events at all in the period
    # findings to review (non-info) and how many of them carry an analyst's disposition ("45 of 47 reviewed")
    to_review: int = 0
    reviewed: int = 0
    inventory: int = 0  # info-severity findings: recorded activity, counted in the inventory, not to review


@dataclass
class QueryStatus:
    """How one catalog query fared: ok, not evaluable or needs configuration (with why) or error; `rows` =
    findings to review or rows, `recurring` = its findings shown as recurring behaviour instead."""

    id: str
    title: str
    kind: str
    area: str
    severity: str
    needs_level: str
    status: str  # "ok" | "not-evaluable" | "needs-configuration" | "superseded" | "error"
    reason: str
    rows: int
    version: str
    seconds: float
    controls: list[str]
    description: str
    lists: list[str] = field(default_factory=list)  # configuration keys it needs (needs_config), as typed
    recurring: int = 0


@dataclass
class Coverage:
    days_total: int  # days in the period
    days_without_events: list[str]  # "2026-10-14 (prod)" per cluster and day
    gap_hours: Table  # hours with no events or far fewer than usual
    gap_hour_count: int
    levels: Table  # audit levels and stages seen
    levels_seen: list[str]
    not_evaluable: list[QueryStatus]  # never shown as pass
    errors: list[QueryStatus]
    # checks that wait for a list you have not set (default profile), each with the list and the command
    needs_configuration: list[QueryStatus]
    superseded: list[QueryStatus]  # Falco-parity checks the default profile replaces with native ones
    tune_command: str  # the `kanalytics tune` command that proposes those lists ("" when none waits)
    # What anomalies were judged against, in words: "first month: no baseline (...)" or "judged against 30
    # baseline days"; `first_month` when no cluster of the period had a baseline at all.
    baseline: str
    first_month: bool
    # queries that ran, but some resource they read was logged below their needs_level (policy coverage)
    partly_blind: list[tuple[QueryStatus, str]]
    integrity: str  # what was verified before rendering, whether it held and how long it took (`Integrity`)
    integrity_ok: bool | None
    statement: str  # one plain sentence: complete, partial or empty


@dataclass
class FindingRow:
    """One finding's evidence as displayed (UTC timestamp, all log values raw: the template escapes)."""

    ts: str
    cluster: str
    user_name: str
    source_ip: str
    verb: str
    target: str  # resource namespace/name
    summary: str
    audit_id: str
    extra: str  # score/baseline for anomalies and further evidence columns, "k=v; ..."
    also: list[str] = field(default_factory=list)  # other checks that raised the same event (ids)
    incident: str = ""  # anchor of the incident the finding belongs to ("" for info and recurring findings)
    incident_rank: int = 0
    finding_id: str = ""  # kanalytics.catalog.findings.finding_id: what `kanalytics triage set` takes
    verdict: str = (
        ""  # the analyst's verdict (benign | true-positive | needs-follow-up), "" when not reviewed
    )
    review: str = ""  # Disposition.text(): "benign, reviewed by alice on 2026-11-03: known maintenance"


@dataclass
class FindingGroup:
    """All findings of one query, most severe groups first; rows are capped (see `shown`/`hidden`).

    `rows` leave out events already shown under a more severe check (`elsewhere` counts them), so each event
    appears once in the evidence sections; findings.csv/json keep every finding of every check.
    """

    query_id: str
    title: str
    severity: str
    kind: str
    area: str
    description: str
    count: int
    rows: list[FindingRow]  # the first rows, up to the HTML cap
    controls: list[str]
    mitre: list[str]
    references: list[str]
    elsewhere: int = 0  # findings whose event is shown under a more severe check
    first_summary: str = ""  # the summary of the check's first finding (for the executive summary)
    triage: str = ""  # the query header's `triage:` (what to check)
    remediation: str = ""  # the query header's `remediation:` (what to do if confirmed)
    reviewed: int = 0  # findings of this check with a disposition

    def shown(self, cap: int) -> list[FindingRow]:
        return self.rows[:cap]

    def hidden(self, cap: int) -> int:
        """Findings of this check shown nowhere in this medium (neither here nor under another check)."""
        return self.count - self.elsewhere - len(self.shown(cap))


@dataclass
class InventoryRow:
    """An info-severity check counted rather than listed (its rows are in findings.csv)."""

    query_id: str
    title: str
    area: str
    count: int
    identities: int  # distinct identities among its findings
    first: str  # UTC timestamps
    last: str


@dataclass
class ControlRow:
    """One control of a framework and what this period's logs say about it (kanalytics.report.controls)."""

    control: str  # the framework's own id
    title: str
    automation: str  # automated | partial | manual
    # "exceptions": non-info findings to review; "evidenced": the checks ran and found nothing to review (their
    # inventory counts are evidence that the activity was recorded); "not evaluable": no check could run (see
    # `reason`); "manual": audit logs cannot evidence it, or no check maps to it
    status: str
    exceptions: int  # non-info findings of the checks behind it (the review queue)
    reviewed: int  # of those, findings with an analyst's disposition
    inventory: int  # info-severity findings: activity recorded, not failures
    queries: list[str]  # query ids behind the control (computed from the headers)
    note: str
    reason: str = ""  # why not evaluable (the checks' reasons)
    first_exception: str = ""  # anchor ("q-<query id>") of the most severe check with exceptions
    anchor: str = ""  # id of the control's entry in the appendix "Checks behind each control"
    checks: list[ControlCheck] = field(default_factory=list)  # `queries` with title and run status

    @property
    def not_run(self) -> int:
        """Checks behind the control that did not run (not evaluable, needs configuration, superseded, error):
        an evidenced control with some is evidenced by the others only."""
        return sum(1 for c in self.checks if c.status != "ok")


@dataclass
class FrameworkTable:
    id: str
    title: str
    rows: list[ControlRow]
    counts: dict[str, int]  # status -> number of controls


@dataclass
class AreaSection:
    """One review area of audit-log practice: its metric tables, charts and the detections behind it."""

    id: str  # the area's name (kanalytics.vocabulary.Area), also the HTML anchor
    title: str
    intro: str
    charts: list[Chart]
    tables: list[tuple[str, Table]]  # (metric title, table)
    queries: list[QueryStatus]  # detections and anomalies of the area with their outcome
    findings: int
    note: str = ""  # one plain sentence on how the area was judged (the anomalies' baseline)


@dataclass(frozen=True)
class Chart:
    """A chart rendered by matplotlib to SVG, embedded as a data: URI (no |safe anywhere)."""

    title: str
    data_uri: str
    alt: str  # a text summary for screen readers and the PDF text layer


@dataclass
class SuppressionRow:
    query_id: str
    list_name: str
    value: str
    reason: str
    count: int


@dataclass
class RecurringRow:
    """Findings of one query and identity whose pattern recurred on most baseline days: shown here with their
    evidence instead of in the review queue (never hidden; findings.csv/json keep them, marked)."""

    query_id: str
    severity: str
    cluster: str
    user_name: str
    key: str  # the query's pattern keys, "namespace=kube-system"
    evidence: str  # "seen on 24 of 30 baseline days (2026-09-02 to 2026-09-30)"
    count: int


@dataclass
class Retention:
    available: bool
    oldest_date: str
    newest_date: str
    policy: str
    floor_days: str
    holds: list[dict[str, Any]]
    deletions: list[dict[str, Any]]
    verification: str  # the integrity statement (`Integrity.statement`)


@dataclass
class IncidentView:
    """One ranked incident as displayed (times UTC; every value from the logs raw: the template escapes)."""

    rank: int
    id: str
    severity: str
    title: str
    start: str
    end: str
    identities: list[str]
    source_ips: list[str]
    clusters: list[str]
    tactics: list[str]  # titles, in kill-chain order
    narrative: list[str]
    count: int  # member findings
    checks: list[tuple[str, str]]  # (query id, title) of the checks involved, in time order of first finding
    verdict: str = ""  # the analyst's verdict on the incident, "" when not reviewed
    review: str = ""  # Disposition.text() of the incident's disposition
    reviewed: int = 0  # member findings with a disposition (their own or the incident's)

    @property
    def anchor(self) -> str:
        return self.id  # "inc-" and a hash: already a valid, unique HTML id

    @property
    def severity_rank(self) -> int:
        """A sort key for the severity column (critical highest)."""
        return SEVERITY_ORDER.get(self.severity, 0)


@dataclass
class ReportContext:
    """Everything `base.html.j2` renders. `medium` is "screen" for HTML and "print" for the PDF."""

    cover: Cover
    summary: ExecutiveSummary
    coverage: Coverage
    charts: dict[str, Chart]  # "volume", "denied", "heatmap", "identities", "coverage"
    findings: list[FindingGroup]  # checks above info severity, with evidence rows
    inventory: list[InventoryRow]  # info-severity checks, counted
    finding_total: int  # findings to review (recurring behaviour is counted in `recurring_total`)
    recurring_total: int
    controls: list[FrameworkTable]
    areas: list[AreaSection]
    suppressions: list[SuppressionRow]
    recurring: list[RecurringRow]  # recurring behaviour moved out of the review queue, with its evidence
    retention: Retention
    methodology: list[QueryStatus]  # every query that ran, with its version
    overrides: list[str]  # user query files that replaced built-in ones
    parameters: dict[str, str]  # run parameters as shown in the appendix (also in run.json)
    medium: str = "screen"
    row_cap: int = 200  # evidence rows per finding shown in this medium
    css: str = ""  # report.css, inlined
    notes: list[str] = field(default_factory=list)  # plain warnings shown at the top (e.g. empty period)
    incidents: list[IncidentView] = field(default_factory=list)  # ranked: the review queue, correlated
    incident_window_minutes: int = 120
    integrity: Integrity | None = None  # the verification run before rendering (None: not run)


@dataclass
class ControlCheck:
    """One check behind a control, as the appendix "Checks behind each control" lists it."""

    id: str
    title: str
    status: str  # the query's run status, as QueryStatus.status


@dataclass
class IntegrityRange:
    """Consecutive manifests of the chain with the same verification outcome: all their files (of the dates
    the report read) match, or these problems were found (`problems` capped, `more` not listed)."""

    first: int  # manifest seq
    last: int
    files: int  # data files these manifests committed, of the report's dates, hashed
    problems: list[str] = field(default_factory=list)
    more: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def label(self) -> str:
        return (
            f"manifest #{self.first}" if self.first == self.last else f"manifests #{self.first}–#{self.last}"
        )

    @property
    def text(self) -> str:
        """ "manifests #1–#212: 412 files, all match"; a failing range counts its problems."""
        files = f"{self.files:,} file{'s' if self.files != 1 else ''}"
        if self.ok:
            return (
                f"{self.label}: {files}, all match"
                if self.files
                else f"{self.label}: chain valid, no files of these dates"
            )
        count = len(self.problems) + self.more
        return f"{self.label}: {files}, {count:,} problem{'s' if count != 1 else ''}"


@dataclass
class Integrity:
    """The archive verification run before rendering: the whole manifest chain, and the data files of the
    dates the report read (period and baseline window) hashed; per manifest range, and how long it took."""

    ok: bool
    seconds: float
    files_hashed: int
    bytes_hashed: int
    dates: str  # "2026-09-01 to 2026-10-31": the UTC dates whose files were hashed
    statement: str  # one sentence (kanalytics.archive.verify.VerifyReport.statement)
    ranges: list[IntegrityRange]
    unattributed: list[str] = field(default_factory=list)  # problems tied to no manifest (unexpected files)
    unattributed_more: int = 0

    @property
    def problems(self) -> int:
        listed = sum(len(r.problems) + r.more for r in self.ranges)
        return listed + len(self.unattributed) + self.unattributed_more

    @property
    def timing(self) -> str:
        return (
            f"{self.files_hashed:,} files ({self.bytes_hashed / 1e6:,.1f} MB) hashed in {self.seconds:.2f} s"
        )
