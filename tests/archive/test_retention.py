"""Retention: the floor, the conservative cutoff, plan = apply, holds and verification respected, kills survived."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from typer.testing import CliRunner

import kanalytics
from kanalytics.archive.holds import add_hold
from kanalytics.archive.manifest import iter_manifests
from kanalytics.archive.retention import apply_retention, plan_retention, retention_status
from kanalytics.archive.verify import replay, verify_archive
from kanalytics.errors import RetentionError
from tests.archive.retention_fixtures import build_archive, day_events, days, settings

TODAY = date(2025, 3, 1)


def live_dates(archive: kanalytics.api.Archive) -> list[str]:
    return sorted({p.date.isoformat() for p in replay(archive.layout).live_by_partition()})


def test_no_policy_deletes_nothing(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2020, 1, 1), 3))
    plan = plan_retention(archive.layout, settings(), today=TODAY)
    assert plan.lines() == ["no retention policy configured: nothing is ever deleted"]
    assert apply_retention(archive.layout, settings(), today=TODAY).deleted_partitions == 0
    assert len(live_dates(archive)) == 3


def test_floor_refuses_shorter_policies(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2024, 1, 1)])
    with pytest.raises(RetentionError) as caught:
        plan_retention(archive.layout, settings(keep_days=400, floor_days=365, per_cluster=[
            {"cluster": "c1", "keep_days": 30}]))  # fmt: skip
    assert caught.value.message == (
        "retention policy (cluster c1) keeps 30 days, below the configured floor of 365 days; nothing was deleted"
    )
    with pytest.raises(RetentionError, match=r"\(default\) keeps 90 days"):
        apply_retention(archive.layout, settings(keep_days=90, floor_days=365))
    assert live_dates(archive) == ["2024-01-01"]


def test_plan_lists_age_size_events_and_rule_then_apply_deletes_exactly_that(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 5), batches=2)
    policy = settings(keep_days=58)  # cutoff 2025-01-02 00:00 UTC
    plan = plan_retention(archive.layout, policy, today=TODAY)
    assert plan.key() == [("c1", "2025-01-01")]
    line = plan.lines()[1]
    assert line.startswith("delete  cluster=c1 date=2025-01-01 age=59d files=2 size=")
    assert line.endswith("events=6  keep_days=58 (default); out of policy (cutoff 2025-01-02 00:00Z)")
    assert plan.lines()[-1].startswith("1 partitions to delete (2 files, 6 events,")
    result = apply_retention(archive.layout, policy, today=TODAY, approved=plan.key())
    assert (result.deleted_partitions, result.deleted_files, result.deleted_events) == (1, 2, 6)
    assert live_dates(archive) == [f"2025-01-0{d}" for d in (2, 3, 4, 5)]
    assert not (archive.root / "events/cluster=c1/date=2025-01-01").exists()
    last = list(iter_manifests(archive.layout))[-1]
    assert last.operation == "retention-delete"
    assert last.details["partitions"][0]["rule"] == "keep_days=58 (default)"
    assert last.details["keep_days"] == {"c1": 58} and last.details["today"] == "2025-03-01"
    report = verify_archive(archive.layout)
    assert report.ok and report.summary().endswith("deleted by policy: 2 files (2025-01-01)")
    # Queries no longer see the day; re-running deletes nothing more.
    assert archive.sql("select count(*) as n from events")["n"][0] == 24
    assert apply_retention(archive.layout, policy, today=TODAY).deleted_partitions == 0


def test_cutoff_is_conservative_in_the_configured_time_zone(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 4))
    # keep 58 days from 2025-03-01 in New York: cutoff 2025-01-02 00:00 local = 2025-01-02T05:00Z. The UTC
    # day 2025-01-02 holds events after that instant, so only 2025-01-01 may go.
    plan = plan_retention(archive.layout, settings(keep_days=58, timezone="America/New_York"), today=TODAY)
    assert plan.key() == [("c1", "2025-01-01")]
    # In Auckland the cutoff (2025-01-02 00:00 local = 2025-01-01T11:00Z) falls inside 2025-01-01: keep it.
    plan = plan_retention(archive.layout, settings(keep_days=58, timezone="Pacific/Auckland"), today=TODAY)
    assert plan.key() == []


def test_per_cluster_override(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 3), cluster="short")
    archive.ingest_events([e for d in days(date(2025, 1, 1), 3) for e in day_events(d)], cluster="long")
    policy = settings(keep_days=400, per_cluster=[{"cluster": "short", "keep_days": 30}])
    plan = plan_retention(archive.layout, policy, today=TODAY)
    assert {p.cluster for p in plan.deletions} == {"short"} and len(plan.deletions) == 3
    assert plan.deletions[0].rule == "keep_days=30 (cluster short)"


def test_partition_failing_verification_is_blocked_not_deleted(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 2))
    (victim,) = (archive.root / "events/cluster=c1/date=2025-01-01").glob("*.parquet")
    victim.write_bytes(victim.read_bytes() + b"x")
    plan = plan_retention(archive.layout, settings(keep_days=10), today=TODAY)
    assert [(p.date, p.action) for p in plan.partitions] == [
        ("2025-01-01", "blocked"),
        ("2025-01-02", "delete"),
    ]
    assert plan.partitions[0].reason == "blocked: fails verification (1 files; run `kanalytics verify`)"
    apply_retention(archive.layout, settings(keep_days=10), today=TODAY)
    assert victim.exists() and live_dates(archive) == ["2025-01-01"]


def test_broken_chain_blocks_every_deletion(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 2), batches=2)
    archive.layout.manifest_file(1).write_bytes(archive.layout.manifest_file(1).read_bytes() + b" ")
    plan = plan_retention(archive.layout, settings(keep_days=10), today=TODAY)
    assert {p.action for p in plan.partitions} == {"blocked"}


def test_apply_refuses_when_the_plan_changed_since_approval(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 2))
    approved = plan_retention(archive.layout, settings(keep_days=10), today=TODAY).key()
    add_hold(
        archive.layout, cluster="c1", start=date(2025, 1, 1), end=date(2025, 1, 1), reason="r", owner="o"
    )
    with pytest.raises(RetentionError, match="plan changed since it was shown"):
        apply_retention(archive.layout, settings(keep_days=10), today=TODAY, approved=approved)
    assert len(live_dates(archive)) == 2


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after the hook runs, no cleanup handler catches it."""


