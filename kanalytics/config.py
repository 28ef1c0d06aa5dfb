"""Load and validate `kanalytics.toml`: organisation, time zone, allow-lists, retention and signing settings.

Every section is optional; a missing file means defaults. Unknown keys are errors, so a typo in a suppression
or a retention policy is reported instead of silently ignored. Types are strict: TOML has real integers,
strings and booleans, so `keep_days = true` or `keep_days = "30"` is an error, never 1 or 30.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kanalytics.errors import ConfigError
from kanalytics.vocabulary import Area, Severity

# Every environment variable kanalytics reads is named here and read in this module only, when settings load.
CONFIG_ENV = "KANALYTICS_CONFIG"
SIGNING_KEY_ENV = "KANALYTICS_SIGNING_KEY"
VERIFY_KEY_ENV = "KANALYTICS_VERIFY_KEY"
DUCKDB_MEMORY_ENV = "KANALYTICS_DUCKDB_MEMORY"
ARCHIVE_ENV = "KANALYTICS_ARCHIVE"
DEBUG_ENV = "KANALYTICS_DEBUG"
EVALUATE_ENV = "KANALYTICS_EVALUATE_ON_COMMIT"
# Alert sinks and the Splunk HEC export name their own variables (`url_env`, `token_env`); `read_secret` reads
# them, here and nowhere else.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AllowEntry(_Strict):
    """One allow-listed value and why it is trusted; the reason is shown in the report's suppressions."""

    value: str
    reason: str


class NetworkEntry(_Strict):
    cidr: str
    reason: str

    @field_validator("cidr")
    @classmethod
    def _valid_cidr(cls, value: str) -> str:
        ipaddress.ip_network(value, strict=False)
        return value


class Allowlists(_Strict):
    """Identities, networks and images that detections treat as expected."""

    admin_users: list[AllowEntry] = Field(default_factory=list)
    break_glass_users: list[AllowEntry] = Field(default_factory=list)
    automation_users: list[AllowEntry] = Field(default_factory=list)
    trusted_networks: list[NetworkEntry] = Field(default_factory=list)
    trusted_registries: list[AllowEntry] = Field(default_factory=list)
    # Falco-style per-rule allow-lists: query id -> values of the list that query consults.
    query_lists: dict[str, list[AllowEntry]] = Field(default_factory=dict)


class ClusterRetention(_Strict):
    cluster: str
    keep_days: int = Field(ge=1)


class RetentionPolicy(_Strict):
    """Keep N days (per cluster if set); no policy means nothing is ever deleted."""

    keep_days: int | None = Field(default=None, ge=1)
    floor_days: int | None = Field(default=None, ge=1)
    per_cluster: list[ClusterRetention] = Field(default_factory=list)


class Signing(_Strict):
    private_key_path: str | None = None
    public_key_path: str | None = None


class ReportSettings(_Strict):
    organisation: str = "Example Organisation"
    frameworks: list[str] = Field(
        default_factory=lambda: [
            "pci-dss-4.0",
            "soc2",
            "iso-27001-2022",
            "nist-800-53-r5",
            "cis-k8s",
            "hipaa",
        ]
    )
    pdf_rows_per_finding: int = Field(default=20, ge=1)


class BaselineSettings(_Strict):
    """How the period is judged against the days before it (recurring behaviour, anomalies)."""

    # The baseline window: this many days before the period.
    days: int = Field(default=30, ge=1, le=366)
    # A medium/low finding whose pattern was also found on at least this share of the baseline days that have
    # events (and on at least `min_days` days) is recurring behaviour, not a new finding to review.
    recurring_share: float = Field(default=0.5, gt=0, le=1)
    min_days: int = Field(default=3, ge=1)


class IncidentSettings(_Strict):
    """How findings are correlated into incidents (docs/incidents.md)."""

    # Findings that share an identity, a public address, an object or a credential chain are linked when at
    # most this many minutes apart (single linkage: each to its nearest linked neighbour).
    window_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)


class EvaluationSettings(_Strict):
    """Evaluation at commit (docs/evaluation.md): the catalog's results kept under the archive's _findings/."""

    # Evaluate what each ingest (and each webhook flush) commits right after the commit. Off: results are
    # computed when `findings` or `report` first reads the period (the same results, later).
    on_commit: bool = True


class Secret(_Strict):
    """Where a secret (a bearer token, a Slack webhook URL) is read from: a file or an environment variable.

    The value is read when it is used (`read_secret`), never stored in settings, and never printed."""

    file: str | None = None
    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


SinkType = Literal["webhook", "alertmanager", "slack"]


