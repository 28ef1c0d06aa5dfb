"""Zero configuration is a first-class state: list-dependent checks wait for their list, anomalies say when the
archive has no baseline, and every way findings come out (façade, catalog API, CLI) carries both, with the
recurring behaviour that the baseline judgement moved out of the review queue.

One archive: cluster c1 with background traffic on every September day (the baseline) and October requests that
fire `falco-disallowed-k8s-user`, `falco-create-disallowed-namespace` and `pod-in-system-namespace` (medium,
also on 20 September days: recurring); cluster c2 with October events only (no baseline).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from kanalytics import open_archive
from kanalytics.api import Archive
from kanalytics.catalog.loader import CONFIG_TABLES, Catalog, load_catalog
from kanalytics.catalog.model import CONFIG_LISTS
from kanalytics.catalog.runner import run_catalog, run_query, tune_command
from kanalytics.cli import app
from kanalytics.config import Settings, parse_settings
from kanalytics.errors import QueryError
from tests.cases._tools.make_events import ev, pod_body, pod_create
from tests.catalog.test_cases import CASES, case_period, ingest, read_events

SEP, OCT, NOV = (datetime(2026, m, 1, tzinfo=UTC) for m in (9, 10, 11))
USER, NS = "falco-disallowed-k8s-user", "falco-create-disallowed-namespace"
POD = "pod-in-system-namespace"
TUNE = "kanalytics tune --from 2026-09-01 --to 2026-10-01"
USER_REASON = (
    f"needs allowlists.query_lists.{USER} (the values this check allows on your clusters): run `{TUNE}` to "
    'propose entries from the baseline, or set profile = "falco" for Falco\'s built-in list'
)
NO_BASELINE_30 = (
    "no baseline yet: the archive has no events in the 30 days before the period (the first month of an "
    "archive); anomalies are judged from the next period on"
)
runner = CliRunner()


def _events(cluster: str) -> list[dict[str, Any]]:
    october = [OCT + timedelta(days=d, hours=10) for d in (2, 5, 9)]
    events = [
        ev(t, "create", "namespaces", name=f"team-{i}", user="erin@example.com")
        for i, t in enumerate(october)
    ]
    events += [ev(t, "get", "configmaps", ns="apps", name="cfg", user="erin@example.com") for t in october]
    if cluster == "c1":
        events += [ev(SEP + timedelta(days=d, hours=9), "get", "pods", ns="default", user="reader@example.com")
                   for d in range(30)]  # fmt: skip
        events += [pod_create(SEP + timedelta(days=d, hours=11), pod_body("debug", "kube-system"),
                              user="bob@example.com", name="debug") for d in range(20)]  # fmt: skip
        events += [pod_create(t, pod_body("debug", "kube-system"), user="bob@example.com", name="debug")
                   for t in october]  # fmt: skip
    return events


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    root = tmp_path_factory.mktemp("zero-config") / "archive"
    arch = open_archive(root)
    for cluster in ("c1", "c2"):
        arch.ingest_events(_events(cluster), cluster=cluster)
    return arch


def _settings(**data: Any) -> Settings:
    return parse_settings(data, origin="test")


# -- needs configuration -----------------------------------------------------------------------------------------


def test_a_list_dependent_check_waits_for_its_list(archive: Archive, catalog: Catalog) -> None:
    waiting = run_query(archive.store, USER, OCT, NOV, settings=_settings(), catalog=catalog)
    assert (waiting.status, waiting.rows, waiting.reason) == ("needs-configuration", 0, USER_REASON)
    # One entry in its own list and it runs: erin's 6 requests in each of c1 and c2 are findings.
    entry = {"query_lists": {USER: [{"value": "carol@example.com", "reason": "platform lead"}]}}
    listed = run_query(archive.store, USER, OCT, NOV, settings=_settings(allowlists=entry), catalog=catalog)
    erin = [r for r in listed.table.to_pylist() if r["user_name"] == "erin@example.com"]
    assert (listed.status, len(erin)) == ("ok", 12)
    # Falco's profile runs it with Falco's built-in list, as Falco does.
    falco = run_query(archive.store, USER, OCT, NOV, settings=_settings(profile="falco"), catalog=catalog)
    assert falco.status == "ok" and falco.rows == listed.rows


def test_another_list_does_not_lift_the_gate(archive: Archive, catalog: Catalog) -> None:
    """suspicious-image-pull needs trusted_registries; its own query list (exceptions) is not that list."""
    other = {"query_lists": {"suspicious-image-pull": [{"value": "bob@example.com", "reason": "x"}]}}
    result = run_query(archive.store, "suspicious-image-pull", OCT, NOV, settings=_settings(allowlists=other),
                       catalog=catalog)  # fmt: skip
    assert (result.status, result.reason) == (
        "needs-configuration",
        "needs allowlists.trusted_registries (the registries your images come from): run "
        f"`{TUNE}` to propose entries from the baseline",
    )
    trusted = {"trusted_registries": [{"value": "registry.example.com/", "reason": "ours"}]}
    ran = run_query(archive.store, "suspicious-image-pull", OCT, NOV, settings=_settings(allowlists=trusted),
                    catalog=catalog)  # fmt: skip
    assert (ran.status, ran.rows) == ("ok", 0)  # every image is from the trusted registry


def test_the_tune_hint_names_the_baseline_in_the_configured_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 11, 1, tzinfo=berlin)  # 2026-10-31T23:00Z
    settings = _settings(timezone="Europe/Berlin", baseline={"days": 14})
    assert tune_command(start, settings) == "kanalytics tune --from 2026-10-18 --to 2026-11-01"


def test_every_config_list_maps_to_the_table_it_reads() -> None:
    assert sorted(CONFIG_TABLES) == sorted(CONFIG_LISTS)
    assert all(table == f"allow_{name}" for name, table in CONFIG_TABLES.items())


def test_loader_refuses_needs_config_a_query_does_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "queries" / "detections"
    folder.mkdir(parents=True)
    header = "/* ---\nid: {id}\ntitle: t\nkind: detection\narea: activity\ndescription: d\nneeds_config: {lists}\n--- */\n"
    body = ("SELECT ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name, 'x' AS summary "
            "FROM events WHERE request_ts >= $period_start AND request_ts < $period_end")  # fmt: skip
    files = {
        "reads-nothing": ("[query_list, admin_users]", body),
        "reads-registries": (
            "[trusted_networks]",
            body + " AND EXISTS (SELECT 1 FROM allow_trusted_registries)",
        ),
        "reads-via-macro": ("[query_list]", body + " AND NOT allowlisted($query_id, [user_name])"),
    }
    for qid, (lists, sql) in files.items():
        (folder / f"{qid}.sql").write_text(header.format(id=qid, lists=lists) + sql + "\n", encoding="utf-8")
    with pytest.raises(QueryError) as caught:
        load_catalog([tmp_path / "queries"])
    text = str(caught.value)
    assert text.startswith("3 problem(s) in the query catalog:")
    assert f"{folder / 'reads-nothing.sql'}: needs_config names 'query_list' but the query does not read " \
           "allow_query_list; name only the lists its SQL reads, or drop the entry" in text  # fmt: skip
    assert (
        "reads-nothing.sql: needs_config names 'admin_users' but the query does not read allow_admin_users"
        in text
    )
    assert "reads-registries.sql: needs_config names 'trusted_networks'" in text
    assert "reads-via-macro" not in text  # the allowlisted macro reads allow_query_list: that counts


# -- no baseline --------------------------------------------------------------------------------------------------


def test_first_month_anomalies_are_not_evaluable(tmp_path: Path, catalog: Catalog) -> None:
    first = open_archive(tmp_path / "first")
    first.ingest_events(_events("c2"), cluster="c2")
    run = run_catalog(first.store, OCT, NOV, settings=_settings(), catalog=catalog, kinds=["anomaly"])
    assert run.baseline_days_with_events == {"c2": 0}
    assert {(r.status, r.reason) for r in run.results.values()} == {("not-evaluable", NO_BASELINE_30)}
    assert run.findings == []


def test_anomalies_with_a_baseline_run_and_count_its_days(archive: Archive, catalog: Catalog) -> None:
    run = run_catalog(archive.store, OCT, NOV, settings=_settings(), catalog=catalog, kinds=["anomaly"])
    assert run.baseline_days_with_events == {"c1": 30, "c2": 0}
    assert {r.status for r in run.results.values()} == {"ok"}
    assert {r.reason for r in run.results.values()} == {f"not judged for c2: {NO_BASELINE_30}"}
    assert all(f.cluster == "c1" for f in run.findings)


def test_a_cluster_without_baseline_is_left_out_of_an_anomalys_rows(tmp_path: Path, catalog: Catalog) -> None:
    """denied-then-privileged fires on its case events; a second cluster with the same period events but no
    baseline fires alone (it reads only the period), and beside a cluster with a baseline it is left out."""
    folder = CASES / "denied-then-privileged"
    events = read_events(folder / "fire.jsonl")
    # "old" has events from the start of the baseline (October 12) on: its day is judged (docs/evaluation.md)
    start, end, baseline = case_period(events, {"period_start": "2026-10-19T00:00:00+00:00",
                                                "period_end": "2026-10-20T00:00:00+00:00",
                                                "baseline_start": "2026-10-12T00:00:00+00:00"})  # fmt: skip
    arch = open_archive(tmp_path / "a")
    ingest(arch, folder / "fire.jsonl", "old")
    period_only = tmp_path / "period.jsonl"
    period_only.write_text("".join(json.dumps(e) + "\n" for e in events
                                   if e["requestReceivedTimestamp"] >= "2026-10-19"), encoding="utf-8")  # fmt: skip
    ingest(arch, period_only, "new")
    alone = run_query(arch.store, "denied-then-privileged", start, end, clusters=["new"], catalog=catalog,
                      settings=_settings(), baseline_start=start - timedelta(days=1))  # fmt: skip
    assert alone.status == "not-evaluable" and alone.reason.startswith("no baseline yet: ")
    both = run_query(arch.store, "denied-then-privileged", start, end, catalog=catalog, settings=_settings(),
                     baseline_start=baseline)  # fmt: skip
    assert both.status == "ok" and both.reason.startswith("not judged for new: no baseline yet: ")
    assert [r["cluster"] for r in both.table.to_pylist()] == ["old"]


# -- findings: façade, catalog API, CLI ---------------------------------------------------------------------------


def test_findings_result_carries_waiting_checks_and_recurring_patterns(archive: Archive) -> None:
    result = archive.findings(start=OCT, end=NOV)
    waiting = [p.query_id for p in result.needs_configuration]
    assert waiting == [
        "falco-create-disallowed-namespace",
        "falco-create-disallowed-pod",
        USER,
        "falco-pod-created-in-kube-namespace",
        "suspicious-image-pull",
    ]
    assert result.tune_command == TUNE
    assert not any(f.query_id in waiting for f in result.findings)
    pods = [p for p in result.recurring if p.query_id == POD]
    assert len(pods) == 1
    assert (pods[0].cluster, pods[0].user_name, pods[0].key, pods[0].days_seen, pods[0].baseline_days) == (
        "c1", "bob@example.com", {"namespace": "kube-system"}, 20, 30,
    )  # fmt: skip
    assert len(pods[0].findings) == 3 and not any(f.query_id == POD for f in result.findings)
    data = result.to_json()
    assert [p["query_id"] for p in data["needs_configuration"]] == waiting
    assert data["needs_configuration"][2]["reason"] == USER_REASON
    pod = next(p for p in data["recurring"] if p["query_id"] == POD)
    assert {k: pod[k] for k in ("cluster", "user_name", "key", "days_seen", "baseline_days", "count")} == {
        "cluster": "c1", "user_name": "bob@example.com", "key": {"namespace": "kube-system"},
        "days_seen": 20, "baseline_days": 30, "count": 3,
    }  # fmt: skip
    assert pod["evidence"] == "seen on 20 of 30 baseline days (2026-09-01 to 2026-09-20)"
    assert [f["query_id"] for f in pod["findings"]] == [POD] * 3
    # The façade's frame lists the review queue; include_recurring adds them, marked.
    frame = archive.findings_frame(start=OCT, end=NOV)
    marked = archive.findings_frame(start=OCT, end=NOV, include_recurring=True)
    assert marked.height == frame.height + result.recurring_findings
    recurring_rows = [json.loads(e) for e in marked["evidence"] if "recurring" in json.loads(e)]
    assert len(recurring_rows) == result.recurring_findings


def test_falco_profile_judges_nothing_and_waits_for_nothing(archive: Archive) -> None:
    falco = open_archive(archive.store.root, config=_settings(profile="falco"))
    result = falco.findings(start=OCT, end=NOV)
    assert result.needs_configuration == [] and result.recurring == [] and result.tune_command == ""
    # erin's 12 requests and bob's 3 pod creates: under Falco's list nobody here is an allowed user
    assert sum(f.query_id == USER for f in result.findings) == 12 + 3
    assert sum(f.query_id == POD for f in result.findings) == 3


def test_cli_findings_lines_and_include_recurring(archive: Archive) -> None:
    args = ["findings", "--archive", str(archive.store.root), "--from", "2026-10-01", "--to", "2026-11-01"]
    plain = runner.invoke(app, [*args, "--format", "csv"])
    assert plain.exit_code == 0, plain.output
    result = archive.findings(start=OCT, end=NOV)
    n, patterns = result.recurring_findings, len(result.recurring)
    assert (
        f"5 check(s) need configuration and did not run (falco-create-disallowed-namespace, "
        f"falco-create-disallowed-pod, {USER}, falco-pod-created-in-kube-namespace, suspicious-image-pull): "
        f"`{TUNE}` proposes allow-list entries from the baseline; `kanalytics findings --json` gives each one's "
        "reason"
    ) in plain.stderr
    assert (
        f"{n} findings in {patterns} patterns shown as recurring behaviour (seen on most baseline days); "
        "--include-recurring lists them"
    ) in plain.stderr
    rows = plain.stdout.strip().splitlines()
    assert len(rows) == 1 + len(result.findings) and POD not in plain.stdout
    listed = runner.invoke(app, [*args, "--format", "csv", "--include-recurring"])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.strip().splitlines()
    assert lines[0].endswith(",recurring,finding_id") and len(lines) == 1 + len(result.findings) + n
    pod_lines = [line for line in lines if f",{POD}," in line]
    assert len(pod_lines) == 3
    assert all(
        re.search(r",seen on 20 of 30 baseline days \(2026-09-01 to 2026-09-20\),f-[0-9a-f]{16}$", line)
        for line in pod_lines
    )
    as_json = runner.invoke(app, [*args, "--json"])
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)
    assert len(data["findings"]) == len(result.findings)
    assert sum(p["count"] for p in data["recurring"]) == n
    assert len(data["needs_configuration"]) == 5