@pytest.mark.parametrize("kill_at", range(1, 8))
def test_killed_apply_leaves_a_verifiable_archive_and_a_rerun_completes(tmp_path: Path, kill_at: int) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 5))
    policy = settings(keep_days=10)
    expected = plan_retention(archive.layout, policy, today=TODAY).key()
    calls = 0

    def hook(step: str) -> None:
        nonlocal calls
        calls += 1
        if calls == kill_at:
            raise Killed(step)

    with pytest.raises(Killed):
        apply_retention(archive.layout, policy, today=TODAY, batch_size=2, hook=hook)
    report = verify_archive(archive.layout)
    assert report.ok, report.lines()
    apply_retention(archive.layout, policy, today=TODAY, batch_size=2)
    assert live_dates(archive) == []
    assert not list(archive.layout.events.rglob("*.parquet"))
    report = verify_archive(archive.layout)
    assert report.ok and report.deleted_files == len(expected) == 5


_KILLER = """
import os, signal, sys
from datetime import date
from kanalytics.archive.layout import Layout
from kanalytics.archive.retention import apply_retention
from kanalytics.config import parse_settings
calls = 0
def hook(step):
    global calls
    calls += 1
    if calls == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
apply_retention(Layout(__import__("pathlib").Path(sys.argv[1])), parse_settings({"retention": {"keep_days": 10}}),
                today=date(2025, 3, 1), batch_size=2, hook=hook)
"""


