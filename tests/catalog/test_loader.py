"""The loader reports every problem of a broken query tree in one QueryError, naming each file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kanalytics.catalog.loader import load_catalog
from kanalytics.errors import QueryError, UsageError

CONTROLS = """framework: demo
title: A demo framework
controls:
  - id: "1.1"
    title: Something is logged
    automation: automated
  - id: "1.2"
    title: Someone reviews it
    automation: manual
    note: a person reads the report
"""


def write_query(root: Path, folder: str, stem: str, header: str, sql: str = "SELECT 1 AS x") -> Path:
    path = root / folder / f"{stem}.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"/* ---\n{header}\n--- */\n{sql}\n", encoding="utf-8")
    return path


def good_header(qid: str, kind: str = "metric", extra: str = "") -> str:
    return f"id: {qid}\ntitle: T\nkind: {kind}\narea: coverage\ndescription: D\ncontrols: [demo:1.1]\n{extra}"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "controls").mkdir()
    (tmp_path / "controls" / "demo.yaml").write_text(CONTROLS, encoding="utf-8")
    return tmp_path


def test_good_tree_loads(root: Path) -> None:
    write_query(root, "metrics", "m-one", good_header("m-one"))
    catalog = load_catalog([root], include_builtin=False)
    assert list(catalog.queries) == ["m-one"]
    assert [q.id for q in catalog.queries_for_control("demo:1.1")] == ["m-one"]
    assert catalog.controls["demo:1.2"].automation == "manual"
    assert len(catalog.version) == 12


def test_all_problems_reported_at_once(root: Path) -> None:
    write_query(root, "metrics", "unknown-key", good_header("unknown-key", extra="colour: red"))
    write_query(root, "metrics", "bad-severity", good_header("bad-severity", extra="severity: urgent"))
    write_query(root, "metrics", "dup", good_header("dup"))
    write_query(root, "anomalies", "dup", good_header("dup", kind="anomaly"))
    write_query(root, "metrics", "bad-control", good_header("bad-control").replace("demo:1.1", "demo:9.9"))
    write_query(root, "metrics", "wrong-stem", good_header("other-id"))
    write_query(root, "detections", "wrong-kind", good_header("wrong-kind", kind="metric"))
    write_query(root, "metrics", "two-statements", good_header("two-statements"), "SELECT 1; SELECT 2")
    write_query(
        root, "metrics", "formats", good_header("formats"), "SELECT * FROM events WHERE user_name = '{user}'"
    )
    write_query(
        root, "metrics", "percent", good_header("percent"), "SELECT * FROM events WHERE user_name = %s"
    )
    with pytest.raises(QueryError) as caught:
        load_catalog([root], include_builtin=False)
    message = str(caught.value)
    for expected in (
        "unknown-key.sql: colour: Extra inputs are not permitted",
        "bad-severity.sql: severity:",
        "duplicate query id 'dup'",
        "bad-control.sql: unknown control 'demo:9.9'",
        "wrong-stem.sql: id 'other-id' must equal the file name",
        "wrong-kind.sql: kind 'metric' does not match its folder",
        "two-statements.sql: SQL must be exactly one statement",
        "formats.sql: SQL contains the format placeholder '{user}'",
        "percent.sql: SQL contains the format placeholder '%s'",
    ):
        assert expected in message, f"{expected!r} not in:\n{message}"


def test_duckdb_format_braces_are_allowed(root: Path) -> None:
    write_query(root, "metrics", "fmt", good_header("fmt"), "SELECT format('{} did {}', 'a', 'b') AS summary")
    assert "fmt" in load_catalog([root], include_builtin=False).queries


def test_control_catalogue_validation(root: Path) -> None:
    (root / "controls" / "bad.yaml").write_text(
        "framework: bad\ntitle: B\ncontrols:\n"
        "  - {id: '1', title: a, automation: partial}\n"
        "  - {id: '2', title: b, automation: sometimes, note: x}\n"
        "  - {id: '3', title: c, automation: automated}\n"
        "  - {id: '3', title: d, automation: automated}\n",
        encoding="utf-8",
    )
    with pytest.raises(QueryError) as caught:
        load_catalog([root], include_builtin=False)
    message = str(caught.value)
    assert "a partial control needs a note" in message
    assert "automation" in message
    assert "duplicate control id '3'" in message


def test_user_folder_overrides_builtin_and_is_recorded(
    root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    write_query(root, "metrics", "m-one", good_header("m-one"))
    user = tmp_path_factory.mktemp("user")
    write_query(user, "metrics", "m-one", good_header("m-one").replace("title: T", "title: Mine"))
    catalog = load_catalog([root, user], include_builtin=False)
    assert catalog.queries["m-one"].header.title == "Mine"
    assert any("m-one" in o and str(user) in o for o in catalog.overrides)


def test_unknown_id_suggests_close_matches(root: Path) -> None:
    write_query(root, "metrics", "events-per-day", good_header("events-per-day"))
    catalog = load_catalog([root], include_builtin=False)
    with pytest.raises(UsageError) as caught:
        catalog.get("events-per-dya")
    assert "events-per-day" in str(caught.value)


def test_missing_user_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="does not exist"):
        load_catalog([tmp_path / "nope"], include_builtin=False)


FINDING_SQL = (
    "SELECT request_ts AS ts, audit_id, user_name, source_ips[1] AS source_ip, verb, resource, namespace, "
    "object_name, 'x' AS summary FROM events WHERE request_ts >= $period_start AND request_ts < $period_end"
)


def test_medium_and_above_detections_must_say_how_to_triage_and_remediate(root: Path) -> None:
    write_query(
        root, "detections", "low-one", good_header("low-one", "detection", "severity: low"), FINDING_SQL
    )
    write_query(root, "detections", "medium-bare", good_header("medium-bare", "detection", "severity: medium"),
                FINDING_SQL)  # fmt: skip
    write_query(root, "detections", "high-half", good_header("high-half", "detection",
                "severity: high\ntriage: Check the identity."), FINDING_SQL)  # fmt: skip
    with pytest.raises(QueryError) as caught:
        load_catalog([root], include_builtin=False)
    message = str(caught.value)
    assert "medium-bare.sql: a medium detection needs `triage:` and `remediation:` in its header" in message
    assert "high-half.sql: a high detection needs `remediation:` in its header" in message
    assert "low-one" not in message  # below medium the text is welcome, not required


def test_a_detection_with_both_texts_loads_and_keeps_them(root: Path) -> None:
    extra = "severity: critical\ntriage: Check the identity.\nremediation: Revoke the binding."
    write_query(root, "detections", "crit-one", good_header("crit-one", "detection", extra), FINDING_SQL)
    header = load_catalog([root], include_builtin=False).get("crit-one").header
    assert (header.triage, header.remediation) == ("Check the identity.", "Revoke the binding.")
