"""The synthetic cluster: deterministic, valid, realistic in shape and ratio, and honest about its incidents."""

from __future__ import annotations

import gzip
import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard

from kanalytics.archive.rows import event_to_row, parse_timestamp
from kanalytics.errors import UsageError
from kanalytics.synth import SCENARIOS, SynthResult, generate
from kanalytics.synth.cluster import build_cluster

START = date(2026, 10, 1)
DAYS = 5
EVENTS = 40_000
WRITES = {"create", "update", "patch", "delete", "deletecollection"}


class Run:
    def __init__(self, result: SynthResult, path: Path, truth: Path) -> None:
        self.result = result
        self.raw = path.read_bytes()
        self.events: list[dict[str, Any]] = [orjson.loads(line) for line in self.raw.splitlines()]
        self.truth = json.loads(truth.read_text())
        self.ids = {e["auditID"] for e in self.events}
        self.incident_ids = {i for entry in self.truth["incidents"] for i in entry["audit_ids"]}


def _run(tmp: Path, name: str, **kwargs: Any) -> Run:
    out, truth = tmp / f"{name}.jsonl", tmp / f"{name}.truth.json"
    args: dict[str, Any] = {"start": START, "days": DAYS, "events": EVENTS, "seed": 7} | kwargs
    return Run(generate(out, truth=truth, **args), out, truth)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth")


@pytest.fixture(scope="module")
def full(tmp: Path) -> Run:
    return _run(tmp, "full")


@pytest.fixture(scope="module")
def without(tmp: Path) -> Run:
    return _run(
        tmp,
        "without",
        scenarios=[s for s in SCENARIOS if s not in ("cluster-admin-binding", "exec-token-theft")],
    )


def test_exact_count_and_deterministic(full: Run, tmp: Path) -> None:
    assert len(full.events) == EVENTS == full.result.events
    again = _run(tmp, "again")
    assert again.raw == full.raw
    other = _run(tmp, "other-seed", seed=8)
    assert other.raw != full.raw


def test_every_event_is_valid_and_sorted(full: Run) -> None:
    previous = 0
    for ev in full.events:
        row = event_to_row(ev)  # raises NotAnEvent for anything the archive would quarantine
        # kind and apiVersion are kept verbatim in `extra`; anything else there means a modelling slip
        assert json.loads(row["extra"]) == {"fields": {"kind": "Event", "apiVersion": "audit.k8s.io/v1"}}
        assert ev["kind"] == "Event" and ev["apiVersion"] == "audit.k8s.io/v1"
        assert ev["level"] in ("Metadata", "Request", "RequestResponse")
        assert ev["stage"] in ("ResponseStarted", "ResponseComplete")
        assert isinstance(ev["responseStatus"]["code"], int)
        assert ev["sourceIPs"] and ev["userAgent"] and ev["user"]["username"]
        t_req, exact_req = parse_timestamp(ev["requestReceivedTimestamp"])
        t_stage, exact_stage = parse_timestamp(ev["stageTimestamp"])
        assert exact_req and exact_stage and ev["requestReceivedTimestamp"].endswith("Z")
        assert t_stage >= t_req >= previous
        previous = t_req
        if "objectRef" not in ev:
            assert ev["verb"] == "get" and not ev["requestURI"].startswith("/api/v1/namespaces")
        if ev["level"] == "Metadata":
            assert "requestObject" not in ev and "responseObject" not in ev
    start = datetime(START.year, START.month, START.day, tzinfo=UTC)
    assert full.events[0]["requestReceivedTimestamp"] >= start.strftime("%Y-%m-%dT%H:%M:%S")


def test_watches_have_both_stages_under_one_audit_id(full: Run) -> None:
    stages: dict[str, list[str]] = defaultdict(list)
    for ev in full.events:
        if ev["verb"] == "watch":
            stages[ev["auditID"]].append(ev["stage"])
            assert "watch=true" in ev["requestURI"] and "resourceVersion=" in ev["requestURI"]
    assert len(stages) > 100
    assert all(sorted(s) == ["ResponseComplete", "ResponseStarted"] for s in stages.values())
    other = Counter(
        ev["auditID"] for ev in full.events if ev["verb"] != "watch" and ev["stage"] == "ResponseComplete"
    )
    assert max(other.values()) == 1


