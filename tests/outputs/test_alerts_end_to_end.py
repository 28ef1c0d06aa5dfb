"""Alerts end to end: events committed to an archive become deduplicated alerts delivered to real local HTTP
sinks (webhook, Alertmanager-shaped, Slack-shaped); a sink that is down is retried, a 4xx is a dead letter;
the receiver delivers a point-in-time detection within a minute of the POST (docs/alerts.md)."""

from __future__ import annotations

import copy
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import kanalytics
from kanalytics.catalog import evaluate
from kanalytics.cli import app
from kanalytics.config import parse_settings
from tests.outputs.sink_server import SinkServer, sink_server

CASE = Path(__file__).resolve().parents[1] / "cases" / "privileged-role-binding" / "fire.jsonl"
QUERY = "privileged-role-binding"


def binding(ts: datetime, user: str = "alice@example.com", name: str = "devs-admin") -> dict[str, Any]:
    """A ClusterRoleBinding to cluster-admin made by `user` at `ts` (privileged-role-binding fires on it)."""
    event = copy.deepcopy(json.loads(CASE.read_text().splitlines()[0]))
    event["auditID"] = str(uuid.uuid4())
    event["user"]["username"] = user
    event["requestObject"]["metadata"]["name"] = name
    event["requestObject"]["roleRef"]["name"] = "cluster-admin"
    event["requestReceivedTimestamp"] = ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    event["stageTimestamp"] = (ts + timedelta(milliseconds=12)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return event


def settings_for(sinks: list[dict[str, Any]], **alerts: Any) -> Any:
    return parse_settings({"alerts": {"sinks": sinks, **alerts}})


def open_with(tmp_path: Path, settings: Any) -> kanalytics.Archive:
    return kanalytics.open_archive(tmp_path / "archive", config=settings)


def test_findings_become_deduplicated_alerts_on_three_kinds_of_sink(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with sink_server() as hook, sink_server() as manager, sink_server() as slack:
        (tmp_path / "slack-url").write_text(f"{slack.url}/services/T0/B0/secret\n")
        settings = settings_for([
            {"name": "hook", "type": "webhook", "url": f"{hook.url}/falco", "min_severity": "high"},
            {"name": "am", "type": "alertmanager", "url": manager.url, "min_severity": "high"},
            {"name": "chat", "type": "slack", "url_secret": {"file": str(tmp_path / "slack-url")}},
        ])  # fmt: skip
        arch = open_with(tmp_path, settings)
        first = [
            binding(now - timedelta(minutes=20)),
            binding(now - timedelta(minutes=19), name="devs-admin-2"),
        ]
        arch.ingest_events(
            [*first, binding(now - timedelta(minutes=18), user="bob@example.com")], cluster="prod"
        )
        # alice's two bindings are one alert (count 2), bob's another; Falco's info "ClusterRoleBinding created"
        # matched them too, and opened alerts below every sink's minimum severity (queued for none).
        mine = [a for a in arch.alerting.outbox.alerts() if a.query_id == QUERY]
        assert sorted((a.dedup["user_name"], a.count) for a in mine) == [
            ("alice@example.com", 2), ("bob@example.com", 1),
        ]  # fmt: skip
        assert arch.alerting.admitted.queued == {"hook": 2, "am": 2, "chat": 2}
        stats = arch.alerting.deliver(seconds=20)
        assert stats is not None and (stats.delivered, stats.retrying, stats.dead) == (6, 0, 0)

        payloads = sorted(
            (r.body for r in hook.wait_for(2)), key=lambda p: p["output_fields"]["ka.user.name"]
        )
        assert [p["rule"] for p in payloads] == [arch.catalog.get(QUERY).header.title] * 2
        assert [p["output_fields"]["ka.user.name"] for p in payloads] == [
            "alice@example.com",
            "bob@example.com",
        ]
        assert payloads[0]["output_fields"]["kanalytics.count"] == 2
        assert {p["source"] for p in payloads} == {"k8s_audit"} and all(p["uuid"] for p in payloads)
        assert {r.path for r in hook.received} == {"/falco"}

        posted = [alert for r in manager.wait_for(2) for alert in r.body]
        assert {r.path for r in manager.received} == {"/api/v2/alerts"}
        assert sorted(a["labels"]["identity"] for a in posted) == ["alice@example.com", "bob@example.com"]
        assert {a["labels"]["alertname"] for a in posted} == {QUERY}
        assert {a["labels"]["cluster"] for a in posted} == {"prod"}

        messages = slack.wait_for(2)
        assert {r.path for r in messages} == {"/services/T0/B0/secret"}
        assert all(r.body["blocks"] for r in messages)
        assert messages[1].at - messages[0].at >= 0.9  # at most one message a second

        # A third binding by alice within the window updates the open alert's count; nothing is sent.
        arch.ingest_events([binding(now - timedelta(minutes=5), name="devs-admin-3")], cluster="prod")
        assert arch.alerting.deliver(seconds=5) is not None
        assert len(hook.received) == 2 and len(manager.received) == 2 and len(slack.received) == 2
        counts = {a.dedup["user_name"]: a.count for a in arch.alerting.outbox.alerts() if a.query_id == QUERY}
        assert counts == {"alice@example.com": 3, "bob@example.com": 1}

        # Committed again (a retried webhook batch), the same events alert nobody twice.
        arch.ingest_events(first, cluster="prod")
        arch.alerting.deliver(seconds=5)
        assert len(hook.received) == 2


def test_allow_listed_and_old_findings_do_not_alert(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with sink_server() as hook:
        settings = parse_settings({
            "alerts": {"sinks": [{"name": "hook", "type": "webhook", "url": hook.url}]},
            "allowlists": {
                "query_lists": {QUERY: [{"value": "ops@example.com", "reason": "platform on-call"}]}
            },
        })  # fmt: skip
        arch = open_with(tmp_path, settings)
        arch.ingest_events(
            [binding(now - timedelta(minutes=3), user="ops@example.com"), binding(now - timedelta(days=3))],
            cluster="prod",
        )
        admitted = arch.alerting.admitted
        alerts = arch.alerting.outbox.alerts()
        # The allow-listed binding alerts only as Falco's info "ClusterRoleBinding created", which no sink wants;
        # the binding of three days ago is too old for both queries that match it.
        assert [(a.query_id, a.dedup["user_name"]) for a in alerts] == [
            ("falco-clusterrolebinding-created", "ops@example.com")
        ]
        assert (admitted.queued, admitted.too_old) == ({}, 2)
        arch.alerting.deliver(seconds=5)
        assert hook.received == []


def test_a_sink_that_is_down_is_retried_with_backoff_and_delivered_when_it_is_back(tmp_path: Path) -> None:
    down = SinkServer()
    port = down.port
    down.server.server_close()  # nothing listens on the port now
    settings = settings_for([{"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:{port}/"}])
    arch = open_with(tmp_path, settings)
    arch.ingest_events([binding(datetime.now(UTC) - timedelta(minutes=2))], cluster="prod")
    stats = arch.alerting.deliver(seconds=10)
    assert stats is not None and (stats.delivered, stats.retrying) == (0, 1)
    [waiting] = arch.alerting.outbox.deliveries(state="retrying")
    assert waiting.attempts == 1 and waiting.next_at > datetime.now(UTC)
    with sink_server(port) as hook:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not hook.received:
            arch.alerting.deliver(seconds=5)  # nothing is sent before the backoff has passed
            time.sleep(0.2)
        assert len(hook.received) == 1
    [done] = arch.alerting.outbox.deliveries(state="delivered")
    assert done.attempts == 2


def test_a_4xx_is_a_dead_letter_listed_with_the_response_and_retried_on_request(tmp_path: Path) -> None:
    with sink_server(answers=[(400, '{"error": "bad payload"}', {}), (200, "{}", {})]) as hook:
        config = tmp_path / "kanalytics.toml"
        config.write_text(f'[[alerts.sinks]]\nname = "hook"\ntype = "webhook"\nurl = "{hook.url}/"\n')
        arch = kanalytics.open_archive(tmp_path / "archive", config=config)
        arch.ingest_events([binding(datetime.now(UTC) - timedelta(minutes=2))], cluster="prod")
        arch.alerting.deliver(seconds=5)
        runner = CliRunner()
        common = ["--archive", str(tmp_path / "archive"), "--config", str(config)]
        listed = runner.invoke(app, ["alerts", "list", "--state", "dead", "--json", *common])
        assert listed.exit_code == 0, listed.output
        [dead] = json.loads(listed.stdout)["deliveries"]
        assert dead["sink"] == "hook" and dead["state"] == "dead" and dead["last_status"] == 400
        assert "bad payload" in dead["last_response"]
        retried = runner.invoke(app, ["alerts", "retry", "--sink", "hook", *common])
        assert retried.exit_code == 0, retried.output
        assert len(hook.wait_for(2)) == 2  # the retry delivered it (the server answers 200 now)
        again = runner.invoke(app, ["alerts", "list", "--state", "delivered", "--json", *common])
        assert [d["sink"] for d in json.loads(again.stdout)["deliveries"]] == ["hook"]


def test_alerts_test_sends_one_test_alert_and_reports_the_outcome(tmp_path: Path) -> None:
    with sink_server(answers=[(200, "{}", {}), (503, "busy", {"Retry-After": "5"})]) as hook:
        config = tmp_path / "kanalytics.toml"
        config.write_text(f'[[alerts.sinks]]\nname = "hook"\ntype = "webhook"\nurl = "{hook.url}/x"\n')
        common = ["--archive", str(tmp_path / "archive"), "--config", str(config)]
        runner = CliRunner()
        ok = runner.invoke(app, ["alerts", "test", "hook", *common])
        assert ok.exit_code == 0, ok.output
        assert "delivered" in ok.output and hook.received[0].body["rule"] == "kanalytics test alert"
        busy = runner.invoke(app, ["alerts", "test", "hook", *common])
        assert busy.exit_code == 1 and "503" in busy.output
        unknown = runner.invoke(app, ["alerts", "test", "nope", *common])
        assert unknown.exit_code == 1  # a UsageError: main() prints it as one line
        assert str(unknown.exception).startswith("no alert sink named 'nope' (configured: hook)")


SECRETS = Path(__file__).resolve().parents[1] / "cases" / "secrets-list-clusterwide" / "fire.jsonl"


def secrets_listed(ts: datetime, user: str) -> dict[str, Any]:
    """A cluster-wide list of secrets by `user` at `ts` (secrets-list-clusterwide fires on it)."""
    event = copy.deepcopy(json.loads(SECRETS.read_text().splitlines()[0]))
    event["auditID"] = str(uuid.uuid4())
    event["user"] = {"username": user, "groups": ["system:authenticated"]}
    event["requestReceivedTimestamp"] = ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    event["stageTimestamp"] = (ts + timedelta(milliseconds=12)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return event


@pytest.mark.parametrize(("unit", "expected"), [("finding", 3), ("incident", 2)])
def test_with_incidents_as_the_unit_linked_findings_alert_once(
    tmp_path: Path, unit: str, expected: int
) -> None:
    """alice binds cluster-admin and then lists every secret (two queries, one incident); bob binds once."""
    now = datetime.now(UTC).replace(microsecond=0)
    with sink_server() as hook:
        settings = settings_for([{"name": "hook", "type": "webhook", "url": hook.url}], unit=unit)
        arch = open_with(tmp_path, settings)
        arch.ingest_events(
            [binding(now - timedelta(minutes=30)), secrets_listed(now - timedelta(minutes=10), "alice@example.com"),
             binding(now - timedelta(minutes=20), user="bob@example.com", name="other")],
            cluster="prod",
        )  # fmt: skip
        assert arch.alerting.admitted.queued == {"hook": expected}
        arch.alerting.deliver(seconds=10)
        payloads = hook.wait_for(expected)
    assert len(payloads) == expected
    if unit == "incident":
        alice = next(
            p.body for p in payloads if p.body["output_fields"]["ka.user.name"] == "alice@example.com"
        )
        assert (
            alice["output_fields"]["kanalytics.count"] == 2
        )  # the secrets listing joined the incident's alert
        [stored] = [a for a in arch.alerting.outbox.alerts() if a.kind == "incident" and a.count == 2]
        assert stored.incident is not None and stored.incident.startswith("inc-")
        assert stored.query_id == QUERY  # keyed by the incident's first finding


def test_the_outbox_forgets_what_is_older_than_forty_days_at_the_first_commit(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with sink_server() as hook:
        settings = settings_for([{"name": "hook", "type": "webhook", "url": hook.url}])
        first = open_with(tmp_path, settings)
        first.ingest_events([binding(now - timedelta(minutes=5))], cluster="prod")
        first.alerting.deliver(seconds=10)
        assert len(first.alerting.outbox.deliveries(state="delivered")) == 1
        later = open_with(tmp_path, settings)  # a new process, 41 days on
        later.alerting.after_commit(evaluate.committed_parts(later.store, 0), now=now + timedelta(days=41))
        assert later.alerting.outbox.deliveries() == []
        assert later.alerting.outbox.alerts() == []


def test_ingest_says_what_it_alerted_and_delivers_once(tmp_path: Path) -> None:
    with sink_server() as hook:
        config = tmp_path / "kanalytics.toml"
        config.write_text(f'[[alerts.sinks]]\nname = "hook"\ntype = "webhook"\nurl = "{hook.url}/"\n')
        log = tmp_path / "audit.jsonl"
        log.write_text(json.dumps(binding(datetime.now(UTC) - timedelta(minutes=1))) + "\n")
        common = ["--archive", str(tmp_path / "archive"), "--config", str(config), "--cluster", "prod"]
        result = CliRunner().invoke(app, ["ingest", str(log), *common])
        assert result.exit_code == 0, result.output
        assert "alerts: 2 new finding(s), 1 alert(s) queued (hook: 1)" in result.output
        assert "delivery: 1 delivered, 0 to retry, 0 failed" in result.output
        assert len(hook.received) == 1
        again = CliRunner().invoke(app, ["ingest", str(log), "--full", "--json", *common])
        assert again.exit_code == 0, again.output
        summary = json.loads(again.stdout)
        assert summary["duplicates"] == 1 and summary["alerts"]["queued"] == {}
        assert len(hook.received) == 1