class AlertSink(_Strict):
    """One destination of alerts (docs/alerts.md)."""

    name: str
    # webhook: a Falcosidekick-shaped JSON POST; alertmanager: Alertmanager v2 POST /api/v2/alerts; slack: an
    # incoming webhook (its URL is the secret: give `url_secret`, not `url`).
    type: SinkType
    url: str | None = None
    url_secret: Secret | None = None
    # Sent as `Authorization: Bearer <token>` (webhook, alertmanager).
    token: Secret | None = None
    min_severity: Severity = "high"
    # Only these query ids / review areas (empty: all).
    queries: list[str] = Field(default_factory=list)
    areas: list[Area] = Field(default_factory=list)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # A delivery still failing (5xx, 429, network) this long after the alert was made is given up (dead letter).
    give_up_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    # Extra tags (webhook `tags`) / labels (alertmanager) sent with every alert of this sink.
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", value):
            raise ValueError(
                f"{value!r}: a sink name is lowercase letters, digits, '-' and '_' (e.g. oncall)"
            )
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _one_address(self) -> AlertSink:
        if (self.url is None) == (self.url_secret is None):
            raise ValueError(f"sink {self.name!r}: give exactly one of `url` or `url_secret`")
        if self.type == "slack" and self.url is not None:
            raise ValueError(
                f"sink {self.name!r}: a Slack webhook URL is a secret; give it as url_secret = {{ env = ... }} "
                "or { file = ... }"
            )
        return self


class AlertSettings(_Strict):
    """When findings become alerts and where they go (docs/alerts.md)."""

    sinks: list[AlertSink] = Field(default_factory=list)
    # An alert is keyed by (query, cluster, the query's `dedup_by` values, default the identity); findings of the
    # same key within this many minutes of the alert's first finding update its count instead of firing again.
    window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    # "finding": each new finding (deduplicated as above) is an alert; "incident": an incident (findings linked by
    # identity, address, object or credential chain, docs/incidents.md) is, keyed by its first finding.
    unit: Literal["finding", "incident"] = "finding"
    # Findings whose event is older than this when committed are recorded but do not alert (a backfill of last
    # month's logs must not page anyone).
    max_age_minutes: int = Field(default=24 * 60, ge=1)
    # A link back for the on-call (Alertmanager `generatorURL`, the Slack message): e.g. your Grafana dashboard.
    link: str | None = None

    @field_validator("sinks")
    @classmethod
    def _unique_names(cls, sinks: list[AlertSink]) -> list[AlertSink]:
        names = [sink.name for sink in sinks]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"sink names must be unique: {', '.join(twice)}")
        return sinks


class HecSettings(_Strict):
    """Splunk HTTP Event Collector: the fields of each event and, optionally, where to deliver them."""

    sourcetype: str = "kube:apiserver-audit"  # Splunk's Kubernetes collectors' (docs/exports/splunk.md)
    source: str = "kanalytics"
    index: str | None = None
    host: str | None = None  # default: the event's cluster
    url: str | None = None  # e.g. https://splunk.example.com:8088 (the collector path is added)
    token: Secret | None = None
    batch_events: int = Field(default=500, ge=1, le=100_000)
    batch_bytes: int = Field(default=1_000_000, ge=1024, le=100_000_000)


class ExportSettings(_Strict):
    splunk_hec: HecSettings = Field(default_factory=HecSettings)


