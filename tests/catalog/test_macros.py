"""Shared macros (queries/macros/): one definition of who is a person, a node or the control plane, and of the
per-query allow-list lookup; loaded and validated like views, created by the session before the views."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from kanalytics.archive.layout import Layout
from kanalytics.archive.reader import connect
from kanalytics.catalog.functions import create_functions
from kanalytics.catalog.loader import (
    KIND_FOLDERS,
    QUERY_PARAMETERS,
    VIEWS_FOLDER,
    Catalog,
    builtin_query_dir,
    load_catalog,
    split_query_file,
)
from kanalytics.catalog.model import Query, QueryHeader, Suppression
from kanalytics.catalog.runner import Session, check_query_lists, create_allow_tables, create_macros
from kanalytics.config import Settings, parse_settings
from kanalytics.errors import ConfigError, QueryError
from kanalytics.vocabulary import IDENTITY_TYPES

PERIOD = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
QUERIES = builtin_query_dir()

# Literals that classify identities. Outside queries/macros/ they are allowed only where a query keeps a list of
# its own (not a classification): each exception says why.
_IDENTITY_LITERAL = re.compile(r"'((?:system:|eks:|aksService)[^']*)'")
EXCEPTIONS: dict[str, set[str]] = {
    # Falco's own allowed_k8s_users / eks_allowed_k8s_users lists, verbatim (Falco conformance).
    "falco-disallowed-k8s-user": {
        "system:addon-manager",
        "system:kube-controller-manager",
        *(
            f"eks:{n}"
            for n in (
                "node-manager",
                "certificate-controller",
                "fargate-scheduler",
                "k8s-metrics",
                "authenticator",
                "cluster-event-watcher",
                "nodewatcher",
                "pod-identity-mutating-webhook",
                "cloud-controller-manager",
                "vpc-resource-controller",
                "addon-manager",
            )
        ),
    },
    # Role names, not identities: Falco's system ClusterRole check and its exceptions.
    "falco-system-clusterrole-modified": {
        "system:",
        "system:coredns",
        "system:managed-certificate-controller",
    },
    "system-role-modified": {"system:%", "eks:%"},  # built-in role and binding names
    # The impersonation targets this query calls privileged (cluster-admin user and groups, the nodes group).
    "impersonation-privileged": {"system:admin", "system:masters", "system:nodes"},
    # The one EKS user that rewrites aws-auth by design.
    "aws-auth-modified": {"eks:kms-storage-migrator"},
}


def sql_files() -> list[Path]:
    assert QUERIES is not None
    return sorted(p for folder in (*KIND_FOLDERS, VIEWS_FOLDER) for p in (QUERIES / folder).glob("*.sql"))


def _sql_without_comments(path: Path) -> str:
    sql = split_query_file(path.read_text(encoding="utf-8"))[1]
    return re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL)


def test_identity_literals_live_only_in_macros() -> None:
    offenders = []
    for path in sql_files():
        allowed = EXCEPTIONS.get(path.stem, set())
        for literal in sorted(set(_IDENTITY_LITERAL.findall(_sql_without_comments(path))) - allowed):
            offenders.append(f"{path}: identity literal '{literal}': call a macro of queries/macros/ instead")
    assert not offenders, "\n".join(offenders)


def test_exceptions_are_still_needed() -> None:
    """An exception that no longer matches a literal would silently allow the next copy."""
    stale = []
    for path in sql_files():
        if path.stem in EXCEPTIONS:
            found = set(_IDENTITY_LITERAL.findall(_sql_without_comments(path)))
            stale += [f"{path.stem}: {lit}" for lit in sorted(EXCEPTIONS[path.stem] - found)]
    assert not stale, stale


def test_no_query_names_its_own_id_or_reads_the_per_query_list_directly() -> None:
    offenders = []
    for path in sql_files():
        sql = _sql_without_comments(path)
        if f"'{path.stem}'" in sql:
            offenders.append(f"{path}: names its own id as a literal; bind $query_id")
        if re.search(r"\ballow_query_list\b", sql):
            offenders.append(f"{path}: reads allow_query_list; call allowlisted($query_id, [...])")
    assert not offenders, "\n".join(offenders)


@pytest.fixture
def macro_con(catalog: Catalog) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_allow_tables(con, [])
    create_functions(con)
    create_macros(con, list(catalog.macros.values()))
    return con


IDENTITIES = [
    # (user_name, user_groups, identity_type, is_platform_identity, is_human)
    ("alice@example.com", ["system:authenticated"], "human", False, True),
    ("alice@example.com", None, "human", False, True),
    (None, None, "unknown", None, False),
    ("system:anonymous", ["system:unauthenticated"], "anonymous", False, False),
    ("someone", ["system:unauthenticated"], "anonymous", False, False),
    ("system:node:ip-10-0-0-1", ["system:nodes"], "node", True, False),
    ("system:serviceaccount:kube-system:replicaset-controller", None, "service account", True, False),
    ("system:serviceaccount:apps:web", None, "service account", False, False),
    ("system:kube-scheduler", None, "control plane", True, False),
    ("system:apiserver", None, "control plane", True, False),
    ("system:volume-scheduler", None, "control plane", True, False),
    ("system:something-else", None, "control plane", False, False),
    ("eks:node-manager", None, "control plane", True, False),
    ("aksService", None, "control plane", True, False),
]


@pytest.mark.parametrize(("user", "groups", "kind", "platform", "human"), IDENTITIES)
def test_identity_macros_classify(
    macro_con: duckdb.DuckDBPyConnection,
    user: str | None,
    groups: list[str] | None,
    kind: str,
    platform: bool | None,
    human: bool,
) -> None:
    row = macro_con.execute(
        "SELECT identity_type($u, $g::VARCHAR[]), is_platform_identity($u), is_human($u, $g::VARCHAR[])",
        {"u": user, "g": groups},
    ).fetchone()
    assert row == (kind, platform, human)


def test_identity_type_returns_the_python_vocabulary(catalog: Catalog) -> None:
    """queries/macros/identity_type.sql `returns:`, kanalytics.vocabulary.IDENTITY_TYPES and the examples agree."""
    assert tuple(catalog.macros["identity_type"].header.returns) == IDENTITY_TYPES
    assert {kind for _, _, kind, _, _ in IDENTITIES} == set(IDENTITY_TYPES)


def test_controller_and_allowlist_macros(macro_con: duckdb.DuckDBPyConnection) -> None:
    rows = macro_con.execute(
        "SELECT is_controller('system:kube-controller-manager'),"
        " is_controller('system:serviceaccount:kube-system:job-controller'),"
        " is_controller('system:serviceaccount:apps:job-controller'),"
        " allowlisted('q', ['x', NULL]), allowlist_values('q'), verb_past('deletecollection'), verb_past('get')"
    ).fetchone()
    assert rows == (True, True, False, False, [], "deleted all", "get")


def test_session_binds_exactly_the_documented_parameters(tmp_path: Path) -> None:
    con = connect(Layout(tmp_path / "empty"), connection=duckdb.connect())
    session = Session(con, *PERIOD, Settings())
    sql = "SELECT " + ", ".join(f"${name} AS {name}" for name in QUERY_PARAMETERS)
    query = _query("all-params", sql)
    assert session.params_for(query).keys() == QUERY_PARAMETERS.keys()
    assert session.params_for(query)["query_id"] == "all-params"
    con.close()


def _query(qid: str, sql: str) -> Query:
    header = QueryHeader(id=qid, title="T", kind="detection", area="activity", description="D")
    return Query(header=header, sql=sql, path=f"{qid}.sql", version="0")


def test_allowlisted_suppressions_are_attributed_to_the_query(tmp_path: Path) -> None:
    """A query that reads the per-query list only through the macro still gets its suppressions recorded."""
    con = connect(Layout(tmp_path / "empty"), connection=duckdb.connect())
    settings = parse_settings(
        {"allowlists": {"query_lists": {"who": [{"value": "bob", "reason": "reviewed"}]}}}, origin="t.toml"
    )
    session = Session(con, *PERIOD, settings)
    sql = (
        "SELECT TIMESTAMPTZ '2026-10-02 00:00:00+00' AS ts, NULL AS audit_id, u AS user_name, NULL AS source_ip,"
        " NULL AS verb, NULL AS resource, NULL AS namespace, NULL AS object_name, u AS summary"
        " FROM (VALUES ('alice'), ('bob')) t(u) WHERE NOT allowlisted($query_id, [u])"
    )
    result = session.run(_query("who", sql))
    other = session.run(_query("someone-else", sql))
    con.close()
    assert result.status == "ok", result.reason
    assert result.table is not None and result.table.column("user_name").to_pylist() == ["alice"]
    assert result.suppressed == [Suppression("who", "allow_query_list", "bob", "reviewed", 1)]
    assert other.table is not None and sorted(other.table.column("user_name").to_pylist()) == ["alice", "bob"]
    assert other.suppressed == []


def test_query_lists_accept_queries_that_read_the_list_through_the_macro(catalog: Catalog) -> None:
    settings = parse_settings(
        {
            "allowlists": {
                "query_lists": {
                    "debug-image-pod": [{"value": "ops", "reason": "r"}],
                    "events-per-day": [{"value": "x", "reason": "r"}],
                }
            }
        },
        origin="t.toml",
    )
    with pytest.raises(ConfigError) as caught:
        check_query_lists(catalog, settings)
    assert "debug-image-pod" not in str(caught.value)
    assert "query 'events-per-day' does not read a per-query list" in str(caught.value)


def test_session_creates_macros_before_views(catalog: Catalog, tmp_path: Path) -> None:
    con = connect(Layout(tmp_path / "empty"), connection=duckdb.connect())
    Session(con, *PERIOD, Settings())
    names = {
        r[0]
        for r in con.sql(
            "SELECT function_name FROM duckdb_functions() WHERE macro_definition IS NOT NULL"
        ).fetchall()
    }
    assert set(catalog.macros) <= names
    con.sql("SELECT * FROM workload_specs LIMIT 0").fetchall()  # a view that calls is_node / is_controller
    con.close()


def write(root: Path, folder: str, stem: str, header: str, body: str) -> None:
    path = root / folder / f"{stem}.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"/* ---\n{header}\n--- */\n{body}\n", encoding="utf-8")


def test_loader_refuses_bad_macros_parameters_and_references(tmp_path: Path) -> None:
    (tmp_path / "controls").mkdir()
    write(tmp_path, "macros", "good", "id: good\nparameters: [u]\ndescription: D", "u || 'x'")
    write(tmp_path, "macros", "wrong_name", "id: other\ndescription: D", "1")
    write(tmp_path, "macros", "takes_param", "id: takes_param\ndescription: D", "$period_start")
    write(tmp_path, "macros", "two", "id: two\ndescription: D", "1; DROP TABLE events")
    write(tmp_path, "macros", "tabled", "id: tabled\ndescription: D", "TABLE SELECT 1")
    write(tmp_path, "macros", "lower", "id: lower\nparameters: [s]\ndescription: D", "s")
    write(tmp_path, "macros", "bad_param", "id: bad_param\nparameters: [User-Name]\ndescription: D", "1")
    write(tmp_path, "macros", "loop_a", "id: loop_a\ndescription: D", "loop_b()")
    write(tmp_path, "macros", "loop_b", "id: loop_b\ndescription: D", "loop_a()")
    write(tmp_path, "macros", "reads_view", "id: reads_view\ndescription: D", "(SELECT count(*) FROM a_view)")
    write(tmp_path, "views", "a_view", "id: a_view\ndescription: D", "SELECT 1 AS x")
    write(
        tmp_path, "macros", "peeks", "id: peeks\ndescription: D", "(SELECT count(*) FROM allow_admin_users)"
    )
    write(tmp_path, "views", "sly_view", "id: sly_view\ndescription: D", "SELECT peeks() AS n")
    head = "title: T\nkind: metric\narea: coverage\ndescription: D"
    write(tmp_path, "metrics", "typo-param", f"id: typo-param\n{head}", "SELECT $perod_start AS a, $tz AS b")
    write(
        tmp_path,
        "metrics",
        "bad-ref",
        f"id: bad-ref\n{head}\nreferences: [falko:X, sigma:Y, nocolon]",
        "SELECT 1",
    )
    with pytest.raises(QueryError) as caught:
        load_catalog([tmp_path], include_builtin=False)
    message = str(caught.value)
    expected = [
        "wrong_name.sql: id 'other' must equal the file name 'wrong_name'",
        "takes_param.sql: a macro cannot take query parameters ($period_start); pass them as arguments",
        "two.sql: the body must be one SQL expression, found 2 statements",
        "tabled.sql: table macros are not supported",
        "lower.sql: macro id 'lower' is a DuckDB function",
        "bad_param.sql: parameters must be plain lower-case SQL names: 'User-Name'",
        "macros depend on each other in a cycle: loop_a, loop_b",
        "reads_view.sql: a macro must not select from views (a_view)",
        "sly_view.sql: a view must not read allow-lists (allow_admin_users)",
        "typo-param.sql: unknown parameter(s) $perod_start, $tz; the runner binds $period_start, $period_end, "
        "$baseline_start, $timezone, $query_id",
        "bad-ref.sql: reference 'falko:X': unknown source 'falko' (did you mean 'falco'?)",
        "bad-ref.sql: reference 'nocolon' must read '<source>:<rule or page>'",
    ]
    missing = [e for e in expected if e not in message]
    assert not missing, f"{missing}\n--- message ---\n{message}"
    assert "good.sql" not in message and "sigma:Y" not in message
    assert message.startswith(f"{len(expected)} problem(s) in the query catalog")


def test_user_folder_overrides_a_macro(tmp_path: Path) -> None:
    write(tmp_path, "macros", "is_node", "id: is_node\nparameters: [user_name]\ndescription: D", "false")
    catalog = load_catalog([tmp_path])
    assert catalog.macros["is_node"].sql == "false"
    assert any(o.startswith("macro is_node:") for o in catalog.overrides)
    assert catalog.version != load_catalog().version