@pytest.mark.parametrize("kill_at", [1, 3])
def test_sigkilled_apply_subprocess(tmp_path: Path, kill_at: int) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 3))
    proc = subprocess.run([sys.executable, "-c", _KILLER, str(archive.root), str(kill_at)], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert verify_archive(archive.layout).ok
    apply_retention(archive.layout, settings(keep_days=10), today=TODAY)
    assert live_dates(archive) == [] and verify_archive(archive.layout).deleted_files == 3


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[list[tuple[str, int]], list[tuple[str, int, int]], int | None, int | None]:
    partitions = draw(
        st.lists(
            st.tuples(st.sampled_from(["c1", "c2"]), st.integers(0, 40)), min_size=1, max_size=10, unique=True
        )
    )
    holds = draw(
        st.lists(st.tuples(st.sampled_from(["c1", "c2"]), st.integers(0, 40), st.integers(0, 5)), max_size=3)
    )
    keep = draw(st.one_of(st.none(), st.integers(1, 45)))
    override = draw(st.one_of(st.none(), st.integers(1, 45)))
    return partitions, holds, keep, override


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_property_nothing_held_or_in_policy_is_deleted_and_everything_else_is(
    scenario: tuple[list[tuple[str, int]], list[tuple[str, int, int]], int | None, int | None],
) -> None:
    partitions, holds, keep, override = scenario
    base, today = date(2025, 1, 1), date(2025, 2, 15)
    with tempfile.TemporaryDirectory() as tmp:
        archive = kanalytics.open_archive(Path(tmp) / "a")
        for cluster in ("c1", "c2"):
            events = [
                e for c, d in partitions if c == cluster for e in day_events(base + timedelta(days=d), 1)
            ]
            if events:
                archive.ingest_events(events, cluster=cluster)
        for cluster, start, length in holds:
            add_hold(archive.layout, cluster=cluster, start=base + timedelta(days=start),
                     end=base + timedelta(days=start + length), reason="r", owner="o")  # fmt: skip
        retention: dict[str, object] = {"keep_days": keep}
        if override is not None:
            retention["per_cluster"] = [{"cluster": "c2", "keep_days": override}]
        policy = settings(**retention)
        plan = plan_retention(archive.layout, policy, today=today)
        apply_retention(archive.layout, policy, today=today, approved=plan.key())
        remaining = {(p.cluster, p.date) for p in replay(archive.layout).live_by_partition()}
        for cluster, offset in partitions:
            day = base + timedelta(days=offset)
            limit = override if cluster == "c2" and override is not None else keep
            held = any(c == cluster and s <= offset <= s + n for c, s, n in holds)
            out_of_policy = limit is not None and day < today - timedelta(days=limit)
            assert ((cluster, day) not in remaining) == (out_of_policy and not held)
            assert ((cluster, day.isoformat()) in plan.key()) == (out_of_policy and not held)
        assert verify_archive(archive.layout).ok


def test_cli_apply_needs_confirmation_without_a_terminal(tmp_path: Path) -> None:
    from kanalytics.cli import app

    archive = build_archive(tmp_path / "a", days(date(2020, 1, 1), 2))
    config = tmp_path / "kanalytics.toml"
    config.write_text("[retention]\nkeep_days = 30\n")
    runner = CliRunner()
    base = ["--archive", str(archive.root), "--config", str(config)]
    refused = runner.invoke(app, ["retention", "apply", *base], standalone_mode=False)
    assert isinstance(refused.exception, RetentionError)
    assert "no terminal to ask on" in refused.exception.message
    plan = runner.invoke(app, ["retention", "plan", *base], standalone_mode=False)
    assert plan.output.splitlines()[-1].startswith("2 partitions to delete (2 files, 6 events")
    done = runner.invoke(app, ["retention", "apply", *base, "--yes"], standalone_mode=False)
    assert done.exception is None, done.output
    assert done.output.splitlines()[-1] == "deleted 2 partitions (2 files, 6 events); manifests 2"


def test_retention_status_for_the_report(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 4))
    add_hold(
        archive.layout, cluster="c1", start=date(2025, 1, 2), end=date(2025, 1, 2), reason="r", owner="o"
    )
    policy = settings(keep_days=56, floor_days=30)
    apply_retention(archive.layout, policy, today=TODAY)
    status = retention_status(archive, policy)
    data = status.to_json()
    assert (data["oldest_date"], data["newest_date"]) == ("2025-01-02", "2025-01-04")
    assert data["policy"] == "keep 56 days" and data["floor_days"] == 30
    assert [h["id"] for h in data["holds"]] == ["H1"]
    assert data["deletions"][0]["partitions"] == ["c1/2025-01-01", "c1/2025-01-03"]
    assert data["deletions"][0]["files"] == 2 and data["deletions"][0]["rows"] == 6
    assert data["last_manifest_seq"] == 3 and data["verification_ok"] is True
    assert os.path.basename(str(archive.root)) == "a"