class Settings(_Strict):
    timezone: str = "UTC"
    # "default": rules whose meaning depends on a list you have not configured stay quiet until it exists,
    # Falco ports that native queries cover (`superseded_by`) do not run, and recurring medium/low behaviour
    # is judged against the baseline. "falco": Falco's exact semantics (its
    # built-in lists, every rule on, no baseline judgement), what the Falco conformance test runs.
    profile: Literal["default", "falco"] = "default"
    baseline: BaselineSettings = Field(default_factory=BaselineSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    exports: ExportSettings = Field(default_factory=ExportSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    allowlists: Allowlists = Field(default_factory=Allowlists)
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy)
    signing: Signing = Field(default_factory=Signing)
    query_paths: list[str] = Field(default_factory=list)
    # DuckDB's memory limit for every read connection (its default, 80% of RAM, is far too much).
    duckdb_memory: str = "1GB"
    # Where these settings were read from (set by the loader, not a key of the file).
    source: str | None = Field(default=None, exclude=True)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(path: str | Path | None = None) -> Settings:
    """Read settings from `path`, else `$KANALYTICS_CONFIG`, else `./kanalytics.toml` if present, else defaults.

    The environment is applied here and nowhere else: `$KANALYTICS_SIGNING_KEY` and `$KANALYTICS_VERIFY_KEY`
    replace `[signing] private_key_path` / `public_key_path`, `$KANALYTICS_DUCKDB_MEMORY` replaces
    `duckdb_memory`, `$KANALYTICS_EVALUATE_ON_COMMIT` (0/1) replaces `[evaluation] on_commit`. A `Settings`
    built in code is used exactly as built.
    """
    return with_environment(_load_file(path))


def with_environment(settings: Settings) -> Settings:
    """`settings` with the environment's overrides (signing keys, DuckDB memory) applied."""
    signing: dict[str, Any] = {}
    if os.environ.get(SIGNING_KEY_ENV):
        signing["private_key_path"] = os.environ[SIGNING_KEY_ENV]
    if os.environ.get(VERIFY_KEY_ENV):
        signing["public_key_path"] = os.environ[VERIFY_KEY_ENV]
    update: dict[str, Any] = {}
    if signing:
        update["signing"] = settings.signing.model_copy(update=signing)
    if os.environ.get(DUCKDB_MEMORY_ENV):
        update["duckdb_memory"] = os.environ[DUCKDB_MEMORY_ENV]
    evaluate = os.environ.get(EVALUATE_ENV, "").strip().lower()
    if evaluate:
        if evaluate not in ("0", "1", "true", "false"):
            raise ConfigError(
                f"${EVALUATE_ENV} is {evaluate!r}",
                hint="set it to 1 (evaluate each commit) or 0 (evaluate when the period is first read)",
            )
        on = evaluate in ("1", "true")
        update["evaluation"] = settings.evaluation.model_copy(update={"on_commit": on})
    return settings.model_copy(update=update) if update else settings


def read_secret(secret: Secret, what: str) -> str:
    """The value of `secret` (a file's content or an environment variable's, stripped); `what` names it in errors
    ("sink 'oncall' token"). The value itself never appears in an error."""
    if (secret.file is None) == (secret.env is None):
        raise ConfigError(f"{what}: give exactly one of `file` or `env`")
    if secret.file is not None:
        try:
            value = Path(secret.file).expanduser().read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{what}: cannot read {secret.file}: {type(exc).__name__}") from None
        source = secret.file
    else:
        assert secret.env is not None
        if secret.env not in os.environ:
            raise ConfigError(f"{what}: ${secret.env} is not set", hint="export it where kanalytics runs")
        value = os.environ[secret.env].strip()
        source = f"${secret.env}"
    if not value:
        raise ConfigError(f"{what}: {source} is empty", hint="put the token or URL there (one line)")
    return value


def archive_from_environment() -> str | None:
    """`$KANALYTICS_ARCHIVE`, the archive commands use when `--archive` is not given."""
    return os.environ.get(ARCHIVE_ENV) or None


def debug_enabled() -> bool:
    """`KANALYTICS_DEBUG=1`: the CLI re-raises errors with their traceback."""
    return os.environ.get(DEBUG_ENV) == "1"


def _load_file(path: str | Path | None) -> Settings:
    candidate: Path | None
    if path is not None:
        candidate = Path(path)
        if not candidate.is_file():
            raise ConfigError(f"configuration file not found: {candidate}")
    elif os.environ.get(CONFIG_ENV):
        candidate = Path(os.environ[CONFIG_ENV])
        if not candidate.is_file():
            raise ConfigError(f"{CONFIG_ENV} points at a missing file: {candidate}")
    else:
        candidate = Path("kanalytics.toml") if Path("kanalytics.toml").is_file() else None
    if candidate is None:
        return Settings()
    try:
        raw: dict[str, Any] = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{candidate}: cannot read configuration: {exc}") from exc
    return parse_settings(raw, origin=str(candidate))


def parse_settings(raw: dict[str, Any], origin: str = "<config>") -> Settings:
    if "source" in raw:
        raise ConfigError(f"{origin}: invalid configuration: source: unknown key")
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors(include_url=False))
        raise ConfigError(f"{origin}: invalid configuration: {problems}") from None
    return settings.model_copy(update={"source": origin})


# pydantic error type -> the TOML type the key needs, for "expected an integer, got a string".
_EXPECTED = {
    "int_type": "an integer",
    "string_type": "a string",
    "bool_type": "a boolean",
    "float_type": "a number",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
}


def _problem(err: Any) -> str:
    key = ".".join(str(p) for p in err["loc"])
    expected = _EXPECTED.get(err["type"])
    if expected is None:
        return f"{key}: {err['msg']}"
    return f"{key}: expected {expected}, got {_toml_value(err['input'])}"


def _toml_value(value: Any) -> str:
    """How a value reads in TOML, with its type: `a boolean (true)`, `a string ("30")`."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a float ({value})"
    if isinstance(value, str):
        return f"a string ({json.dumps(value)})" if len(value) <= 40 else "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"  # dates and times: TOML has them too