def test_truth_lists_every_scenario_with_existing_ids(full: Run) -> None:
    entries = {e["scenario"]: e for e in full.truth["incidents"]}
    assert set(entries) == set(SCENARIOS)
    for name, entry in entries.items():
        assert entry["technique"] == SCENARIOS[name]["technique"]
        assert entry["audit_ids"] and set(entry["audit_ids"]) <= full.ids, name
        assert entry["start"] <= entry["end"]
        mine = [e for e in full.events if e["auditID"] in set(entry["audit_ids"])]
        assert min(e["requestReceivedTimestamp"] for e in mine) == entry["start"]


def test_switched_off_scenarios_leak_nothing(full: Run, without: Run) -> None:
    off = [
        e for e in full.truth["incidents"] if e["scenario"] in ("cluster-admin-binding", "exec-token-theft")
    ]
    assert {e["scenario"] for e in without.truth["incidents"]} == set(SCENARIOS) - {
        "cluster-admin-binding",
        "exec-token-theft",
    }
    for entry in off:
        assert not set(entry["audit_ids"]) & without.ids, entry["scenario"]
    # ci-token-takeover, still on, binds cluster-admin itself (to its own service account, from its own address)
    takeover = {
        i for e in without.truth["incidents"] if e["scenario"] == "ci-token-takeover" for i in e["audit_ids"]
    }
    assert takeover
    for ev in without.events:
        if ev["auditID"] in takeover:
            continue
        ref = ev.get("objectRef", {})
        body = ev.get("requestObject") or {}
        assert not (ref.get("resource") == "clusterrolebindings" and ev["verb"] == "create")
        assert body.get("roleRef", {}).get("name") != "cluster-admin"
        assert not (ref.get("subresource") == "exec" and ref.get("namespace") == "kube-system")
    # the scenarios left on are placed identically: each has its own random stream
    still_on = {e["scenario"]: e["audit_ids"] for e in without.truth["incidents"]}
    for entry in full.truth["incidents"]:
        if entry["scenario"] in still_on and entry["scenario"] != "volume-spike":
            assert entry["audit_ids"] == still_on[entry["scenario"]]


def test_no_scenarios_means_no_incident_signatures(tmp: Path) -> None:
    run = _run(tmp, "none", scenarios="none")
    assert run.truth["incidents"] == []
    for ev in run.events:
        ref = ev.get("objectRef", {})
        assert ev["user"]["username"] != "system:anonymous"
        assert ref.get("resource") not in ("mutatingwebhookconfigurations", "selfsubjectaccessreviews")
        assert not (ref.get("resource") == "events" and ev["verb"] in ("delete", "deletecollection"))
        assert not (ref.get("resource") == "secrets" and ev["verb"] == "list" and "namespace" not in ref)
        spec = (ev.get("requestObject") or {}).get("spec", {})
        assert spec.get("type") != "NodePort" and not spec.get("hostPID")
        # the multi-step intrusion's: a new address, a token request, a DaemonSet, a kube-system identity
        assert ev["sourceIPs"] != ["193.142.146.35"] and ref.get("subresource") != "token"
        assert not (ref.get("resource") == "daemonsets" and ev["verb"] == "create")
        assert ev["user"]["username"] != "system:serviceaccount:kube-system:kube-controller"


def test_ratios_match_the_documentation(full: Run) -> None:
    bg = [e for e in full.events if e["auditID"] not in full.incident_ids]
    n = len(bg)
    users = Counter(e["user"]["username"] for e in bg)
    control = sum(c for u, c in users.items() if u.startswith(("system:node:", "system:kube-", "system:apiserver"))
                  or u.startswith("system:serviceaccount:kube-system:"))  # fmt: skip
    humans = sum(c for u, c in users.items() if u.endswith("@acme.example"))
    writes = sum(e["verb"] in WRITES for e in bg)
    denied = sum(e["responseStatus"]["code"] in (401, 403) for e in bg)
    bodies = sum("requestObject" in e or "responseObject" in e for e in bg)
    assert 0.72 <= control / n <= 0.85
    assert 0.03 <= humans / n <= 0.09
    assert 0.20 <= writes / n <= 0.33
    assert 0 < denied / n < 0.01
    assert 0.04 <= bodies / n <= 0.12
    assert 700 <= full.result.bytes_per_event <= 3000
    assert not any(
        e["level"] != "Metadata" for e in bg if e.get("objectRef", {}).get("resource") == "secrets"
    )


