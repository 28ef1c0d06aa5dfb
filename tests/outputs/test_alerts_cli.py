"""`kanalytics alerts list|retry` through the CLI, checked against the outbox they read and change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanalytics.archive.layout import Layout
from kanalytics.cli import app
from kanalytics.errors import ArchiveError
from kanalytics.outputs.alerts.model import Outcome
from kanalytics.outputs.alerts.outbox import Outbox
from tests.outputs.test_outbox import NOW, admit, finding

runner = CliRunner()
EVIL = "\x1b[31mroot"


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An archive (an events/ folder is enough for the alert commands) and no configuration but defaults."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KANALYTICS_CONFIG", raising=False)
    root = tmp_path / "archive"
    (root / "events").mkdir(parents=True)
    return root


def _outbox(archive: Path) -> tuple[Outbox, list[str]]:
    """Three alerts: alice's delivered to hook, the evil name's dead at hook (a 403), bob's still pending."""
    outbox = Outbox.at(Layout(archive))
    alerts = admit(outbox, [finding(0), finding(1, user=EVIL), finding(2, user="bob"), finding(3)]).alerts
    outbox.mark(alerts[0].id, "hook", Outcome("delivered", 200, "200 OK"), now=NOW, next_at=None)
    outbox.mark(alerts[1].id, "hook", Outcome("dead", 403, "403 Forbidden: bad token"), now=NOW, next_at=None)
    return outbox, [a.id for a in alerts]


def test_list_prints_the_deliveries_and_the_counts(archive: Path) -> None:
    _, (alice, evil, bob) = _outbox(archive)
    result = runner.invoke(app, ["alerts", "list", "--archive", str(archive)])
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split("\t") == ["alert", "created", "sink", "state", "attempts", "severity", "query", "cluster",
                                  "identity", "count", "last_response"]  # fmt: skip
    assert [row.split("\t") for row in rows] == [
        [bob[:8], "2026-10-01T14:00:00+00:00", "hook", "pending", "0", "high", "exec-into-pod", "c1", "bob", "1", ""],
        [evil[:8], "2026-10-01T14:00:00+00:00", "hook", "dead", "1", "high", "exec-into-pod", "c1",
         "\\x1b[31mroot", "1", "403 Forbidden: bad token"],
        [alice[:8], "2026-10-01T14:00:00+00:00", "hook", "delivered", "1", "high", "exec-into-pod", "c1", "alice",
         "2", ""],
    ]  # fmt: skip
    assert "\x1b" not in result.stdout
    assert result.stderr.strip() == "deliveries: hook: 1 dead, 1 delivered, 1 pending"


def test_the_terminal_table_escapes_names_from_logs(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _outbox(archive)
    monkeypatch.setattr("kanalytics.cli.output.stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "250")
    result = runner.invoke(app, ["alerts", "list", "--archive", str(archive), "--state", "dead"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\\x1b[31mroot" in result.stdout
    assert "403 Forbidden" in result.stdout and "bob" not in result.stdout


def test_list_json_has_the_deliveries_and_the_counts(archive: Path) -> None:
    _, (_, evil, _) = _outbox(archive)
    result = runner.invoke(app, ["alerts", "list", "--archive", str(archive), "--state", "dead", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted(data) == ["counts", "deliveries"]
    [dead] = data["deliveries"]
    assert {k: v for k, v in dead.items() if k != "alert"} == {
        "alert_id": evil, "sink": "hook", "state": "dead", "attempts": 1, "next_at": NOW.isoformat(),
        "last_status": 403, "last_response": "403 Forbidden: bad token", "updated_at": NOW.isoformat(),
    }  # fmt: skip
    assert dead["alert"]["id"] == evil and dead["alert"]["dedup"] == {"user_name": EVIL}
    assert data["counts"] == [
        {"sink": "hook", "state": "dead", "deliveries": 1},
        {"sink": "hook", "state": "delivered", "deliveries": 1},
        {"sink": "hook", "state": "pending", "deliveries": 1},
    ]
    assert "\x1b" not in result.stdout  # the JSON escapes it (\u001b), and decodes to the name


def test_list_of_an_archive_without_alerts(archive: Path) -> None:
    result = runner.invoke(app, ["alerts", "list", "--archive", str(archive), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"deliveries": [], "counts": []}
    assert result.stderr.strip() == "no alerts in the outbox"
    assert not Outbox.at(Layout(archive)).path.exists()  # listing created nothing


def test_list_refuses_a_folder_that_is_not_an_archive(tmp_path: Path) -> None:
    result = runner.invoke(app, ["alerts", "list", "--archive", str(tmp_path / "nowhere")])
    assert isinstance(result.exception, ArchiveError) and "is not a kanalytics archive" in str(
        result.exception
    )
    bad = runner.invoke(app, ["alerts", "list", "--archive", str(tmp_path), "--state", "lost"])
    assert bad.exit_code == 2


def test_retry_puts_dead_deliveries_back_and_exits_1_when_none_matched(archive: Path) -> None:
    outbox, (_, evil, bob) = _outbox(archive)
    outbox.mark(bob, "hook", Outcome("retry", 503, "503"), now=NOW, next_at=NOW)
    nothing = runner.invoke(app, ["alerts", "retry", "--archive", str(archive), "--sink", "pager"])
    assert (nothing.exit_code, nothing.stdout) == (1, "")
    assert "no dead deliveries matched" in nothing.stderr
    one = runner.invoke(app, ["alerts", "retry", evil[:8], "--archive", str(archive)])
    assert (one.exit_code, one.stdout) == (0, "1 dead deliveries back to pending\n")
    assert {d.alert.id: d.state for d in outbox.deliveries()}[evil] == "pending"
    again = runner.invoke(app, ["alerts", "retry", "--archive", str(archive)])
    assert again.exit_code == 1  # nothing dead any more; bob's is retrying, not dead
    failed = runner.invoke(app, ["alerts", "retry", "--archive", str(archive), "--all-failed", "--json"])
    assert (failed.exit_code, json.loads(failed.stdout)) == (0, {"queued": 1, "delivery": None})  # no sinks
    assert outbox.counts() == {("hook", "delivered"): 1, ("hook", "pending"): 2}
    short = runner.invoke(app, ["alerts", "retry", "abc", "--archive", str(archive)])
    assert "alert id 'abc' is too short" in str(short.exception)
