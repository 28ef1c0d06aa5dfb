"""Sigma rule files -> catalog detection queries (`<out>/detections/sigma-<slug>.sql`), each checked the way
the catalog will read it before it is written.

A rule becomes a detection over `events`: the finding columns every detection returns, the period bound by
`$period_start`/`$period_end`, one finding per request (`ONE_PER_REQUEST`, which makes it a `scope: day` query;
a rule that names `stage` itself reads single rows and is `scope: event`), the per-query allow-list, and the
rule's condition from `ArchiveBackend`.
A rule that cannot be expressed is skipped with the reason; a file that cannot be read or parsed is failed.
Nothing invalid is written: each file's header is validated by the catalog loader, and its SQL is run once
over an empty `events` relation, so a converted folder always loads as a `query_paths` entry.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kanalytics.catalog.headers import canonical_text
from kanalytics.catalog.loader import load_catalog
from kanalytics.errors import QueryError
from kanalytics.vocabulary import LEVEL_ORDER, Area, Severity

if TYPE_CHECKING:
    from sigma.correlations import SigmaCorrelationRule
    from sigma.rule import SigmaRule

    from kanalytics.catalog.runner import Session
    from kanalytics.sigma.backend import ArchiveBackend

DETECTIONS = "detections"
ID_PREFIX = "sigma-"
MAX_RULE_BYTES = 1 << 20  # a Sigma rule is a few KB; anything this large is not one
MAX_RULE_FILES = 10_000
MAX_SLUG = 60
SEVERITY_OF_LEVEL: dict[str, Severity] = {
    "informational": "info",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}
DEFAULT_SEVERITY: Severity = "medium"  # a rule without `level`
# The review area of a converted rule: the first whose pattern its title, else its tags, else its description
# matches; "activity" when none does.
_AREA_WORDS: tuple[tuple[Area, str], ...] = (
    ("failed-access", r"unauthori[sz]ed|forbidden|\bdenied|\b40[13]\b|failed (login|auth)"),
    ("secrets", r"\bsecret"),
    ("rbac", r"\brbac|\brole|\bbinding|\bpermission"),
    ("exec", r"\bexec\b|\bexecution in|\battach|port-?forward|impersonat|remote command"),
    ("privileged-workloads", r"privileged|hostpath|host path|capabilit|hostnetwork|hostpid|breakout|escape"),
    ("anonymous", r"anonymous|unauthenticated"),
    ("configuration", r"admission|webhook|configmap|configuration"),
)
AREA_PATTERNS: tuple[tuple[Area, re.Pattern[str]], ...] = tuple((a, re.compile(p)) for a, p in _AREA_WORDS)
DEFAULT_AREA: Area = "activity"
# One finding per request, whatever stages the audit policy logs: of the request's stages that match (never
# RequestReceived, which carries no response), the ResponseComplete one, else the latest. A streaming request
# (exec, attach, port-forward, watch) is logged at ResponseStarted and only at ResponseComplete when it ends,
# so requiring ResponseComplete would miss a session still open (or logged at ResponseStarted only). A
# request is its auditID with its receipt time, user and URI: clients choose the auditID (see
# queries/views/pod_exec_sessions.sql, which counts sessions the same way).
RESPONSE_STAGES = "stage IN ('ResponseStarted', 'ResponseComplete', 'Panic')"
ONE_PER_REQUEST = """QUALIFY row_number() OVER (
    PARTITION BY cluster, audit_id, request_ts, user_name, request_uri
    ORDER BY stage = 'ResponseComplete' DESC, stage_ts DESC, event_hash) = 1"""
_BIND_START = datetime(2000, 1, 1, tzinfo=UTC)
_BIND_END = datetime(2000, 1, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Written:
    path: Path
    rule_id: str
    query_id: str
    title: str


@dataclass(frozen=True)
class Skipped:
    """A rule not converted (`rule_id` set), or a file not read (`rule_id` None), with the reason."""

    file: Path
    reason: str
    rule_id: str | None = None
    title: str | None = None


@dataclass
class Conversion:
    written: list[Written] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # rules that cannot be expressed as a query
    failed: list[Skipped] = field(default_factory=list)  # rule files that cannot be read or parsed

    def to_json(self) -> dict[str, Any]:
        return {
            "written": [
                {"path": str(w.path), "rule_id": w.rule_id, "query_id": w.query_id, "title": w.title}
                for w in self.written
            ],
            "skipped": [
                {"file": str(s.file), "rule_id": s.rule_id, "title": s.title, "reason": s.reason}
                for s in self.skipped
            ],
            "failed": [
                {"file": str(s.file), "rule_id": s.rule_id, "title": s.title, "reason": s.reason}
                for s in self.failed
            ],
        }


def convert_rules(paths: Sequence[Path], out: Path) -> Conversion:
    """Convert every Sigma rule in `paths` (files, or folders searched recursively for *.yml / *.yaml) into
    `<out>/detections/sigma-<slug>.sql`; what cannot be converted or read is listed with the reason."""
    import yaml
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError

    from kanalytics.sigma.backend import ArchiveBackend

    result = Conversion()
    backend = ArchiveBackend()
    taken: set[str] = set()
    with _Checker() as checker:
        for path in _rule_files(paths, result.failed):
            text = _read_rule(path, result.failed)
            if text is None:
                continue
            try:
                # Correlations are never converted, so the rules they name (maybe in other files) are not
                # looked up; each rule of a file converts on its own.
                rules = SigmaCollection.from_yaml(text, collect_errors=True, resolve_references=False).rules
            # pySigma collects rule errors (below), but a document of the wrong shape (a list or a string
            # where a rule mapping belongs) surfaces as the Python error of the code that read it.
            except (SigmaError, yaml.YAMLError, ValueError, TypeError, AttributeError, KeyError) as exc:
                result.failed.append(Skipped(path, f"not a Sigma rule file: {_one_line(exc)}"))
                continue
            for rule in rules:
                _convert_one(rule, path, out, backend, checker, taken, result)
    return result


def _convert_one(
    rule: SigmaRule | SigmaCorrelationRule,
    path: Path,
    out: Path,
    backend: ArchiveBackend,
    checker: _Checker,
    taken: set[str],
    result: Conversion,
) -> None:
    """Convert one rule of `path` into `out`, or record why not."""
    from sigma.correlations import SigmaCorrelationRule
    from sigma.exceptions import SigmaError

    rule_id = str(rule.id) if rule.id else None
    title = rule.title or None
    if rule.errors:
        _rule_errors(result, path, rule.errors, rule_id, title)
        return
    if isinstance(rule, SigmaCorrelationRule):
        reason = (
            "correlation rules (event_count, value_count, temporal) aggregate over many events; an "
            "a per-event condition cannot express them: write a query by hand"
        )
        result.skipped.append(Skipped(path, reason, rule_id, title))
        return
    backend.columns_used.clear()
    try:
        conditions = backend.convert_rule(rule)
    except (SigmaError, NotImplementedError) as exc:
        result.skipped.append(Skipped(path, _one_line(exc), rule_id, title))
        return
    if not conditions:
        reason = "the rule produces no query (a rule only referenced by a correlation, generate: false)"
        result.skipped.append(Skipped(path, reason, rule_id, title))
        return
    query_id = _query_id(rule, path, taken)
    text = query_text(rule, query_id, [str(c) for c in conditions], set(backend.columns_used))
    problem = checker.problem(query_id, text)
    if problem:
        result.skipped.append(Skipped(path, problem, rule_id, title))
        return
    target = out / DETECTIONS / f"{query_id}.sql"
    _write(target, text)
    taken.add(query_id)
    result.written.append(Written(target, rule_id or "", query_id, rule.title))


def query_text(rule: SigmaRule, query_id: str, conditions: list[str], columns: set[str]) -> str:
    """The whole query file for `rule`: canonical header and SQL."""
    from kanalytics.sigma.backend import sql_string
    from kanalytics.sigma.pipeline import COLUMNS

    rule_id = str(rule.id) if rule.id else None
    header: dict[str, Any] = {
        "id": query_id,
        "title": rule.title,
        "kind": "detection",
        "severity": SEVERITY_OF_LEVEL.get(str(rule.level).lower(), DEFAULT_SEVERITY)
        if rule.level
        else DEFAULT_SEVERITY,
        "needs_level": max(
            (COLUMNS[c].needs_level for c in columns), key=LEVEL_ORDER.__getitem__, default="Metadata"
        ),
        "area": _area(rule),
        "references": [f"sigma:{rule_id or rule.title}"],
        "mitre": _techniques(rule),
        "tags": ["sigma"],
        # One finding per request merges the stages of a request (a window over events), so the findings of a
        # set of files are not the union of each file's: the query is judged per UTC day (docs/evaluation.md).
        # A rule that names its stages reads single rows: each finding comes from one event.
        "scope": "event" if "stage" in columns else "day",
        "description": _description(rule),
        "triage": _triage(rule),
        "remediation": (
            "Sigma rules carry no response. If it is confirmed, contain the identity (remove its role bindings, "
            "revoke or rotate its token or certificate), undo what the request changed (`verb` on `resource` "
            "`namespace`/`object_name`), then replace this text with your own runbook for the rule. If it was "
            "expected, record it with `kanalytics triage set FINDING_ID --verdict benign --note ... --by ...` "
            "and allow-list the identity under `[allowlists.query_lists]` for this query."
        ),
    }
    condition = conditions[0] if len(conditions) == 1 else " OR ".join(f"({c})" for c in conditions)
    own_stage = "stage" in columns
    stage = "" if own_stage else f"\n  AND {RESPONSE_STAGES}"
    per_request = "" if own_stage else f"\n{ONE_PER_REQUEST}"
    # Every value in `condition` and the title are literals written by sql_string; see backend.py.
    sql = f"""SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_name,
    format('{{}} {{}} {{}} {{}}/{{}}: Sigma rule {{}}', coalesce(user_name, '(unknown user)'), verb,
           coalesce(resource, request_uri), coalesce(namespace, '-'), coalesce(object_name, '-'),
           {sql_string(rule.title)}) AS summary,
    user_agent, response_code, request_uri
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end{stage}
  AND ({condition})
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name]){per_request}
ORDER BY ts, audit_id"""  # noqa: S608 - values are literals (sql_string), the rest is fixed text
    import yaml

    raw = yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=10**6)
    return canonical_text(f"/* ---\n{raw}--- */\n{sql}\n", DETECTIONS)


class _Checker:
    """Checks a query file as the catalog will read it: the loader (header, SQL shape, parameters) over a
    folder holding only that file, then one run over an empty `events` relation (names, types, regexes)."""

    def __enter__(self) -> _Checker:
        self._tmp = tempfile.TemporaryDirectory(prefix="kanalytics-sigma-")
        self.root = Path(self._tmp.name)
        (self.root / DETECTIONS).mkdir()
        self._session: Session | None = None
        return self

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()

    def problem(self, query_id: str, text: str) -> str:
        path = self.root / DETECTIONS / f"{query_id}.sql"
        path.write_text(text, encoding="utf-8")
        try:
            catalog = load_catalog([self.root], include_builtin=False)
        except QueryError as exc:
            return "the converted query is not valid: " + "; ".join(
                line.strip(" -").replace(f"{path}: ", "") for line in exc.message.splitlines()[1:]
            )
        finally:
            path.unlink()
        result = self.session().run(catalog.get(query_id))
        if result.status != "ok":
            return f"the converted query does not run: {_one_line(result.reason)}"
        return ""

    def session(self) -> Session:
        if self._session is None:
            import duckdb

            from kanalytics.archive.reader import empty_events
            from kanalytics.catalog.runner import Session
            from kanalytics.config import Settings

            con = duckdb.connect()
            con.register("events", empty_events())
            self._session = Session(con, _BIND_START, _BIND_END, Settings(), raw=True)
        return self._session


def _rule_errors(
    result: Conversion, path: Path, errors: Sequence[Exception], rule_id: str | None, title: str | None
) -> None:
    """A rule pySigma could not read: skipped when only its regular expressions are beyond RE2 (valid Sigma
    that DuckDB cannot run), failed otherwise (the file is not a valid Sigma rule)."""
    from sigma.exceptions import SigmaRegularExpressionError

    reason = "; ".join(_one_line(e) for e in errors)
    if all(isinstance(e, SigmaRegularExpressionError) for e in errors):
        reason = f"regular expression not supported by RE2, the engine DuckDB runs: {reason}"
        result.skipped.append(Skipped(path, reason, rule_id, title))
    else:
        result.failed.append(Skipped(path, f"not a valid Sigma rule: {reason}", rule_id, title))


def _rule_files(paths: Sequence[Path], failed: list[Skipped]) -> Iterator[Path]:
    """The rule files of `paths` in order (folders recursively, symlinked folders not followed), at most
    MAX_RULE_FILES; a path that does not exist is failed."""
    count = 0
    for path in paths:
        if path.is_dir():
            found: list[Path] = []
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                found.extend(Path(folder) / f for f in sorted(files) if f.endswith((".yml", ".yaml")))
            files_of_path = found
        elif path.exists():
            files_of_path = [path]
        else:
            failed.append(Skipped(path, "no such file or folder"))
            continue
        for file in files_of_path:
            count += 1
            if count > MAX_RULE_FILES:
                failed.append(
                    Skipped(file, f"more than {MAX_RULE_FILES:,} rule files; convert fewer at a time")
                )
                return
            yield file


def _read_rule(path: Path, failed: list[Skipped]) -> str | None:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_RULE_BYTES + 1)
    except OSError as exc:
        failed.append(Skipped(path, f"cannot read: {exc.strerror or exc}"))
        return None
    if len(data) > MAX_RULE_BYTES:
        failed.append(Skipped(path, f"larger than {MAX_RULE_BYTES:,} bytes; not a Sigma rule"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        failed.append(Skipped(path, f"not UTF-8 text: {exc}"))
        return None


def _query_id(rule: SigmaRule, path: Path, taken: set[str]) -> str:
    """`sigma-<slug of the title>` (else of the rule id, else of the file name), unique in this run."""
    base = _slug(rule.title) or _slug(str(rule.id or "")) or _slug(path.stem) or "rule"
    candidate = ID_PREFIX + base
    if candidate in taken and rule.id:
        candidate = f"{ID_PREFIX}{base}-{str(rule.id)[:8]}"
    number = 2
    unique = candidate
    while unique in taken:
        unique, number = f"{candidate}-{number}", number + 1
    return unique


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0] or slug[:MAX_SLUG]
    return slug


def _techniques(rule: SigmaRule) -> list[str]:
    found: list[str] = []
    for tag in rule.tags:
        name = tag.name.lower()
        if (
            tag.namespace == "attack"
            and re.fullmatch(r"t\d{4}(\.\d{3})?", name)
            and name.upper() not in found
        ):
            found.append(name.upper())
    return found


def _area(rule: SigmaRule) -> Area:
    texts = [rule.title, " ".join(f"{t.namespace}.{t.name}" for t in rule.tags), rule.description or ""]
    for text in texts:
        for area, pattern in AREA_PATTERNS:
            if pattern.search(text.lower()):
                return area
    return DEFAULT_AREA


def _description(rule: SigmaRule) -> str:
    """The rule's description, false positives and references, and where the query came from: paragraphs
    of single-spaced text (the canonical header folds them)."""
    paragraphs = [_words(rule.description or rule.title)]
    if rule.falsepositives:
        paragraphs.append(
            "False positives (from the rule): " + "; ".join(_words(f) for f in rule.falsepositives)
        )
    if rule.references:
        paragraphs.append("References: " + " ".join(_words(r) for r in rule.references))
    paragraphs.append(
        f"Converted from Sigma rule {rule.id or rule.title} by kanalytics sigma convert: review it before "
        "relying on it (docs/sigma.md)."
    )
    return "\n".join(p for p in paragraphs if p)


def _triage(rule: SigmaRule) -> str:
    """What to check, from what the rule itself says (its false positives), and the one follow-up every
    converted rule supports: the request's whole record by its auditID."""
    known = "; ".join(_words(f) for f in rule.falsepositives or ()) or "none listed"
    return (
        "Check `user_name`, `source_ip` and the `user_agent` evidence against who is expected to do this. "
        f"False positives the rule names: {known}. {_FOLLOW_UP}"
    )


# Text for an analyst to run, not SQL this module executes.
_FOLLOW_UP = (
    'Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, stage, user_name, source_ips, user_agent, '
    "response_code, request_uri FROM events WHERE audit_id = 'AUDIT_ID'\"` shows the whole request."
)


def _words(text: str) -> str:
    return " ".join(str(text).split())


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split())


def _write(target: Path, text: str) -> None:
    """Write `text` to `target` whole or not at all (a temporary file renamed over it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["Conversion", "Skipped", "Written", "convert_rules", "query_text"]
