"""`kanalytics tune`'s proposals: exact entries and reasons from a small archive, TOML that round-trips hostile
values and parses as configuration, and a proposal that, once configured, suppresses what it says it will."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanalytics import open_archive
from kanalytics.catalog.loader import Catalog, load_proposals
from kanalytics.catalog.model import CONFIG_LISTS
from kanalytics.catalog.runner import run_query
from kanalytics.catalog.tune import TuneResult, default_period
from kanalytics.catalog.tune_toml import toml_string
from kanalytics.config import Settings, parse_settings
from tests.conftest import make_event

START, END = "2026-09-01", "2026-09-06"  # five days, each with events
ALICE, BOB, MALLORY = "alice@example.com", "bob@example.com", "mallory@example.com"
DEPLOYER, WEB = "system:serviceaccount:ci:deployer", "system:serviceaccount:apps:web"
CI_ADDRESS = "203.0.113.7"
# User names an attacker controls: quotes, backslashes, newlines, escape sequences, bidi and astral characters,
# TOML syntax. Each makes three requests on three days, so it is proposed uncommented.
HOSTILE = [
    'eve "the" \\ \n\r\t\x1b[31mred\x7f',
    "zo\u00eb\u202eevil",
    "\U0001d51edmin",
    "'x' = [1] # ]\n[allowlists]",
]


def request(
    day: int,
    user: str,
    n: int = 0,
    *,
    verb: str = "get",
    resource: str = "pods",
    ns: str | None = "default",
    name: str | None = None,
    ip: str = "10.0.0.5",
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ref: dict[str, Any] = {"resource": resource, "apiVersion": "v1"}
    if ns:
        ref["namespace"] = ns
    if name:
        ref["name"] = name
    event = make_event(
        datetime(2026, 9, day, 10, n, tzinfo=UTC),
        verb=verb,
        user={"username": user, "groups": ["system:authenticated"]},
        sourceIPs=[ip],
        objectRef=ref,
        level="RequestResponse" if body else "Metadata",
    )
    if body is not None:
        event["requestObject"] = body
    return event


def pod(name: str, ns: str, image: str) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": image}]}}  # fmt: skip


def baseline_events() -> list[dict[str, Any]]:
    """Five days of cluster c1: who makes requests, writes workloads, calls from where, creates what."""
    events = [request(d, ALICE, n) for d in range(1, 6) for n in range(2)]
    events += [request(3, MALLORY)]
    events += [request(d, "admin") for d in range(1, 6)]  # in Falco's allowed users: never proposed
    events += [request(d, DEPLOYER, verb="patch", resource="deployments", name="web", ip=CI_ADDRESS)
               for d in range(1, 6)]  # fmt: skip
    events += [request(1, DEPLOYER, 1, ip="10.0.0.9")]  # a private address: never proposed
    events += [request(2, WEB, verb="create", resource="deployments", name="web")]
    events += [request(d, BOB, 2, verb="create", body=pod(f"agent-{d}", "kube-system",
                                                         "registry.example.com/agent:1.0"), ns="kube-system")
               for d in range(1, 5)]  # fmt: skip
    events += [request(d, BOB, 3, verb="create", body=pod(f"web-{d}", "default", "nginx:1.25"))
               for d in range(1, 4)]  # fmt: skip
    events += [request(d, ALICE, 4, verb="create", resource="namespaces", ns=None, name="team-a")
               for d in range(1, 4)]  # fmt: skip
    events += [request(d, user, 5 + i) for i, user in enumerate(HOSTILE) for d in range(1, 4)]
    return events


@pytest.fixture(scope="module")
def archive_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tune") / "archive"
    summary = open_archive(root, config=Settings()).ingest_events(baseline_events(), cluster="c1")
    assert summary.quarantined == 0
    return root


def tune(root: Path, settings: Settings | None = None, **kw: Any) -> TuneResult:
    return open_archive(root, config=settings or Settings()).tune(start=START, end=END, **kw)


def entries(result: TuneResult, key: str) -> list[tuple[str, str, bool]]:
    """(value, reason, uncommented) of the proposal for `key` ("allowlists.trusted_networks" ...)."""
    (found,) = [p for p in result.lists if p.key == key]
    assert found.status == "ok", found.reason
    return [(e.value, e.reason, e.confident) for e in found.entries]


def seen(days: int, events: int, first: int, last: int, context: str = "") -> str:
    text = f"observed on {days} of 5 days, {events:,} events (2026-09-{first:02d} to 2026-09-{last:02d})"
    return text + (f"; {context}" if context else "")


def test_exact_entries_and_reasons(archive_root: Path) -> None:
    result = tune(archive_root)
    assert (result.clusters, result.days_with_events, result.min_days) == (["c1"], 5, 3)
    users = entries(result, "allowlists.query_lists.falco-disallowed-k8s-user")
    assert users == [
        (ALICE, seen(5, 13, 1, 5, "source addresses: 10.0.0.5"), True),
        (BOB, seen(4, 7, 1, 4, "source addresses: 10.0.0.5"), True),
        *((u, seen(3, 3, 1, 3, "source addresses: 10.0.0.5"), True) for u in sorted(HOSTILE)),
        (MALLORY, seen(1, 1, 3, 3, "source addresses: 10.0.0.5"), False),  # rare: commented out
    ]  # "admin" is in Falco's allowed users: the query never reports it, so it is not proposed
    assert entries(result, "allowlists.automation_users") == [
        (DEPLOYER, seen(5, 5, 1, 5, "writes: patch deployments"), True),
        (WEB, seen(1, 1, 2, 2, "writes: create deployments"), False),
    ]
    assert entries(result, "allowlists.trusted_networks") == [
        (f"{CI_ADDRESS}/32", seen(5, 5, 1, 5, f"identities: {DEPLOYER}"), True),
    ]  # and not 10.0.0.9: a private address needs no trusting
    assert entries(result, "allowlists.trusted_registries") == [
        ("registry.example.com/", seen(4, 4, 1, 4, "images: registry.example.com/agent:1.0"), True),
        ("docker.io/library/", seen(3, 3, 1, 3, "images: nginx:1.25"), True),
    ]
    assert entries(result, "allowlists.query_lists.falco-pod-created-in-kube-namespace") == [
        ("registry.example.com/agent", seen(4, 4, 1, 4, f"created by: {BOB}"), True),
    ]
    assert entries(result, "allowlists.query_lists.falco-create-disallowed-pod") == [
        ("registry.example.com/agent", seen(4, 4, 1, 4, "namespaces: kube-system"), True),
        ("nginx", seen(3, 3, 1, 3, "namespaces: default"), True),
    ]
    assert entries(result, "allowlists.query_lists.falco-create-disallowed-namespace") == [
        ("team-a", seen(3, 3, 1, 3, f"created by: {ALICE}"), True),
    ]


def test_output_parses_as_configuration_and_round_trips_every_value(archive_root: Path) -> None:
    result = tune(archive_root)
    text = result.text
    assert text.isascii() and all(c == "\n" or " " <= c <= "~" for c in text)  # nothing acts on a terminal
    assert "# Review every entry before committing; kanalytics never applies this." in text
    settings = parse_settings(tomllib.loads(text), origin="proposal.toml")  # appended to an empty file
    allow = settings.allowlists
    users = {e.value: e.reason for e in allow.query_lists["falco-disallowed-k8s-user"]}
    assert set(users) == {ALICE, BOB, *HOSTILE}  # exact strings back, mallory stays commented out
    assert users[HOSTILE[0]] == seen(3, 3, 1, 3, "source addresses: 10.0.0.5")
    assert [(n.cidr, n.reason) for n in allow.trusted_networks] == [
        (f"{CI_ADDRESS}/32", seen(5, 5, 1, 5, f"identities: {DEPLOYER}"))
    ]
    assert [e.value for e in allow.automation_users] == [DEPLOYER]
    assert (
        f'# {{ value = "{MALLORY}", reason = "{seen(1, 1, 3, 3, "source addresses: 10.0.0.5")}" }},' in text
    )


def test_configured_proposal_suppresses_with_its_reasons(archive_root: Path, catalog: Catalog) -> None:
    proposal = tune(archive_root).text
    settings = parse_settings(tomllib.loads(proposal), origin="proposal.toml")
    archive = open_archive(archive_root, config=settings)
    start, end = archive.closed_period(start=START, end=END)
    waiting = run_query(
        archive.store, "falco-disallowed-k8s-user", start, end, settings=Settings(), catalog=catalog
    )
    assert waiting.status == "needs-configuration"  # the default profile waits for exactly this list
    result = run_query(
        archive.store, "falco-disallowed-k8s-user", start, end, settings=settings, catalog=catalog
    )
    assert result.status == "ok" and result.table is not None
    assert result.table.column("user_name").to_pylist() == [MALLORY]  # the one value left commented out
    suppressed = {s.value: (s.count, s.reason) for s in result.suppressed}
    assert suppressed[ALICE] == (13, seen(5, 13, 1, 5, "source addresses: 10.0.0.5"))
    assert suppressed[BOB] == (7, seen(4, 7, 1, 4, "source addresses: 10.0.0.5"))
    assert {u: suppressed[u][0] for u in HOSTILE} == dict.fromkeys(HOSTILE, 3)

    kube = run_query(archive.store, "falco-pod-created-in-kube-namespace", start, end, settings=settings,
                     catalog=catalog)  # fmt: skip
    assert kube.rows == 0 and [(s.value, s.count) for s in kube.suppressed] == [
        ("registry.example.com/agent", 4)
    ]


def test_min_days_decides_what_is_commented_out(archive_root: Path) -> None:
    loose = entries(tune(archive_root, min_days=1), "allowlists.query_lists.falco-disallowed-k8s-user")
    assert all(confident for _, _, confident in loose)
    strict = tune(archive_root, min_days=5)
    users = entries(strict, "allowlists.query_lists.falco-disallowed-k8s-user")
    assert [(v, c) for v, _, c in users][:2] == [(ALICE, True), (BOB, False)]
    assert "# an entry seen on fewer than 5 days is commented out" in strict.text
    # automation_users also needs baseline.recurring_share (0.5) of the 5 days: 3, above --min-days 1
    (automation,) = [p for p in tune(archive_root, min_days=1).lists if p.list_name == "automation_users"]
    assert automation.threshold == 3 and [e.confident for e in automation.entries] == [True, False]


def test_values_already_configured_are_skipped_and_counted(archive_root: Path) -> None:
    configured = parse_settings({"allowlists": {
        "query_lists": {"falco-disallowed-k8s-user": [{"value": ALICE, "reason": "on call"}]},
        "trusted_networks": [{"cidr": "203.0.113.0/24", "reason": "CI"}],
        "trusted_registries": [{"value": "registry.example.com/", "reason": "ours"}],
    }}, origin="kanalytics.toml")  # fmt: skip
    result = tune(archive_root, configured)
    assert result.skipped == 3
    assert ALICE not in [v for v, _, _ in entries(result, "allowlists.query_lists.falco-disallowed-k8s-user")]
    assert entries(result, "allowlists.trusted_networks") == []
    assert [v for v, _, _ in entries(result, "allowlists.trusted_registries")] == ["docker.io/library/"]
    assert (
        '# configuration: "kanalytics.toml"; 3 value(s) it already has were not proposed again' in result.text
    )
    assert result.text.count("# 1 value(s) already in the configuration were not proposed again") == 3


def test_several_clusters_say_where_a_value_was_seen(archive_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "two"
    archive = open_archive(root, config=Settings())
    archive.ingest_events(baseline_events(), cluster="c1")
    archive.ingest_events([request(d, ALICE, 7) for d in (1, 2)] + [request(2, "carol@example.com")],
                          cluster="c2")  # fmt: skip
    result = tune(root)
    assert result.days_by_cluster == {"c1": 5, "c2": 2}
    users = dict((v, r) for v, r, _ in entries(result, "allowlists.query_lists.falco-disallowed-k8s-user"))
    assert users[ALICE] == (
        "observed on 5 of 5 days, 15 events (2026-09-01 to 2026-09-05), in every cluster: c1 5 of 5 days, "
        "c2 2 of 2 days; source addresses: 10.0.0.5"
    )
    assert users["carol@example.com"] == (
        "observed on 1 of 5 days, 1 events (2026-09-02 to 2026-09-02), only in c2 (not c1): c2 1 of 2 days; "
        "source addresses: 10.0.0.5"
    )
    only_c2 = tune(root, clusters=["c2"])
    assert only_c2.clusters == ["c2"] and only_c2.days_with_events == 2


def test_a_source_query_that_cannot_run_is_said_not_silently_empty(tmp_path: Path) -> None:
    root = tmp_path / "metadata-only"
    open_archive(root, config=Settings()).ingest_events(
        [request(d, ALICE) for d in range(1, 4)], cluster="c1"
    )
    result = tune(root)
    (kube,) = [p for p in result.lists if p.proposal_id == "falco-pod-created-in-kube-namespace"]
    assert kube.status == "not-evaluable" and "needs request bodies (audit level Request)" in kube.reason
    assert "# not proposed (not-evaluable): needs request bodies (audit level Request)" in result.text


def test_every_gated_query_has_a_proposal(catalog: Catalog) -> None:
    """A query that waits for a list (needs_config) must have a way to get it: `tune` proposes that list."""
    proposals = load_proposals(catalog).values()
    for_query = {p.header.for_query for p in proposals if p.header.list == "query_list"}
    lists = {p.header.list for p in proposals}
    offenders = [
        f"{q.id}: needs_config {name} but no queries/tune/ proposal fills it"
        for q in sorted(catalog.queries.values(), key=lambda q: q.id)
        for name in q.header.needs_config
        if (q.id not in for_query if name == "query_list" else name not in lists)
    ]
    assert not offenders, "\n".join(offenders)
    assert {p.header.list for p in proposals} <= set(CONFIG_LISTS)


def test_default_period_is_the_baseline_days_before_this_month() -> None:
    now = datetime(2026, 10, 17, 9, 30, tzinfo=UTC)
    assert default_period(Settings(), now) == (
        datetime(2026, 9, 1, tzinfo=UTC),
        datetime(2026, 10, 1, tzinfo=UTC),
    )
    berlin = Settings(timezone="Europe/Berlin")
    assert default_period(berlin, now) == (
        datetime(2026, 8, 31, 22, tzinfo=UTC), datetime(2026, 9, 30, 22, tzinfo=UTC))  # fmt: skip


@given(st.text())
def test_any_text_round_trips_as_printable_ascii(value: str) -> None:
    written = toml_string(value)
    assert all(" " <= c <= "~" for c in written)
    assert tomllib.loads(f"v = {written}")["v"] == value


def test_empty_archive_period_is_an_error(archive_root: Path) -> None:
    from kanalytics.errors import ArchiveError

    with pytest.raises(ArchiveError, match=r"has no events from 2025-01-01 to 2025-02-01 \(exclusive\)"):
        open_archive(archive_root, config=Settings()).tune(start="2025-01-01", end="2025-02-01")
