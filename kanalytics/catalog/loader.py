"""Find, parse and validate every query file, shared view, shared macro and control catalogue; the only code
that reads `queries/`.

Every problem found is collected and raised together as one `QueryError`, so a broken tree is fixed in one
pass instead of one error at a time.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from kanalytics.catalog.model import (
    Automation,
    Control,
    Framework,
    Macro,
    MacroHeader,
    Proposal,
    ProposalHeader,
    Query,
    QueryHeader,
    View,
    ViewHeader,
)
from kanalytics.catalog.scope import scope_problems
from kanalytics.errors import QueryError, UsageError
from kanalytics.vocabulary import (
    KIND_FOLDERS,  # folder name -> the kind its queries must declare
    SEVERITY_ORDER,
)

if TYPE_CHECKING:
    from kanalytics.config import Settings

CONTROLS_FOLDER = "controls"
# Shared views: named SELECTs over `events` (or other views) that queries select from.
VIEWS_FOLDER = "views"
# Shared macros: DuckDB scalar macros (one expression each) that queries and views call, e.g. identity_type().
MACROS_FOLDER = "macros"
# Names a view may not take: the runner's own relations (the allow-list tables all start with `allow_`).
_RESERVED_VIEW_IDS = frozenset({"events"})
# The named parameters the runner binds (`Session.params_for`); a query naming any other `$name` is refused.
QUERY_PARAMETERS: dict[str, str] = {
    "period_start": "start of the period, inclusive (TIMESTAMPTZ)",
    "period_end": "end of the period, exclusive (TIMESTAMPTZ)",
    "baseline_start": "start of an anomaly's baseline window (TIMESTAMPTZ); the baseline ends at $period_start",
    "timezone": "the configured time zone name, for hour-of-day and day arithmetic",
    "query_id": "the id of the query being run, for the per-query allow-list: allowlisted($query_id, [...])",
}
# The list a `needs_config` entry names (model.ConfigList) -> the allow-list table a query must read for it.
CONFIG_TABLES: dict[str, str] = {
    "query_list": "allow_query_list",
    "admin_users": "allow_admin_users",
    "break_glass_users": "allow_break_glass_users",
    "automation_users": "allow_automation_users",
    "trusted_networks": "allow_trusted_networks",
    "trusted_registries": "allow_trusted_registries",
}
# What a `references:` entry may start with ("<prefix>:<rule or page>"); a typo'd source is an error.
REFERENCE_PREFIXES: dict[str, str] = {
    "catalog": "kanalytics' own query catalogue (docs/queries.md)",
    "falco": "a Falco k8s_audit rule, by its name",
    "sigma": "a Sigma rule, by its title",
    "elastic": "an Elastic detection rule, by its name",
    "panther": "a Panther rule, by its id or name",
    "splunk": "a Splunk security content detection, by its name",
    "guardduty": "an Amazon GuardDuty finding type",
    "datadog": "a Datadog Cloud SIEM rule, by its name",
    "mitre": "a MITRE ATT&CK page (techniques belong in `mitre:`)",
}

_HEADER = re.compile(r"\A\s*/\*\s*---\s*\n(?P<yaml>.*?)\n\s*---\s*\*/(?P<sql>.*)\Z", re.DOTALL)
# Python-format placeholders mean a value was (or will be) pasted into the SQL. DuckDB's own format()
# uses `{}` / `{0}` / `{:d}` inside string literals, so only *named* placeholders and %-style are refused.
_PY_FORMAT = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]*(![rsa])?(:[^{}]*)?\}")
# strftime patterns ('%Y-%m-%d') are legitimate SQL; only DB-API style `%s` / `%(name)s` are refused.
_PERCENT_FORMAT = re.compile(r"%s\b|%\([A-Za-z_][A-Za-z0-9_]*\)[sdr]")
# What is not an identifier reference: string literals, quoted identifiers and comments.
_NOT_NAMES = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_Shared = TypeVar("_Shared", View, Macro)

_Loaded = TypeVar("_Loaded", Query, View, Macro, Proposal)
_Header = TypeVar("_Header", QueryHeader, ViewHeader, MacroHeader, ProposalHeader)


def _read_sql_file(
    path: Path, model: type[_Header], problems: list[str]
) -> tuple[_Header, str, bytes] | None:
    """A catalog file's validated header, its SQL and its bytes (for the version); None, with the problems
    recorded, when it cannot be read or its header is invalid."""
    try:
        data = path.read_bytes()
        raw, sql = split_query_file(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
        problems.append(f"{path}: {exc}")
        return None
    try:
        header = model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(f"{path}: {msg}" for msg in _validation_messages(exc))
        return None
    return header, sql, data


def _id_problems(header_id: str, path: Path) -> list[str]:
    return [] if header_id == path.stem else [f"id {header_id!r} must equal the file name {path.stem!r}"]


@dataclass
class Catalog:
    """Every query and control catalogue, validated; what the runner, report and CLI work from."""

    queries: dict[str, Query]
    frameworks: dict[str, Framework]
    controls: dict[str, Control]
    version: str
    # "<id>: <user file> overrides <built-in file>", shown in the report's methodology appendix.
    overrides: list[str] = field(default_factory=list)
    # Shared views in creation order (dependencies first). Not queries: never listed, reported or mapped.
    views: dict[str, View] = field(default_factory=dict)
    # Shared macros in creation order (a macro after the macros it calls); created before the views.
    macros: dict[str, Macro] = field(default_factory=dict)

    def get(self, query_id: str) -> Query:
        """The query `query_id`, or a UsageError naming close matches."""
        try:
            return self.queries[query_id]
        except KeyError:
            close = difflib.get_close_matches(query_id, list(self.queries), n=5, cutoff=0.5)
            hint = f"did you mean: {', '.join(close)}" if close else "list them with: kanalytics query list"
            raise UsageError(f"unknown query id {query_id!r}", hint=hint) from None

    def queries_for_control(self, control_id: str) -> list[Query]:
        """Queries whose header names `control_id` ("<framework>:<id>"); computed, never hand-written."""
        return [q for q in self.queries.values() if control_id in q.header.controls]

    def control_index(self) -> dict[str, list[str]]:
        """Control id -> ids of the queries that evidence it (every catalogued control, possibly empty)."""
        index: dict[str, list[str]] = {cid: [] for cid in self.controls}
        for query in sorted(self.queries.values(), key=lambda q: q.id):
            for cid in query.header.controls:
                index.setdefault(cid, []).append(query.id)
        return index

    def by_kind(self, kind: str) -> list[Query]:
        return sorted((q for q in self.queries.values() if q.header.kind == kind), key=lambda q: q.id)

    def views_used_by(self, query: Query) -> list[str]:
        """Ids of the views `query` selects from directly, in creation order."""
        return [v for v in self.views if v in referenced_names(query.sql)]

    def names_read(self, sql: str) -> set[str]:
        """Names `sql` refers to, including through the views it selects from and the macros it calls."""
        return names_read(sql, shared_sql(self.macros.values(), self.views.values()))


class _ControlEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    automation: Automation
    note: str = ""

    @model_validator(mode="after")
    def _note_unless_automated(self) -> _ControlEntry:
        if self.automation != "automated" and not self.note.strip():
            raise ValueError(f"control {self.id}: a {self.automation} control needs a note saying why")
        return self


class _FrameworkFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    framework: str
    title: str
    # Entries are validated one by one so one bad control does not hide the others' problems.
    controls: list[dict[str, Any]]


def builtin_query_dir() -> Path | None:
    """The packaged queries (installed wheel) or, in a source checkout, `<repo>/queries`."""
    try:
        from importlib.resources import files

        packaged = Path(str(files("kanalytics") / "_data" / "queries"))
        if packaged.is_dir():
            return packaged
    except (ModuleNotFoundError, TypeError):  # a namespace or zip import without a real folder
        pass
    checkout = Path(__file__).resolve().parents[2] / "queries"
    return checkout if checkout.is_dir() else None


def load_catalog(
    extra_paths: Sequence[str | Path] = (), *, settings: Settings | None = None, include_builtin: bool = True
) -> Catalog:
    """Load the built-in catalog plus `extra_paths` and `settings.query_paths` (later roots override)."""
    problems: list[str] = []
    return _load_roots(_roots(extra_paths, settings, include_builtin, problems), problems)


def load_views(
    extra_paths: Sequence[str | Path] = (), *, settings: Settings | None = None, include_builtin: bool = True
) -> dict[str, View]:
    """Only the shared views (creation order) of the roots `load_catalog` would read."""
    return load_shared_sql(extra_paths, settings=settings, include_builtin=include_builtin)[1]


def load_shared_sql(
    extra_paths: Sequence[str | Path] = (), *, settings: Settings | None = None, include_builtin: bool = True
) -> tuple[dict[str, Macro], dict[str, View]]:
    """The shared macros and views (each in creation order) of the roots `load_catalog` would read; for callers
    that build a `Session` without a catalog (benchmarks, tests)."""
    problems: list[str] = []
    roots = _roots(extra_paths, settings, include_builtin, problems)
    overrides: list[str] = []
    macros = _load_macros(roots, problems, overrides)
    views = _load_views(roots, problems, overrides, macros)
    _raise_problems(problems)
    return macros, views


def shared_sql(macros: Iterable[Macro], views: Iterable[View]) -> dict[str, str]:
    """Id -> SQL of every shared macro and view: what `names_read` follows."""
    return {**{m.id: m.sql for m in macros}, **{v.id: v.sql for v in views}}


def names_read(sql: str, shared: Mapping[str, str]) -> set[str]:
    """Names `sql` refers to, including through the shared views and macros (`shared`: id -> SQL) it uses."""
    names: set[str] = set()
    pending = [sql]
    while pending:
        found = referenced_names(pending.pop()) - names
        names |= found
        pending += [shared[n] for n in found if n in shared]
    return names


def _roots(
    extra_paths: Sequence[str | Path], settings: Settings | None, include_builtin: bool, problems: list[str]
) -> list[Path]:
    roots: list[Path] = []
    builtin = builtin_query_dir() if include_builtin else None
    if builtin is not None:
        roots.append(builtin)
    user_roots = [Path(p) for p in (*(settings.query_paths if settings else ()), *extra_paths)]
    for root in user_roots:
        if not root.is_dir():
            problems.append(f"{root}: query folder does not exist")
    return roots + [r for r in user_roots if r.is_dir()]


def _raise_problems(problems: list[str]) -> None:
    if problems:
        raise QueryError(
            f"{len(problems)} problem(s) in the query catalog:\n" + "\n".join(f"  - {p}" for p in problems),
            hint="fix every file listed; query headers are described in DESIGN.md 'Queries'",
        )


def _load_roots(roots: list[Path], problems: list[str]) -> Catalog:
    frameworks: dict[str, Framework] = {}
    framework_files: dict[str, Path] = {}
    overrides: list[str] = []
    for root in roots:
        for path in sorted((root / CONTROLS_FOLDER).glob("*.yaml")):
            framework = _load_framework(path, problems)
            if framework is None:
                continue
            if framework.id in framework_files:
                if framework_files[framework.id].parent.parent == root:
                    problems.append(
                        f"{path}: framework {framework.id!r} also defined in {framework_files[framework.id]}"
                    )
                    continue
                overrides.append(
                    f"framework {framework.id}: {path} overrides {framework_files[framework.id]}"
                )
            frameworks[framework.id] = framework
            framework_files[framework.id] = path
    controls = {c.id: c for fw in frameworks.values() for c in fw.controls}

    # A user folder may replace a built-in query on purpose; the report lists it.
    queries = _merge_by_id(
        [[p for folder in KIND_FOLDERS for p in sorted((root / folder).glob("*.sql"))] for root in roots],
        lambda path: _load_query(path, KIND_FOLDERS[path.parent.name], controls, problems),
        "query",
        problems,
        overrides,
    )
    macros = _load_macros(roots, problems, overrides)
    views = _load_views(roots, problems, overrides, macros)
    problems.extend(needs_config_problems(queries.values(), shared_sql(macros.values(), views.values())))
    problems.extend(superseded_problems(queries))
    shared = shared_sql(macros.values(), views.values())
    views_read = {qid: names_read(q.sql, shared) & set(views) for qid, q in queries.items()}
    problems.extend(scope_problems(queries.values(), {v: views[v].sql for v in views}, views_read))
    _raise_problems(problems)
    digest = hashlib.sha256()
    for qid in sorted(queries):
        digest.update(f"{qid}:{queries[qid].version}\n".encode())
    for vid in sorted(views):
        digest.update(f"view {vid}:{views[vid].version}\n".encode())
    for mid in sorted(macros):
        digest.update(f"macro {mid}:{macros[mid].version}\n".encode())
    for fid in sorted(framework_files):
        digest.update(f"{fid}:{_file_version(framework_files[fid])}\n".encode())
    return Catalog(
        queries=queries,
        frameworks=frameworks,
        controls=controls,
        version=digest.hexdigest()[:12],
        overrides=overrides,
        views=views,
        macros=macros,
    )


def _load_views(
    roots: list[Path], problems: list[str], overrides: list[str], macros: Mapping[str, Macro]
) -> dict[str, View]:
    """Every view of `roots` (a later root may replace a view by id), in creation order."""
    views = _merge_by_id(
        [sorted((root / VIEWS_FOLDER).glob("*.sql")) for root in roots],
        lambda path: _load_view(path, problems, macros),
        "view",
        problems,
        overrides,
    )
    for vid in sorted(set(views) & set(macros)):
        problems.append(f"{views[vid].path}: view id {vid!r} is also the macro {macros[vid].path}")
    for macro in macros.values():
        read = sorted(set(views) & referenced_names(macro.sql))
        if read:
            problems.append(
                f"{macro.path}: a macro must not select from views ({', '.join(read)}): macros are created "
                "first, so that views can call them"
            )
    return _creation_order(views, problems)


def _load_macros(roots: list[Path], problems: list[str], overrides: list[str]) -> dict[str, Macro]:
    """Every macro of `roots` (a later root may replace a macro by id), in creation order."""
    macros = _merge_by_id(
        [sorted((root / MACROS_FOLDER).glob("*.sql")) for root in roots],
        lambda path: _load_macro(path, problems),
        "macro",
        problems,
        overrides,
    )
    return _creation_order(macros, problems)


def _merge_by_id(
    paths_by_root: list[list[Path]],
    load: Callable[[Path], _Loaded | None],
    noun: str,
    problems: list[str],
    overrides: list[str],
) -> dict[str, _Loaded]:
    """The files of every root loaded and merged by id: an id twice in one root is a problem, an id a later
    root has again replaces the earlier one (recorded in `overrides`)."""
    merged: dict[str, _Loaded] = {}
    for paths in paths_by_root:
        seen_here: dict[str, Path] = {}
        for path in paths:
            item = load(path)
            if item is None:
                continue
            if item.id in seen_here:
                problems.append(f"{path}: duplicate {noun} id {item.id!r} (also {seen_here[item.id]})")
                continue
            seen_here[item.id] = path
            if item.id in merged:
                overrides.append(f"{noun} {item.id}: {path} overrides {merged[item.id].path}")
            merged[item.id] = item
    return merged


def _load_macro(path: Path, problems: list[str]) -> Macro | None:
    read = _read_sql_file(path, MacroHeader, problems)
    if read is None:
        return None
    header, sql, data = read
    mine = _id_problems(header.id, path)
    if header.id in _RESERVED_VIEW_IDS or header.id.startswith("allow_"):
        mine.append(f"macro id {header.id!r} is reserved for the runner's own tables and views")
    elif header.id in _builtin_functions():
        mine.append(f"macro id {header.id!r} is a DuckDB function; choose another name")
    bad = [p for p in header.parameters if not _IDENTIFIER.fullmatch(p)]
    if bad:
        mine.append(f"parameters must be plain lower-case SQL names: {', '.join(map(repr, bad))}")
    if len(set(header.parameters)) != len(header.parameters):
        mine.append("parameters must be distinct")
    if not mine:  # the body is parsed inside a CREATE MACRO statement built from the id and parameters
        mine.extend(macro_problems(header, sql))
    problems.extend(f"{path}: {msg}" for msg in mine)
    if mine:
        return None
    return Macro(header=header, sql=sql, path=str(path), version=hashlib.sha256(data).hexdigest()[:12])


def macro_definition(macro: Macro) -> str:
    """The statement that creates `macro` (temporary: this connection only)."""
    return f"CREATE OR REPLACE TEMP MACRO {macro.id}({', '.join(macro.header.parameters)}) AS {macro.sql}"


def macro_problems(header: MacroHeader, body: str) -> list[str]:
    """Why `body` is not one parameter-free scalar expression (empty when it is fine)."""
    found: list[str] = []
    for pattern in (_PY_FORMAT, _PERCENT_FORMAT):
        for match in pattern.finditer(body):
            found.append(f"SQL contains the format placeholder {match.group(0)!r}; a macro takes arguments")
    if re.match(r"TABLE\b", body, re.IGNORECASE):
        found.append("table macros are not supported: write a view (queries/views/) instead")
        return found
    import duckdb

    statement = f"CREATE TEMP MACRO {header.id}({', '.join(header.parameters)}) AS {body}"
    try:
        statements = duckdb.extract_statements(statement)
    except duckdb.Error as exc:
        found.append(f"the body is not one SQL expression: {exc}")
        return found
    if len(statements) != 1:
        found.append(f"the body must be one SQL expression, found {len(statements)} statements")
    elif statements[0].named_parameters:
        listed = ", ".join(f"${n}" for n in sorted(statements[0].named_parameters))
        found.append(f"a macro cannot take query parameters ({listed}); pass them as arguments")
    return found


def _builtin_functions() -> frozenset[str]:
    global _BUILTIN_FUNCTIONS
    if _BUILTIN_FUNCTIONS is None:
        import duckdb

        with duckdb.connect() as con:
            rows = con.sql("SELECT DISTINCT function_name FROM duckdb_functions()").fetchall()
        _BUILTIN_FUNCTIONS = frozenset(r[0].lower() for r in rows)
    return _BUILTIN_FUNCTIONS


_BUILTIN_FUNCTIONS: frozenset[str] | None = None


def _load_view(path: Path, problems: list[str], macros: Mapping[str, Macro]) -> View | None:
    read = _read_sql_file(path, ViewHeader, problems)
    if read is None:
        return None
    header, sql, data = read
    mine = _id_problems(header.id, path)
    if header.id in _RESERVED_VIEW_IDS or header.id.startswith("allow_"):
        mine.append(f"view id {header.id!r} is reserved for the runner's own tables and views")
    mine.extend(sql_problems(sql))
    if not mine:
        import duckdb

        named = duckdb.extract_statements(sql)[0].named_parameters
        if named:
            listed = ", ".join(f"${n}" for n in sorted(named))
            mine.append(
                f"a view cannot take parameters ({listed}); filter by period in the queries that use it"
            )
    allow = sorted(n for n in names_read(sql, shared_sql(macros.values(), ())) if n.startswith("allow_"))
    if allow:
        mine.append(
            f"a view must not read allow-lists ({', '.join(allow)}): join them in the query, "
            "so that the runner records its suppressions"
        )
    problems.extend(f"{path}: {msg}" for msg in mine)
    if mine:
        return None
    return View(header=header, sql=sql, path=str(path), version=hashlib.sha256(data).hexdigest()[:12])


def referenced_names(sql: str) -> set[str]:
    """Lower-cased identifiers in `sql` outside string literals, quoted names and comments."""
    return {n.lower() for n in _NAME.findall(_NOT_NAMES.sub(" ", sql))}


def _creation_order(items: dict[str, _Shared], problems: list[str]) -> dict[str, _Shared]:
    """`items` (views or macros) with each after those it depends on (declared or referenced); ties by id."""
    what = "macros" if any(isinstance(i, Macro) for i in items.values()) else "views"
    needs: dict[str, set[str]] = {}
    for iid, item in items.items():
        declared: list[str] = item.header.depends_on if isinstance(item, View) else []
        for dep in declared:
            if dep not in items:
                problems.append(f"{item.path}: depends_on names the unknown view {dep!r}")
        names = referenced_names(item.sql)
        needs[iid] = {d for d in items if d != iid and (d in names or d in declared)}
    ordered: dict[str, _Shared] = {}
    while len(ordered) < len(needs):
        ready = sorted(v for v in needs if v not in ordered and needs[v] <= ordered.keys())
        if not ready:
            cycle = sorted(v for v in needs if v not in ordered)
            problems.append(f"{what} depend on each other in a cycle: {', '.join(cycle)}")
            break
        for iid in ready:
            ordered[iid] = items[iid]
    return ordered


def _file_version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _load_framework(path: Path, problems: list[str]) -> Framework | None:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = _FrameworkFile.model_validate(raw)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{path}: cannot read control catalogue: {exc}")
        return None
    except ValidationError as exc:
        problems.extend(f"{path}: {msg}" for msg in _validation_messages(exc))
        return None
    if path.stem != parsed.framework:
        problems.append(f"{path}: framework {parsed.framework!r} must match the file name {path.stem!r}")
    seen: set[str] = set()
    controls: list[Control] = []
    for number, raw_entry in enumerate(parsed.controls, start=1):
        try:
            entry = _ControlEntry.model_validate(raw_entry)
        except ValidationError as exc:
            name = raw_entry.get("id", f"#{number}") if isinstance(raw_entry, dict) else f"#{number}"
            problems.extend(f"{path}: control {name}: {msg}" for msg in _validation_messages(exc))
            seen.add(str(name))
            continue
        if entry.id in seen:
            problems.append(f"{path}: duplicate control id {entry.id!r}")
            continue
        seen.add(entry.id)
        controls.append(
            Control(
                framework=parsed.framework,
                id=f"{parsed.framework}:{entry.id}",
                control=entry.id,
                title=entry.title,
                automation=entry.automation,
                note=entry.note,
            )
        )
    return Framework(id=parsed.framework, title=parsed.title, controls=controls)


def split_query_file(text: str) -> tuple[dict[str, Any], str]:
    """(header mapping, SQL) of a query file's text; raises ValueError when the header block is missing."""
    match = _HEADER.match(text)
    if match is None:
        raise ValueError("no leading '/* --- ... --- */' YAML header")
    header = yaml.safe_load(match.group("yaml"))
    if not isinstance(header, dict):
        raise ValueError("the header is not a YAML mapping")
    return header, match.group("sql").strip()


