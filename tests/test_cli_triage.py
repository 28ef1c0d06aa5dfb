"""`kanalytics triage set|list|show` through Typer's test runner, over a small synthetic archive; the results
are checked through the API (`Archive.dispositions`, `Archive.reviews`)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kanalytics import open_archive
from kanalytics.cli import app
from kanalytics.errors import UsageError
from tests.conftest import secrets_listed, stolen_token

pytestmark = pytest.mark.usefixtures("no_fsync")

# March 2025: never in the default period of `triage set` (the previous and the current month of today).
T0 = datetime(2025, 3, 10, 20, 18, 45, tzinfo=UTC)
PERIOD = ["--month", "2025-03"]
runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stolen service-account token used from a public address (one incident of two findings), and a day
    later a person listing every secret of the cluster (one finding)."""
    events = stolen_token(T0) + secrets_listed(T0 + timedelta(days=1))
    root = tmp_path_factory.mktemp("triage") / "archive"
    open_archive(root).ingest_events(events, cluster="c1")
    return root


@pytest.fixture(scope="module")
def listed(built: Path) -> dict[str, Any]:
    """What `findings --json` and `incidents --json` print for the archive (computed once: ids are stable)."""
    return {
        "findings": json.loads(invoke(built, "findings", *PERIOD, "--json").stdout)["findings"],
        "incidents": json.loads(invoke(built, "incidents", *PERIOD, "--json").stdout),
    }


def refused(result: Any, message: str) -> bool:
    """A UsageError (main() prints it on stderr and exits 2) carrying `message`."""
    return isinstance(result.exception, UsageError) and message in str(result.exception)


@pytest.fixture
def archive(built: Path, tmp_path: Path) -> Path:
    """A fresh copy per test: each one records its own dispositions."""
    return Path(shutil.copytree(built, tmp_path / "archive"))


def invoke(archive: Path, *args: str) -> Any:
    return runner.invoke(app, [*args, "--archive", str(archive)])


def test_finding_ids_are_listed_by_findings_and_incidents(archive: Path, listed: dict[str, Any]) -> None:
    findings = listed["findings"]
    ids = [f["finding_id"] for f in findings]
    assert len(ids) == len(set(ids)) >= 3 and all(i.startswith("f-") and len(i) == 18 for i in ids)
    assert next(iter(findings[0])) == "finding_id"
    table = list(csv.reader(io.StringIO(invoke(archive, "findings", *PERIOD, "-f", "csv").stdout)))
    assert table[0][-1] == "finding_id" and sorted(row[-1] for row in table[1:]) == sorted(ids)
    (incident, *_) = listed["incidents"]
    assert {m["finding_id"] for m in incident["findings"]} <= set(ids)


def test_set_list_show_a_finding(archive: Path, listed: dict[str, Any]) -> None:
    (secrets,) = [
        f for f in listed["findings"] if f["user_name"] == "eve@acme.example" and f["severity"] != "info"
    ]
    target = secrets["finding_id"]

    first = invoke(archive, "triage", "set", target, "--verdict", "needs-follow-up", "--note", "ask eve",
                   "--by", "alice@acme.example", *PERIOD)  # fmt: skip
    assert first.exit_code == 0, first.output
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    assert first.stdout.startswith(
        f"recorded {target}: needs-follow-up, reviewed by alice@acme.example on {today}: ask eve (manifest "
    )
    assert first.stdout.endswith("; covers 1 finding(s))\n")
    second = invoke(archive, "triage", "set", target, "--verdict", "benign", "--note", "[red]audit prep[/red]",
                    "--by", "alice@acme.example", *PERIOD, "--json")  # fmt: skip
    assert second.exit_code == 0, second.output
    stored = json.loads(second.stdout)
    assert (stored["verdict"], stored["note"], stored["findings"]) == (
        "benign",
        "[red]audit prep[/red]",
        [target],
    )

    table = invoke(archive, "triage", "list")
    assert table.exit_code == 0, table.output
    header, row = table.stdout.splitlines()
    assert header.split("\t") == ["target", "verdict", "by", "at", "findings", "manifest", "note"]
    assert row.split("\t") == [target, "benign", "alice@acme.example", stored["at"], "1", str(stored["seq"]),
                               "[red]audit prep[/red]"]  # fmt: skip
    shown = json.loads(invoke(archive, "triage", "show", target, "--json").stdout)
    assert [d["verdict"] for d in shown] == ["needs-follow-up", "benign"]
    assert shown[1] == stored
    assert open_archive(archive).dispositions()[target].to_json() == stored


