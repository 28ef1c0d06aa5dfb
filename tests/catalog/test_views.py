"""Shared views (queries/views/): loaded and validated like queries, created by the session, used by queries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kanalytics.archive.layout import Layout
from kanalytics.archive.reader import connect
from kanalytics.catalog.loader import Catalog, builtin_query_dir, load_catalog, referenced_names
from kanalytics.catalog.runner import Session
from kanalytics.cli import app
from kanalytics.config import Settings
from kanalytics.errors import QueryError

PERIOD = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))


def write_view(root: Path, stem: str, sql: str, header: str = "") -> Path:
    path = root / "views" / f"{stem}.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"/* ---\n{header or f'id: {stem}'}\ndescription: D\n--- */\n{sql}\n", encoding="utf-8")
    return path


def empty_events(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return connect(Layout(tmp_path / "empty"), connection=duckdb.connect())


def test_builtin_views_load_with_unique_ids_equal_to_their_file_names(catalog: Catalog) -> None:
    root = builtin_query_dir()
    assert root is not None
    stems = sorted(p.stem for p in (root / "views").glob("*.sql"))
    assert stems, "queries/views/ holds no view"
    assert sorted(catalog.views) == stems
    assert not set(catalog.views) & set(catalog.queries)


def test_views_come_in_dependency_order(catalog: Catalog) -> None:
    order = list(catalog.views)
    for position, view in enumerate(catalog.views.values()):
        for dep in view.header.depends_on:
            assert order.index(dep) < position, f"{view.id} is created before {dep}"


def test_every_view_is_used_by_a_query(catalog: Catalog) -> None:
    used = {v for q in catalog.queries.values() for v in catalog.views_used_by(q)}
    # A view that only other views use counts as used when one of those is used.
    for view in reversed(list(catalog.views.values())):
        if view.id in used:
            used |= set(view.header.depends_on) | (referenced_names(view.sql) & set(catalog.views))
    unused = sorted(set(catalog.views) - used)
    assert not unused, f"views no query selects from: {unused}"


def test_no_view_takes_a_parameter_or_reads_an_allow_list(catalog: Catalog) -> None:
    for view in catalog.views.values():
        assert not duckdb.extract_statements(view.sql)[0].named_parameters, f"{view.id} takes parameters"
        for param in ("$period_start", "$period_end", "$baseline_start", "$timezone"):
            assert param not in view.sql, f"{view.id} names {param}"
        assert not any(n.startswith("allow_") for n in referenced_names(view.sql)), view.id


def test_loader_refuses_bad_views(tmp_path: Path) -> None:
    write_view(tmp_path, "by_period", "SELECT * FROM events WHERE request_ts >= $period_start")
    write_view(tmp_path, "wrong_name", "SELECT 1 AS x", header="id: other_name")
    write_view(tmp_path, "two", "SELECT 1 AS x; SELECT 2 AS y")
    write_view(
        tmp_path, "allowed", "SELECT * FROM events WHERE user_name IN (SELECT value FROM allow_admin_users)"
    )
    write_view(tmp_path, "events", "SELECT 1 AS x")
    write_view(tmp_path, "hyphen-id", "SELECT 1 AS x", header="id: hyphen-id")
    write_view(tmp_path, "loop_a", "SELECT * FROM loop_b")
    write_view(tmp_path, "loop_b", "SELECT * FROM loop_a")
    write_view(tmp_path, "needs_ghost", "SELECT 1 AS x", header="id: needs_ghost\ndepends_on: [ghost]")
    with pytest.raises(QueryError) as caught:
        load_catalog([tmp_path], include_builtin=False)
    message = str(caught.value)
    assert "by_period.sql: a view cannot take parameters ($period_start)" in message
    assert "must equal the file name 'wrong_name'" in message
    assert "two.sql: SQL must be exactly one statement" in message
    assert "allowed.sql: a view must not read allow-lists (allow_admin_users)" in message
    assert "events.sql: view id 'events' is reserved" in message
    assert "hyphen-id.sql: id:" in message
    assert "cycle: loop_a, loop_b" in message
    assert "depends_on names the unknown view 'ghost'" in message


def test_user_folder_adds_and_overrides_views(tmp_path: Path) -> None:
    write_view(tmp_path, "pod_exec_sessions", "SELECT *, '' AS command FROM events WHERE false")
    write_view(tmp_path, "my_reads", "SELECT * FROM falco_events WHERE verb = 'get'")
    catalog = load_catalog([tmp_path])
    assert "my_reads" in catalog.views
    assert list(catalog.views).index("my_reads") > list(catalog.views).index("falco_events")
    assert any(o.startswith("view pod_exec_sessions:") for o in catalog.overrides)
    assert catalog.version != load_catalog().version


def test_session_creates_the_views_without_a_catalog(catalog: Catalog, tmp_path: Path) -> None:
    """The raw-JSON benchmark builds `Session(con, ...)` itself; the views must exist all the same."""
    con = empty_events(tmp_path)
    Session(con, *PERIOD, Settings())
    names = {r[0] for r in con.sql("SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()}
    assert set(catalog.views) <= names
    for view_id in catalog.views:
        con.sql(f"SELECT * FROM {view_id} LIMIT 0").fetchall()
    con.close()


def test_query_list_does_not_list_views(catalog: Catalog) -> None:
    result = CliRunner().invoke(app, ["query", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = {row["id"] for row in json.loads(result.stdout)}
    assert listed == set(catalog.queries)
    assert not listed & set(catalog.views)


def _secret_reads(con: duckdb.DuckDBPyConnection) -> None:
    """Replace `events` with two successful Secret reads (alice in default, a controller in team-a)."""
    con.execute("CREATE TABLE fake_events AS SELECT * FROM events LIMIT 0")
    con.execute(
        """INSERT INTO fake_events BY NAME
        SELECT * FROM (VALUES
            ('a1', 'alice@example.com', 'default', 'db-creds'),
            ('a2', 'system:serviceaccount:team-a:reader', 'team-a', 'tls')
        ) AS t(audit_id, user_name, namespace, object_name),
        LATERAL (SELECT 'ResponseComplete' AS stage, 'Metadata' AS level, 'get' AS verb, 'secrets' AS resource,
                        200 AS response_code, TIMESTAMPTZ '2026-10-05 10:00:00+00' AS request_ts,
                        TIMESTAMPTZ '2026-10-05 10:00:00+00' AS stage_ts, ['203.0.113.7'] AS source_ips,
                        'test' AS cluster)"""
    )
    con.execute("CREATE OR REPLACE VIEW events AS SELECT * FROM fake_events")


def test_falco_secret_get_successfully_honours_the_query_list(catalog: Catalog, tmp_path: Path) -> None:
    query = catalog.get("falco-secret-get-successfully")
    con = empty_events(tmp_path)
    _secret_reads(con)

    plain = Session(con, *PERIOD, Settings()).run(query)
    assert plain.status == "ok" and plain.rows == 2 and not plain.suppressed

    settings = Settings.model_validate(
        {
            "allowlists": {
                "query_lists": {
                    "falco-secret-get-successfully": [
                        {"value": "alice@example.com", "reason": "break-glass drill reads db creds"},
                        {"value": "team-a", "reason": "team-a's reader is expected"},
                    ]
                }
            }
        }
    )
    result = Session(con, *PERIOD, settings).run(query)
    con.close()
    assert result.status == "ok" and result.rows == 0
    assert sorted((s.value, s.reason, s.count) for s in result.suppressed) == [
        ("alice@example.com", "break-glass drill reads db creds", 1),
        ("team-a", "team-a's reader is expected", 1),
    ]
