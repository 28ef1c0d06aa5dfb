"""Find, parse and validate every query file, shared view and control catalogue; the only code that reads
`queries/`.

Every problem found is collected and raised together as one `QueryError`, so a broken tree is fixed in one
pass instead of one error at a time.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from kanalytics.catalog.model import Automation, Control, Framework, Query, QueryHeader, View, ViewHeader
from kanalytics.errors import QueryError, UsageError

if TYPE_CHECKING:
    from kanalytics.config import Settings

# Folder name -> the kind its queries must declare.
KIND_FOLDERS = {"metrics": "metric", "detections": "detection", "anomalies": "anomaly"}
CONTROLS_FOLDER = "controls"
# Shared views: named SELECTs over `events` (or other views) that queries select from.
VIEWS_FOLDER = "views"
# Names a view may not take: the runner's own relations (the allow-list tables all start with `allow_`).
_RESERVED_VIEW_IDS = frozenset({"events"})

_HEADER = re.compile(r"\A\s*/\*\s*---\s*\n(?P<yaml>.*?)\n\s*---\s*\*/(?P<sql>.*)\Z", re.DOTALL)
# Python-format placeholders mean a value was (or will be) pasted into the SQL. DuckDB's own format()
# uses `{}` / `{0}` / `{:d}` inside string literals, so only *named* placeholders and %-style are refused.
_PY_FORMAT = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]*(![rsa])?(:[^{}]*)?\}")
# strftime patterns ('%Y-%m-%d') are legitimate SQL; only DB-API style `%s` / `%(name)s` are refused.
_PERCENT_FORMAT = re.compile(r"%s\b|%\([A-Za-z_][A-Za-z0-9_]*\)[sdr]")
# What is not an identifier reference: string literals, quoted identifiers and comments.
_NOT_NAMES = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
    """Only the shared views (creation order) of the roots `load_catalog` would read; for callers that build a
    `Session` without a catalog (benchmarks, tests)."""
    problems: list[str] = []
    roots = _roots(extra_paths, settings, include_builtin, problems)
    overrides: list[str] = []
    views = _load_views(roots, problems, overrides)
    _raise_problems(problems)
    return views


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

    queries: dict[str, Query] = {}
    for root in roots:
        seen_here: dict[str, Path] = {}
        for folder, kind in KIND_FOLDERS.items():
            for path in sorted((root / folder).glob("*.sql")):
                query = _load_query(path, kind, controls, problems)
                if query is None:
                    continue
                if query.id in seen_here:
                    problems.append(f"{path}: duplicate query id {query.id!r} (also {seen_here[query.id]})")
                    continue
                seen_here[query.id] = path
                if query.id in queries:
                    # A user folder may replace a built-in query on purpose; the report lists it.
                    overrides.append(f"query {query.id}: {path} overrides {queries[query.id].path}")
                queries[query.id] = query
    views = _load_views(roots, problems, overrides)
    _raise_problems(problems)
    digest = hashlib.sha256()
    for qid in sorted(queries):
        digest.update(f"{qid}:{queries[qid].version}\n".encode())
    for vid in sorted(views):
        digest.update(f"view {vid}:{views[vid].version}\n".encode())
    for fid in sorted(framework_files):
        digest.update(f"{fid}:{_file_version(framework_files[fid])}\n".encode())
    return Catalog(
        queries=queries,
        frameworks=frameworks,
        controls=controls,
        version=digest.hexdigest()[:12],
        overrides=overrides,
        views=views,
    )


def _load_views(roots: list[Path], problems: list[str], overrides: list[str]) -> dict[str, View]:
    """Every view of `roots` (a later root may replace a view by id), in creation order."""
    views: dict[str, View] = {}
    for root in roots:
        seen_here: dict[str, Path] = {}
        for path in sorted((root / VIEWS_FOLDER).glob("*.sql")):
            view = _load_view(path, problems)
            if view is None:
                continue
            if view.id in seen_here:
                problems.append(f"{path}: duplicate view id {view.id!r} (also {seen_here[view.id]})")
                continue
            seen_here[view.id] = path
            if view.id in views:
                overrides.append(f"view {view.id}: {path} overrides {views[view.id].path}")
            views[view.id] = view
    return _creation_order(views, problems)


def _load_view(path: Path, problems: list[str]) -> View | None:
    try:
        data = path.read_bytes()
        raw, sql = split_query_file(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
        problems.append(f"{path}: {exc}")
        return None
    try:
        header = ViewHeader.model_validate(raw)
    except ValidationError as exc:
        problems.extend(f"{path}: {msg}" for msg in _validation_messages(exc))
        return None
    mine: list[str] = []
    if header.id != path.stem:
        mine.append(f"id {header.id!r} must equal the file name {path.stem!r}")
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
    allow = sorted(n for n in referenced_names(sql) if n.startswith("allow_"))
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


def _creation_order(views: dict[str, View], problems: list[str]) -> dict[str, View]:
    """`views` with every view after the views it depends on (declared or referenced); ties by id."""
    needs: dict[str, set[str]] = {}
    for vid, view in views.items():
        for dep in view.header.depends_on:
            if dep not in views:
                problems.append(f"{view.path}: depends_on names the unknown view {dep!r}")
        names = referenced_names(view.sql)
        needs[vid] = {d for d in views if d != vid and (d in names or d in view.header.depends_on)}
    ordered: dict[str, View] = {}
    while len(ordered) < len(needs):
        ready = sorted(v for v in needs if v not in ordered and needs[v] <= ordered.keys())
        if not ready:
            cycle = sorted(v for v in needs if v not in ordered)
            problems.append(f"views depend on each other in a cycle: {', '.join(cycle)}")
            break
        for vid in ready:
            ordered[vid] = views[vid]
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
    try:
        data = path.read_bytes()
        raw, sql = split_query_file(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
        problems.append(f"{path}: {exc}")
        return None
    try:
        header = QueryHeader.model_validate(raw)
    except ValidationError as exc:
        problems.extend(f"{path}: {msg}" for msg in _validation_messages(exc))
        return None
    mine: list[str] = []
    if header.id != path.stem:
        mine.append(f"id {header.id!r} must equal the file name {path.stem!r}")
    if header.kind != kind:
        mine.append(f"kind {header.kind!r} does not match its folder {path.parent.name}/ (expected {kind!r})")
    for cid in header.controls:
        if cid not in controls:
            close = difflib.get_close_matches(cid, list(controls), n=1)
            mine.append(f"unknown control {cid!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    mine.extend(sql_problems(sql))
    problems.extend(f"{path}: {msg}" for msg in mine)
    if mine:
        return None
    return Query(header=header, sql=sql, path=str(path), version=hashlib.sha256(data).hexdigest()[:12])


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
