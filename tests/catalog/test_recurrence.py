"""Baseline-aware judgement (catalog/recurrence.py): recurring medium/low findings move, with their evidence.

One archive holds a September baseline and an October period for two clusters, c1 and c2, each with background
traffic on every September day (30 baseline days with events). Each identity plays one scenario of
`pod-in-system-namespace` (medium, pattern: namespace) or `coredns-config-modified` (high), so one catalog run
over October is judged once and every test reads its own part of the result, with exact counts.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kanalytics import open_archive
from kanalytics.api import Archive
from kanalytics.catalog.loader import Catalog
from kanalytics.catalog.model import CatalogRun, Finding, RecurringPattern
from kanalytics.catalog.recurrence import judge_recurrence, pattern_of
from kanalytics.catalog.runner import run_catalog, run_query
from kanalytics.config import Settings, parse_settings
from tests.cases._tools.make_events import ev, pod_body, pod_create
from tests.catalog.test_cases import CASES, case_period, ingest, load_case, read_events

MEDIUM, HIGH = "pod-in-system-namespace", "coredns-config-modified"
OCT, NOV, SEP = (
    datetime(2026, 10, 1, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2026, 9, 1, tzinfo=UTC),
)
PERIOD_DAYS = (datetime(2026, 10, 14, 9, tzinfo=UTC), datetime(2026, 10, 20, 9, tzinfo=UTC))


def _sept(day: int) -> datetime:
    return SEP + timedelta(days=day - 1, hours=9)


def _pod(t: datetime, user: str, ns: str = "kube-system", name: str = "debug") -> dict[str, Any]:
    # objectRef names the pod too: the query's per-query allow-list compares the objectRef name.
    return pod_create(t, pod_body(name, ns), user=user, name=name)


def _coredns(t: datetime, user: str) -> dict[str, Any]:
    return ev(t, "update", "configmaps", ns="kube-system", name="coredns", user=user)


def _events(cluster: str) -> list[dict[str, Any]]:
    events = [ev(_sept(d), "get", "pods", ns="default", user="reader@example.com") for d in range(1, 31)]
    events += [ev(t, "get", "pods", ns="default", user="reader@example.com") for t in PERIOD_DAYS]
    if cluster == "c2":  # the same background, and mallory's October pods only: nothing recurs in c2
        return events + [_pod(t, "mallory@example.com") for t in PERIOD_DAYS]
    baseline_days = {"mallory": 20, "bob": 15, "carol": 14, "trudy": 2, "alice": 20, "dave": 20}
    for user, days in baseline_days.items():
        for d in range(1, days + 1):
            if user == "alice":
                events.append(_coredns(_sept(d), f"{user}@example.com"))
            elif user == "dave":  # allow-listed by the object name in one configuration
                events.append(_pod(_sept(d), f"{user}@example.com", name="ci-runner"))
            else:
                events.append(_pod(_sept(d), f"{user}@example.com"))
    for d in range(1, 11):  # zoe: 10 UTC days, but 11 days in Berlin (22:30 UTC is 00:30 the next day there)
        events += [_pod(_sept(d) + timedelta(hours=h), "zoe@example.com") for h in (12.5, 13.5)]
    for t in PERIOD_DAYS:
        events += [
            _pod(t, f"{u}@example.com") for u in ("mallory", "bob", "carol", "trudy", "dave", "eve", "zoe")
        ]
        events += [_pod(t, "mallory@example.com", ns="kube-public"), _coredns(t, "alice@example.com")]
    return events


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    root = tmp_path_factory.mktemp("recurrence")
    store = open_archive(root / "archive")
    for cluster in ("c1", "c2"):
        path = root / f"{cluster}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in _events(cluster)), encoding="utf-8")
        ingest(store, path, cluster)
    return store


def _judge(
    archive: Archive, catalog: Catalog, settings: Settings, start: datetime = OCT
) -> tuple[CatalogRun, CatalogRun]:
    end = NOV if start == OCT else OCT
    run = run_catalog(
        archive, start, end, settings=settings, catalog=catalog, query_ids=[MEDIUM, HIGH], keep_tables=False
    )
    return run, judge_recurrence(archive, run, settings=settings, catalog=catalog)


@pytest.fixture(scope="module")
def judged(archive: Archive, catalog: Catalog) -> tuple[CatalogRun, CatalogRun]:
    return _judge(archive, catalog, Settings())


def _kept(run: CatalogRun, user: str, cluster: str = "c1", ns: str = "kube-system") -> list[Finding]:
    return [
        f
        for f in run.findings
        if f.user_name == f"{user}@example.com" and f.cluster == cluster and f.namespace == ns
    ]


def _pattern(run: CatalogRun, user: str, cluster: str = "c1") -> RecurringPattern | None:
    found = [p for p in run.recurring if p.user_name == f"{user}@example.com" and p.cluster == cluster]
    assert len(found) <= 1
    return found[0] if found else None


def test_pattern_on_20_of_30_baseline_days_moves_with_its_evidence(
    judged: tuple[CatalogRun, CatalogRun],
) -> None:
    before, after = judged
    assert len(_kept(before, "mallory")) == 2
    assert _kept(after, "mallory") == []
    pattern = _pattern(after, "mallory")
    assert pattern is not None
    assert (pattern.query_id, pattern.key, pattern.days_seen, pattern.baseline_days) == (
        MEDIUM, {"namespace": "kube-system"}, 20, 30
    )  # fmt: skip
    assert pattern.evidence == "seen on 20 of 30 baseline days (2026-09-01 to 2026-09-20)"
    assert [f.ts for f in pattern.findings] == list(PERIOD_DAYS)
    assert after.baseline_days_with_events == {"c1": 30, "c2": 30}


def test_a_run_without_baseline_day_counts_gets_them(
    archive: Archive, catalog: Catalog, judged: tuple[CatalogRun, CatalogRun]
) -> None:
    before, after = judged
    bare = dataclasses.replace(before, baseline_days_with_events={})
    again = judge_recurrence(archive, bare, settings=Settings(), catalog=catalog)
    assert again.baseline_days_with_events == {"c1": 30, "c2": 30}
    assert (again.findings, again.recurring) == (after.findings, after.recurring)


def test_threshold_is_half_the_baseline_days_rounded_up(judged: tuple[CatalogRun, CatalogRun]) -> None:
    _, after = judged
    bob = _pattern(after, "bob")
    assert bob is not None and (bob.days_seen, len(bob.findings)) == (15, 2)
    assert _kept(after, "bob") == []
    assert _pattern(after, "carol") is None and len(_kept(after, "carol")) == 2  # 14 < ceil(0.5 * 30)
    assert _pattern(after, "trudy") is None and len(_kept(after, "trudy")) == 2  # 2 days


def test_every_finding_is_either_kept_or_in_exactly_one_pattern(
    judged: tuple[CatalogRun, CatalogRun],
) -> None:
    before, after = judged
    moved = [f for p in after.recurring for f in p.findings]
    assert len(before.findings) == 20  # c1: 8 pods and 1 coredns update on each of 2 days; c2: 2 pods
    assert (len(after.findings), len(moved), len(after.recurring)) == (14, 6, 3)
    assert sorted(id(f) for f in after.findings + moved) == sorted(id(f) for f in before.findings)
    assert [p.user_name for p in after.recurring] == [
        "bob@example.com",
        "dave@example.com",
        "mallory@example.com",
    ]


def test_high_findings_never_move(judged: tuple[CatalogRun, CatalogRun]) -> None:
    _, after = judged
    assert [f.query_id for f in after.findings if f.user_name == "alice@example.com"] == [HIGH, HIGH]
    assert all(p.query_id != HIGH for p in after.recurring)


def test_new_namespace_and_new_identity_stay(judged: tuple[CatalogRun, CatalogRun]) -> None:
    _, after = judged
    assert len(_kept(after, "mallory", ns="kube-public")) == 2
    assert len(_kept(after, "eve")) == 2 and _pattern(after, "eve") is None


def test_a_pattern_recurring_in_one_cluster_does_not_demote_it_in_another(
    judged: tuple[CatalogRun, CatalogRun],
) -> None:
    _, after = judged
    assert _pattern(after, "mallory", cluster="c1") is not None
    assert _pattern(after, "mallory", cluster="c2") is None
    assert len(_kept(after, "mallory", cluster="c2")) == 2


def test_allowlisted_baseline_rows_do_not_count(archive: Archive, catalog: Catalog) -> None:
    reason = "the CI runner pod"
    settings = parse_settings(
        {"allowlists": {"query_lists": {MEDIUM: [{"value": "ci-runner", "reason": reason}]}}}
    )
    _, after = _judge(archive, catalog, settings)
    assert _pattern(after, "dave") is None and len(_kept(after, "dave")) == 2
    _, unlisted = _judge(archive, catalog, Settings())
    dave = _pattern(unlisted, "dave")
    assert dave is not None and dave.days_seen == 20


def test_baseline_window_is_the_configured_days_before_the_period(archive: Archive, catalog: Catalog) -> None:
    # 10 days: 21-30 September, when mallory (1-20) created no pod; the reader's background gives 10 days.
    _, after = _judge(archive, catalog, parse_settings({"baseline": {"days": 10}}))
    assert after.recurring == [] and len(after.findings) == 20
    assert after.baseline_days_with_events == {"c1": 10, "c2": 10}


def test_min_days_is_a_floor_under_the_share(archive: Archive, catalog: Catalog) -> None:
    # share 0.05 of 30 days is 2 days; min_days 3 keeps trudy's 2-day pattern a finding, min_days 2 moves it.
    _, floor3 = _judge(archive, catalog, parse_settings({"baseline": {"recurring_share": 0.05}}))
    assert _pattern(floor3, "trudy") is None
    _, floor2 = _judge(
        archive, catalog, parse_settings({"baseline": {"recurring_share": 0.05, "min_days": 2}})
    )
    trudy = _pattern(floor2, "trudy")
    assert trudy is not None and trudy.evidence == "seen on 2 of 30 baseline days (2026-09-01 to 2026-09-02)"


def test_baseline_days_are_calendar_days_of_the_configured_zone(archive: Archive, catalog: Catalog) -> None:
    # A threshold of 11 days: zoe's pods fall on 10 days in UTC but on 11 in Berlin.
    share = {"recurring_share": 11 / 30}
    _, utc = _judge(archive, catalog, parse_settings({"baseline": share}))
    assert _pattern(utc, "zoe") is None and len(_kept(utc, "zoe")) == 2
    berlin = parse_settings({"timezone": "Europe/Berlin", "baseline": share})
    start = datetime(2026, 9, 30, 22, tzinfo=UTC)  # midnight of 1 October in Berlin
    run = run_catalog(
        archive, start, NOV, settings=berlin, catalog=catalog, query_ids=[MEDIUM], keep_tables=False
    )
    zoe = _pattern(judge_recurrence(archive, run, settings=berlin, catalog=catalog), "zoe")
    assert zoe is not None and zoe.evidence == "seen on 11 of 30 baseline days (2026-09-01 to 2026-09-11)"


def test_falco_profile_is_a_no_op(archive: Archive, catalog: Catalog) -> None:
    before, after = _judge(archive, catalog, Settings(profile="falco"))
    assert after is before and after.recurring == [] and len(after.findings) == 20


def test_empty_baseline_is_a_no_op(archive: Archive, catalog: Catalog) -> None:
    # September judged against August, which has no events: the first month of an archive.
    before, after = _judge(archive, catalog, Settings(), start=SEP)
    assert (
        len(before.findings) == 111
    )  # c1 pods: mallory 20, bob 15, carol 14, trudy 2, dave 20, zoe 20; alice 20
    assert after is before and after.recurring == []
    assert not any(after.baseline_days_with_events.values())


def test_each_query_pattern_names_a_column_its_fire_case_returns(catalog: Catalog, tmp_path: Path) -> None:
    """A `pattern` key the query does not return would compare as missing and judge nothing: name it here."""
    problems = []
    for query in sorted(catalog.queries.values(), key=lambda q: q.id):
        if not query.header.pattern or not (CASES / query.id / "fire.jsonl").is_file():
            continue
        folder = CASES / query.id
        spec = load_case(folder)
        start, end, baseline = case_period(read_events(folder / "fire.jsonl"), spec)
        settings = parse_settings(spec.get("settings") or {}, origin=str(folder / "case.yaml"))
        settings = settings.model_copy(
            update={"profile": "falco"}
        )  # every rule on: columns are what is checked
        store = open_archive(tmp_path / query.id)
        ingest(store, folder / "fire.jsonl", "test")
        result = run_query(
            store, query.id, start, end, settings=settings, catalog=catalog, baseline_start=baseline
        )
        if result.status != "ok" or result.table is None:
            problems.append(f"{query.path}: {result.status}: {result.reason}")
            continue
        columns = result.table.column_names
        missing = [name for name in pattern_of(query) if name not in columns]
        if missing:
            problems.append(f"{query.path}: pattern {missing} not among its columns {columns}")
    assert not problems, "\n".join(problems)