def test_an_incident_verdict_records_its_members_and_reviews_them(
    archive: Path, listed: dict[str, Any]
) -> None:
    (incident, *_) = listed["incidents"]
    members = [m["finding_id"] for m in incident["findings"]]
    result = invoke(archive, "triage", "set", incident["id"], "--verdict", "true-positive", "--note",
                    "IR-7: token rotated", "--by", "bob", "--from", "2025-03-01", "--to", "2025-04-01", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"] == members

    api = open_archive(archive)
    reviews = api.reviews(api.incidents(month="2025-03"))
    assert {fid: d.target for fid, d in reviews.items()} == dict.fromkeys(members, incident["id"])
    assert verify_ok(archive)


def verify_ok(archive: Path) -> bool:
    result = invoke(archive, "verify")
    return result.exit_code == 0 and "files valid" in result.output


def test_list_filters_by_verdict_and_by_when_recorded(archive: Path, listed: dict[str, Any]) -> None:
    ids = [f["finding_id"] for f in listed["findings"]]
    for target, verdict in zip(ids[:2], ("benign", "true-positive"), strict=True):
        done = invoke(
            archive, "triage", "set", target, "--verdict", verdict, "--note", "n", "--by", "bob", *PERIOD
        )
        assert done.exit_code == 0, done.output
    benign = json.loads(invoke(archive, "triage", "list", "--verdict", "benign", "--json").stdout)
    assert [d["target"] for d in benign] == [ids[0]]
    this_month = f"{datetime.now(UTC):%Y-%m}"
    recorded_now = json.loads(invoke(archive, "triage", "list", "--month", this_month, "--json").stdout)
    assert [d["target"] for d in recorded_now] == [ids[1], ids[0]]  # newest first
    assert json.loads(invoke(archive, "triage", "list", *PERIOD, "--json").stdout) == []


def test_unknown_ids_fail_and_say_where_ids_are(archive: Path, listed: dict[str, Any]) -> None:
    unknown = invoke(archive, "triage", "set", "f-0000000000000000", "--verdict", "benign", "--note", "n",
                     "--by", "bob", *PERIOD)  # fmt: skip
    assert refused(unknown, "f-0000000000000000 is not a finding of 2025-03-01T00:00:00+00:00 to 2025-04-01")
    assert unknown.exception.hint.endswith(
        "finding ids are the `finding_id` of `kanalytics findings --json` (or of the report's findings.csv); "
        "incident ids are the `id` of `kanalytics incidents --json`"
    )
    # Without a period, the previous and the current month are searched: a March 2025 finding is not there.
    target = listed["findings"][0]["finding_id"]
    old = invoke(archive, "triage", "set", target, "--verdict", "benign", "--note", "n", "--by", "bob")
    assert refused(old, f"{target} is not a finding of")
    assert old.exception.hint.startswith("pass --month (or --from/--to) for the period it was found in")
    assert refused(invoke(archive, "triage", "show", "F-12"), "'F-12' is not a finding or incident id")
    never = invoke(archive, "triage", "show", target)
    assert never.exit_code == 1 and f"no disposition recorded for {target}" in never.stderr
    assert json.loads(invoke(archive, "triage", "list", "--json").stdout) == []


def test_bad_values_are_refused_before_anything_runs(archive: Path) -> None:
    manifests = sorted((archive / "_manifests").iterdir())
    typo = invoke(
        archive, "triage", "set", "f-0123456789abcdef", "--verdict", "fine", "--note", "n", "--by", "b"
    )
    assert typo.exit_code == 2 and "Invalid value for '--verdict'" in typo.output
    no_note = invoke(archive, "triage", "set", "f-0123456789abcdef", "--verdict", "benign", "--by", "bob")
    assert no_note.exit_code == 2 and "Missing option '--note'" in no_note.output
    for note, by, message in [
        ("n", " ", "needs a reviewer (--by)"),
        ("a\x1b[2Jb", "bob", "--note contains the control character U+001B"),
        ("n", "eve\u202e", "--by contains the control character U+202E"),
    ]:
        result = invoke(archive, "triage", "set", "f-0123456789abcdef", "--verdict", "benign", "--note", note,
                        "--by", by)  # fmt: skip
        assert refused(result, message), result.exception
    assert sorted((archive / "_manifests").iterdir()) == manifests