def _load_query(path: Path, kind: str, controls: dict[str, Control], problems: list[str]) -> Query | None:
    read = _read_sql_file(path, QueryHeader, problems)
    if read is None:
        return None
    header, sql, data = read
    mine = _id_problems(header.id, path)
    if header.kind != kind:
        mine.append(f"kind {header.kind!r} does not match its folder {path.parent.name}/ (expected {kind!r})")
    for cid in header.controls:
        if cid not in controls:
            close = difflib.get_close_matches(cid, list(controls), n=1)
            mine.append(f"unknown control {cid!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    mine.extend(reference_problems(header.references))
    mine.extend(review_text_problems(header))
    mine.extend(spark_reason_problems(header))
    found = sql_problems(sql)
    mine.extend(found or parameter_problems(sql))
    problems.extend(f"{path}: {msg}" for msg in mine)
    if mine:
        return None
    return Query(header=header, sql=sql, path=str(path), version=hashlib.sha256(data).hexdigest()[:12])


# The fewest words a `spark:` reason may have: enough to name the construct, not "not supported".
SPARK_REASON_MIN_WORDS = 4


def spark_reason_problems(header: QueryHeader) -> list[str]:
    """Why a `spark:` reason does not tell a reader what keeps the query off Spark (empty when it does)."""
    if header.spark is None or len(header.spark.split()) >= SPARK_REASON_MIN_WORDS:
        return []
    return [
        f'spark: {header.spark!r} is too vague; say which DuckDB construct Spark 3.5 lacks, e.g. "uses '
        f'list_reduce with a lambda over structs" (at least {SPARK_REASON_MIN_WORDS} words)'
    ]


# A finding at this severity or above lands in someone's review queue (and may page them): its query must say
# how to triage it and what to do once it is confirmed.
REVIEW_TEXT_FLOOR = "medium"


def review_text_problems(header: QueryHeader) -> list[str]:
    """Why a detection or anomaly of medium severity or above cannot be reviewed from its header alone: it
    lacks `triage:` (what to check) or `remediation:` (what to do once confirmed)."""
    if header.kind == "metric" or SEVERITY_ORDER[header.severity] < SEVERITY_ORDER[REVIEW_TEXT_FLOOR]:
        return []
    missing = [key for key in ("triage", "remediation") if not getattr(header, key).strip()]
    if not missing:
        return []
    return [
        f"a {header.severity} {header.kind} needs {' and '.join(f'`{k}:`' for k in missing)} in its header: "
        "what an analyst checks to tell a true positive from expected activity, and what to do once it is "
        "confirmed (docs/catalog.md)"
    ]


def needs_config_problems(queries: Iterable[Query], shared: Mapping[str, str]) -> list[str]:
    """Why some `needs_config` entries name a list their query never reads (directly or through the shared
    views and macros, `shared`: id -> SQL): such a query would wait for configuration that changes nothing."""
    found: list[str] = []
    for query in sorted(queries, key=lambda q: q.id):
        read = names_read(query.sql, shared) if query.header.needs_config else set()
        for name in query.header.needs_config:
            table = CONFIG_TABLES[name]
            if table not in read:
                found.append(
                    f"{query.path}: needs_config names {name!r} but the query does not read {table}; "
                    "name only the lists its SQL reads, or drop the entry"
                )
    return found


def superseded_problems(queries: Mapping[str, Query]) -> list[str]:
    """Why some `superseded_by` entries cannot stand in for their query: only a Falco-parity query (one that
    references a falco: rule) may be superseded, by queries that exist, are of the same kind, are not
    superseded themselves, and have at least its severity (the default profile must not get quieter on a risk)."""
    found: list[str] = []
    for query in sorted(queries.values(), key=lambda q: q.id):
        h = query.header
        if h.superseded_by and not any(r.startswith("falco:") for r in h.references):
            found.append(f"{query.path}: superseded_by is only for Falco-parity queries (a falco: reference)")
        for other_id in h.superseded_by:
            other = queries.get(other_id)
            if other is None:
                found.append(f"{query.path}: superseded_by names {other_id!r}, which is not a query")
            elif other.header.superseded_by or other.header.kind != h.kind:
                found.append(f"{query.path}: superseded_by {other_id!r} must be a {h.kind} that runs itself")
            elif SEVERITY_ORDER[other.header.severity] < SEVERITY_ORDER[h.severity]:
                found.append(
                    f"{query.path}: superseded_by {other_id!r} is {other.header.severity}, below this "
                    f"query's {h.severity}; the replacement must be at least as severe"
                )
    return found


def reference_problems(references: Iterable[str]) -> list[str]:
    """Why some `references:` entries are not "<known prefix>:<what>" (empty when all are)."""
    found: list[str] = []
    for ref in references:
        prefix, sep, what = ref.partition(":")
        if not sep or not what.strip():
            found.append(f"reference {ref!r} must read '<source>:<rule or page>'")
        elif prefix not in REFERENCE_PREFIXES:
            close = difflib.get_close_matches(prefix, list(REFERENCE_PREFIXES), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(REFERENCE_PREFIXES)
            found.append(f"reference {ref!r}: unknown source {prefix!r} ({hint})")
    return found


def parameter_problems(sql: str) -> list[str]:
    """Why `sql` (one statement that parses) names a `$parameter` the runner does not bind."""
    import duckdb

    named = duckdb.extract_statements(sql)[0].named_parameters
    unknown = sorted(set(named) - set(QUERY_PARAMETERS))
    if not unknown:
        return []
    return [
        f"unknown parameter(s) {', '.join(f'${n}' for n in unknown)}; the runner binds "
        + ", ".join(f"${n}" for n in QUERY_PARAMETERS)
    ]


def sql_problems(sql: str) -> list[str]:
    """Why `sql` is not one plain statement with bound parameters (empty when it is fine)."""
    found: list[str] = []
    for pattern in (_PY_FORMAT, _PERCENT_FORMAT):
        for match in pattern.finditer(sql):
            found.append(f"SQL contains the format placeholder {match.group(0)!r}; bind $parameters instead")
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        found.append(f"SQL does not parse: {exc}")
        return found
    if len(statements) != 1:
        found.append(f"SQL must be exactly one statement, found {len(statements)}")
    elif statements[0].type != duckdb.StatementType.SELECT:
        found.append(f"SQL must be a SELECT, found {statements[0].type.name}")
    return found


def _validation_messages(exc: ValidationError) -> Iterable[str]:
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        yield f"{where}: {err['msg']}" if where else err["msg"]


# Proposal queries of `kanalytics tune` (catalog/tune.py): one per configuration list, never run as checks.
TUNE_FOLDER = "tune"


def load_proposals(
    catalog: Catalog,
    extra_paths: Sequence[str | Path] = (),
    *,
    settings: Settings | None = None,
    include_builtin: bool = True,
) -> dict[str, Proposal]:
    """Every proposal query (`tune/`) of the roots `load_catalog` reads, by id (a later root replaces an id);
    the queries they name (`for_query`, `source_query`) must be in `catalog`."""
    problems: list[str] = []
    roots = _roots(extra_paths, settings, include_builtin, problems)
    proposals = _merge_by_id(
        [sorted((root / TUNE_FOLDER).glob("*.sql")) for root in roots],
        lambda path: _load_proposal(path, catalog, problems),
        "proposal",
        problems,
        [],  # a user folder's proposal replaces a built-in one; nothing lists proposals' origins
    )
    _raise_problems(problems)
    return proposals


def _load_proposal(path: Path, catalog: Catalog, problems: list[str]) -> Proposal | None:
    read = _read_sql_file(path, ProposalHeader, problems)
    if read is None:
        return None
    header, sql, _ = read
    mine = _id_problems(header.id, path)
    for field_name in ("for_query", "source_query"):
        qid = getattr(header, field_name)
        if qid is not None and qid not in catalog.queries:
            mine.append(f"{field_name}: unknown query id {qid!r}")
    if header.for_query in catalog.queries and "allow_query_list" not in catalog.names_read(
        catalog.queries[header.for_query].sql
    ):
        mine.append(f"for_query: query {header.for_query!r} does not read a per-query list")
    found = sql_problems(sql)
    mine.extend(found or parameter_problems(sql))
    problems.extend(f"{path}: {msg}" for msg in mine)
    return None if mine else Proposal(header=header, sql=sql, path=str(path))
