"""`kanalytics incidents` through Typer's test runner: table and JSON output, hostile names, exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanalytics import open_archive
from kanalytics.cli import app
from kanalytics.errors import UsageError
from tests.conftest import make_event

pytestmark = pytest.mark.usefixtures("no_fsync")

T0 = datetime(2026, 10, 25, 20, 18, 45, tzinfo=UTC)
SA = "system:serviceaccount:payments:payments-api"
HOSTILE = (
    "eve\x1b]0;owned\x07\x1b[2J@acme.example"  # retitles the window and clears the screen if printed raw
)
PERIOD = ["--from", "2026-10-25", "--to", "2026-10-27"]
runner = CliRunner()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stolen service-account token (public address, then a self-subject review) and, a day later, a
    person with an escape-code user name listing every secret of the cluster."""
    sa = {"username": SA, "groups": ["system:serviceaccounts", "system:authenticated"]}
    review = {"resource": "selfsubjectrulesreviews", "apiGroup": "authorization.k8s.io", "apiVersion": "v1"}
    events = [
        make_event(T0, user=sa, sourceIPs=["45.155.205.233"], verb="list", requestURI="/api/v1/namespaces/payments/pods",
                   objectRef={"resource": "pods", "namespace": "payments", "apiVersion": "v1"}),
        make_event(T0 + timedelta(seconds=5), user=sa, sourceIPs=["45.155.205.233"], verb="create", objectRef=review,
                   requestURI="/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                   responseStatus={"metadata": {}, "code": 201}),
        make_event(T0 + timedelta(days=1), user={"username": HOSTILE, "groups": ["system:authenticated"]},
                   verb="list", requestURI="/api/v1/secrets", sourceIPs=["10.0.0.9"],
                   objectRef={"resource": "secrets", "apiVersion": "v1"}),
    ]  # fmt: skip
    root = tmp_path_factory.mktemp("incidents") / "archive"
    open_archive(root).ingest_events(events, cluster="c1")
    return root


def test_json_lists_the_incidents_with_their_findings(archive: Path) -> None:
    result = runner.invoke(app, ["incidents", "--archive", str(archive), *PERIOD, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    incidents = json.loads(result.stdout)
    assert [(i["severity"], i["identities"], i["source_ips"], i["clusters"]) for i in incidents] == [
        ("critical", [SA], ["45.155.205.233"], ["c1"]),
        ("high", [HOSTILE], ["10.0.0.9"], ["c1"]),
    ]
    assert sorted(f["query_id"] for f in incidents[0]["findings"]) == [
        "self-subject-review",
        "system-principal-public-ip",
    ]
    assert set(incidents[0]["findings"][0]) == {"finding_id", "query_id", "audit_id"}
    assert list(incidents[0]) == [
        "id", "severity", "title", "start", "end", "identities", "source_ips", "clusters", "tactics", "narrative",
        "findings", "verdict", "review", "reviewed",
    ]  # fmt: skip
    assert (incidents[0]["verdict"], incidents[0]["review"], incidents[0]["reviewed"]) == (None, None, 0)
    critical = runner.invoke(
        app, ["incidents", "--archive", str(archive), *PERIOD, "--min-severity", "critical", "--json"]
    )
    assert critical.exit_code == 0, critical.output
    assert [i["id"] for i in json.loads(critical.stdout)] == [incidents[0]["id"]]


def test_table_ranks_incidents_then_tells_the_top_ones_with_escapes_visible(archive: Path) -> None:
    result = runner.invoke(app, ["incidents", "--archive", str(archive), *PERIOD])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == "rank\tseverity\ttitle\tstart\tend\tidentities\taddresses\tfindings"
    first, second = (line.split("\t") for line in lines[1:3])
    assert (first[0], first[1], first[5], first[6], first[7]) == ("1", "critical", SA, "45.155.205.233", "2")
    assert (second[0], second[1], second[7]) == ("2", "high", "1")
    shown = "eve\\x1b]0;owned\\x07\\x1b[2J@acme.example"
    assert second[5] == shown
    narrative = lines[3:]
    assert narrative[0] == ""
    assert narrative[1].startswith(
        "#1 CRITICAL Service account or node credentials used from a public address"
    )
    assert [line.split(":", 1)[0] for line in narrative[2:4]] == [
        "  Initial access",
        "  Discovery",
    ]
    assert any(line.startswith("#2 HIGH ") for line in narrative)
    assert any(shown in line for line in narrative)
    assert "2 incidents from 3 findings" in result.stderr


def test_empty_period_says_so_and_exits_0_like_findings(archive: Path) -> None:
    period = ["--from", "2026-01-01", "--to", "2026-01-02"]
    result = runner.invoke(app, ["incidents", "--archive", str(archive), *period])
    findings = runner.invoke(app, ["findings", "--archive", str(archive), *period])
    assert (result.exit_code, findings.exit_code) == (0, 0)
    assert result.stdout.splitlines()[-1] == "(no rows)" == findings.stdout.splitlines()[-1]
    warning = "warning: nothing matched: the archive"
    assert warning in result.stderr and warning in findings.stderr
    as_json = runner.invoke(app, ["incidents", "--archive", str(archive), *period, "--format", "json"])
    assert (as_json.exit_code, json.loads(as_json.stdout)) == (0, [])


def test_usage_errors(archive: Path) -> None:
    reversed_period = runner.invoke(
        app, ["incidents", "--archive", str(archive), "--from", "2026-10-06", "--to", "2026-10-05"]
    )
    assert isinstance(reversed_period.exception, UsageError)  # main() prints it and exits 2
    assert "at or before it starts" in str(reversed_period.exception)
    bad = runner.invoke(app, ["incidents", "--archive", str(archive), *PERIOD, "--min-severity", "urgent"])
    assert bad.exit_code == 2