def test_node_leases_are_steady_per_node_per_hour(full: Run) -> None:
    per: Counter[tuple[str, str]] = Counter()
    for ev in full.events:
        ref = ev.get("objectRef", {})
        if ref.get("namespace") == "kube-node-lease" and ev["verb"] == "update":
            per[(ref["name"], ev["requestReceivedTimestamp"][:13])] += 1
    nodes = {node for node, _ in per}
    assert len(nodes) >= 6 and len(per) == len(nodes) * DAYS * 24
    assert max(per.values()) - min(per.values()) <= 1


def test_people_work_their_hours_and_places(full: Run) -> None:
    cast = {e.user["username"]: e for e in build_cluster("demo", 7, 6).engineers}
    by_hour: Counter[int] = Counter()
    for ev in full.events:
        eng = cast.get(ev["user"]["username"])
        if eng is None or ev["auditID"] in full.incident_ids:
            continue
        local = datetime.fromisoformat(ev["requestReceivedTimestamp"]).astimezone(eng.tz)
        assert eng.work_start <= local.hour < eng.work_end and local.weekday() < 5
        assert ev["sourceIPs"][0] in eng.ips and ev["userAgent"] in eng.user_agents
        by_hour[datetime.fromisoformat(ev["requestReceivedTimestamp"]).hour] += 1
    assert len(by_hour) >= 12 and by_hour[0] + by_hour[1] == 0  # nobody works 00-02 UTC in any of the zones


def test_incident_window_keeps_the_baseline_clean(tmp: Path) -> None:
    run = _run(
        tmp,
        "window",
        start=date(2026, 9, 20),
        days=16,
        events=48_000,
        incident_window_start=date(2026, 10, 1),
    )
    assert {e["scenario"] for e in run.truth["incidents"]} == set(SCENARIOS)
    assert all(e["start"] >= "2026-10-01" for e in run.truth["incidents"])
    sunday = next(e for e in run.truth["incidents"] if e["scenario"] == "off-hours-foreign")
    erin = next(e for e in build_cluster("demo", 7, 6).engineers if e.name == "erin")
    local = datetime.fromisoformat(sunday["start"]).astimezone(erin.tz)
    assert local.weekday() == 6 and local.hour == 3


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst"])
def test_compressed_output(tmp: Path, suffix: str) -> None:
    out = tmp / f"small{suffix}"
    result = generate(out, start=START, days=1, events=5_000, seed=1, scenarios="none")
    data = out.read_bytes()
    text = (
        gzip.decompress(data)
        if suffix.endswith("gz")
        else zstandard.ZstdDecompressor().decompressobj().decompress(data)
    )
    assert text.count(b"\n") == result.events == 5_000 and result.file_bytes < result.json_bytes / 5


def test_bad_arguments(tmp: Path) -> None:
    with pytest.raises(UsageError, match="unknown scenario"):
        generate(tmp / "x.jsonl", start=START, days=1, events=5_000, scenarios=["no-such-thing"])
    with pytest.raises(UsageError, match="too few"):
        generate(tmp / "x.jsonl", start=START, days=3, events=100)
    with pytest.raises(UsageError, match="outside"):
        generate(tmp / "x.jsonl", start=START, days=3, events=9_000, incident_window_start=date(2026, 12, 1))


def test_cli_synth(tmp: Path) -> None:
    from typer.testing import CliRunner

    from kanalytics.cli import app

    out, truth = tmp / "cli.jsonl", tmp / "cli.truth.json"
    args = ["synth", "--out", str(out), "--start", "2026-10-01", "--days", "2", "--events", "8000",
            "--scenarios", "stolen-token,volume-spike", "--truth", str(truth)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "8,000 events" in result.output and "events/s" in result.output
    assert [e["scenario"] for e in json.loads(truth.read_text())["incidents"]] == [
        "stolen-token",
        "volume-spike",
    ]
    bad = CliRunner().invoke(app, ["synth", "--out", str(out), "--scenarios", "bogus"])
    assert isinstance(bad.exception, UsageError) and "volume-spike" in str(bad.exception)


def test_ingests_without_quarantine(tmp: Path, full: Run) -> None:
    from kanalytics import open_archive

    summary = open_archive(tmp / "archive").ingest([tmp / "full.jsonl"], cluster="demo")
    assert summary.quarantined == 0
    assert summary.read == EVENTS and summary.archived == EVENTS
