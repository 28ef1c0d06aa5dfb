"""Every anomaly judges each UTC day against its own rolling baseline (the `baseline_days` days before it).

Two properties per anomaly, on a small multi-day archive (one cluster per anomaly):
- day additivity: the raw run over a span of whole UTC days equals the union of the raw runs over each day;
- rolling semantics: a day is compared with the days just before it, earlier days of the same span included
  (first seen on day 3 is reported on day 3, not again on day 4; an identity that started inside the span is
  judged from its first days; a key last seen 30 days before is known, 31 days before is new again).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from kanalytics import open_archive
from kanalytics.api import Archive
from kanalytics.archive.ingest import Ingestor
from kanalytics.catalog.loader import Catalog
from kanalytics.catalog.runner import run_query
from kanalytics.sources.files import read_inputs

DAY = timedelta(days=1)
KUBECTL = "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"
ALICE, BOB, CAROL, DAVE = "alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"
SA = "system:serviceaccount:apps:reader"
SA_UA = "reader/1.4.0 (linux/amd64) kubernetes/abc"
_ids = itertools.count(1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def days(first: date, last: date) -> Iterator[date]:
    """Every day from `first` to `last`, both included."""
    d = first
    while d <= last:
        yield d
        d += DAY


def ev(
    t: datetime,
    verb: str,
    resource: str,
    *,
    user: str = ALICE,
    ip: str = "10.20.0.15",
    ua: str = KUBECTL,
    ns: str | None = "apps",
    sub: str | None = None,
    code: int = 200,
) -> dict[str, Any]:
    """One ResponseComplete audit Event."""
    if user.startswith("system:serviceaccount:"):
        groups = [
            "system:serviceaccounts",
            f"system:serviceaccounts:{user.split(':')[2]}",
            "system:authenticated",
        ]
    else:
        groups = ["developers", "system:authenticated"]
    ref: dict[str, Any] = {"resource": resource, "apiVersion": "v1"}
    if ns:
        ref["namespace"] = ns
    if sub:
        ref["subresource"] = sub
    stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": str(uuid.UUID(int=0x2000_0000 + next(_ids))),
        "stage": "ResponseComplete",
        "requestURI": f"/api/v1/{'namespaces/' + ns + '/' if ns else ''}{resource}{'/x/' + sub if sub else ''}",
        "verb": verb,
        "user": {"username": user, "groups": groups},
        "sourceIPs": [ip],
        "userAgent": ua,
        "objectRef": ref,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": t.strftime(stamp),
        "stageTimestamp": (t + timedelta(milliseconds=12)).strftime(stamp),
        "annotations": {"authorization.k8s.io/decision": "forbid" if code == 403 else "allow"},
    }


# Each scenario: (cluster, events, span start, span end). Histories start on September 20 unless said.
OCT = {n: date(2026, 10, n) for n in range(1, 32)}
SEP = {n: date(2026, 9, n) for n in range(1, 31)}
SPAN = (OCT[3], OCT[7])


def _source_network() -> list[dict[str, Any]]:
    out = []
    for d in days(SEP[1], OCT[6]):
        out.append(ev(at(d, 10), "list", "pods", user=ALICE))
        out.append(ev(at(d, 10), "list", "pods", user=BOB, ip="10.40.0.1"))
        out.append(ev(at(d, 10), "list", "pods", user=DAVE, ip="10.41.0.1"))
    out += [
        ev(at(OCT[4], 10, 30), "get", "secrets", user=ALICE, ip="203.0.113.9"),  # new network on day 4 ...
        ev(at(OCT[5], 11), "get", "secrets", user=ALICE, ip="203.0.113.9"),  # ... known on day 5
        ev(at(OCT[4], 9), "list", "pods", user=CAROL, ip="10.30.0.1"),  # first active inside the span
        ev(at(OCT[5], 9), "list", "pods", user=CAROL, ip="10.30.0.1"),
        ev(at(OCT[5], 9, 30), "list", "pods", user=CAROL, ip="203.0.114.7"),  # judged against day 4
        ev(at(SEP[4], 12), "list", "pods", user=BOB, ip="10.99.0.1"),  # 31 days before October 5: outside
        ev(at(OCT[5], 12), "list", "pods", user=BOB, ip="10.99.0.1"),
        ev(at(SEP[5], 12), "list", "pods", user=DAVE, ip="10.98.0.1"),  # 30 days before October 5: inside
        ev(at(OCT[5], 12), "list", "pods", user=DAVE, ip="10.98.0.1"),
    ]
    return out


def _user_agent() -> list[dict[str, Any]]:
    out = [
        ev(at(d, 10), "get", "configmaps", user=SA, ip="10.244.1.17", ua=SA_UA) for d in days(SEP[1], OCT[6])
    ]
    out += [
        ev(at(OCT[4], 11), "get", "configmaps", user=SA, ip="10.244.1.17", ua="curl/8.5.0"),
        ev(at(OCT[5], 11), "get", "configmaps", user=SA, ip="10.244.1.17", ua="curl/8.5.0"),
        ev(at(OCT[4], 9), "list", "pods", user=CAROL),  # first active inside the span
        ev(at(OCT[5], 9), "list", "pods", user=CAROL, ua="python-requests/2.31"),
    ]
    return out


def _verb_resource() -> list[dict[str, Any]]:
    out = [ev(at(d, 10), "get", "configmaps", user=SA, ua=SA_UA) for d in days(SEP[1], OCT[6])]
    out += [
        ev(at(OCT[4], 11), "list", "secrets", user=SA, ua=SA_UA),  # new on day 4, known on day 5
        ev(at(OCT[5], 11), "list", "secrets", user=SA, ua=SA_UA),
        ev(at(OCT[4], 9), "create", "deployments", user=CAROL),  # a new identity on day 4 ...
        ev(at(OCT[5], 9), "create", "deployments", user=CAROL),
        ev(at(OCT[5], 9, 5), "delete", "pods", user=CAROL),  # ... is known on day 5
        ev(at(SEP[4], 12), "patch", "configmaps", user=SA, ua=SA_UA),  # 31 days before October 5
        ev(at(OCT[5], 12), "patch", "configmaps", user=SA, ua=SA_UA),
        ev(at(SEP[5], 12), "update", "configmaps", user=SA, ua=SA_UA),  # 30 days before October 5
        ev(at(OCT[5], 12), "update", "configmaps", user=SA, ua=SA_UA),
    ]
    return out


def _secrets() -> list[dict[str, Any]]:
    out = [ev(at(d, 11), "get", "secrets", user=ALICE) for d in days(SEP[1], OCT[6])]
    out += [
        ev(at(OCT[4], 12), "get", "secrets", user=ALICE, ip="203.0.113.9"),
        ev(at(OCT[5], 12), "get", "secrets", user=ALICE, ip="203.0.113.9"),
        ev(at(OCT[4], 9), "get", "secrets", user=CAROL, ip="10.50.0.1"),  # a new reader on day 4 ...
        ev(at(OCT[5], 9), "get", "secrets", user=CAROL, ip="203.0.114.50"),  # ... from a new network on day 5
    ]
    return out


def _workloads() -> list[dict[str, Any]]:
    ci_ua = "argocd-application-controller/v2.9.3"
    out = [
        ev(at(d, 11), "patch", "deployments", user=BOB, ip="10.60.0.1", ua=ci_ua)
        for d in days(SEP[1], OCT[6])
    ]
    out += [
        ev(at(OCT[4], 12), "patch", "deployments", user=BOB, ip="10.60.0.1"),  # kubectl: new on day 4 only
        ev(at(OCT[5], 12), "patch", "deployments", user=BOB, ip="10.60.0.1"),
        ev(at(OCT[4], 9), "create", "deployments", user=CAROL, ip="10.50.0.1"),  # a new actor on day 4 ...
        ev(
            at(OCT[5], 9), "create", "deployments", user=CAROL, ip="203.0.114.50"
        ),  # ... a new network on day 5
    ]
    return out


def _off_hours() -> list[dict[str, Any]]:
    out = [ev(at(d, h), "list", "pods", user=ALICE) for d in days(SEP[1], OCT[6]) for h in (10, 14)]
    out += [
        ev(at(OCT[4], 2), "list", "pods", user=ALICE),  # 02:00 is new on day 4 ...
        ev(at(OCT[4], 2, 10), "get", "pods", user=ALICE),
        ev(at(OCT[5], 2), "list", "pods", user=ALICE),  # ... and usual on day 5 (in its window)
    ]
    return out


def _volume() -> list[dict[str, Any]]:
    out = [
        ev(at(d, h, m), "get", "configmaps", user=ALICE)
        for d in days(OCT[1], OCT[11])
        for h in (10, 14)
        for m in range(0, 50, 10)
    ]  # 5 requests in each of 2 hours a day from October 1: no September history at all for Alice
    # The cluster itself has been sending since September 1 (a daily heartbeat of another identity): what
    # makes its days judged at all (the runner judges a day once the cluster covers its baseline window).
    out += [ev(at(d, 3), "get", "leases", user="heartbeat@example.com") for d in days(SEP[1], OCT[11])]
    out += [
        ev(at(OCT[10], 11) + timedelta(seconds=20 * i), "list", "secrets", user=ALICE) for i in range(100)
    ]
    # Bob has two active days before his spike: too thin a baseline to judge.
    out += [
        ev(at(d, 10, m), "get", "configmaps", user=BOB) for d in (OCT[8], OCT[9]) for m in range(0, 50, 10)
    ]
    out += [ev(at(OCT[10], 11) + timedelta(seconds=20 * i), "list", "secrets", user=BOB) for i in range(100)]
    return out


def _gap(silent_day: bool = False) -> list[dict[str, Any]]:
    first, last = at(SEP[1], 0), at(OCT[7], 0)
    silent = (at(OCT[4], 22), at(OCT[5], 2)) if not silent_day else (at(OCT[5], 0), at(OCT[6], 0))
    out, t = [], first
    while t < last:
        if not silent[0] <= t < silent[1]:
            out.append(ev(t, "get", "leases", user=SA, ua=SA_UA, ns="kube-system"))
        t += timedelta(minutes=10)
    return out


def _denied() -> list[dict[str, Any]]:
    mallory = "mallory@example.com"
    out = [ev(at(d, 10), "list", "pods", user=ALICE) for d in days(SEP[1], OCT[6])]
    out += [ev(at(OCT[3], 8, m), "get", "secrets", user=mallory, code=403) for m in (0, 5, 10)]
    out += [ev(at(OCT[4], 21, 2 * m), "list", "secrets", user=mallory, code=403) for m in range(6)]
    out += [
        # 4 hours after the denials, across midnight: the finding belongs to day 5 ...
        ev(at(OCT[5], 1), "create", "clusterrolebindings", user=mallory, ns=None),
        ev(at(OCT[5], 2), "create", "clusterrolebindings", user=mallory, ns=None),  # ... once a day
    ]
    out += [ev(at(OCT[6], 9, 2 * m), "list", "secrets", user=mallory, code=403) for m in range(5)]
    out.append(
        ev(at(OCT[6], 10), "create", "clusterrolebindings", user=mallory, ns=None)
    )  # and again on day 6
    return out


SCENARIOS: dict[str, tuple[list[dict[str, Any]], date, date]] = {
    "first-seen-identity-source-network": (_source_network(), *SPAN),
    "first-seen-identity-user-agent": (_user_agent(), *SPAN),
    "first-seen-identity-verb-resource": (_verb_resource(), *SPAN),
    "secrets-unusual-accessor": (_secrets(), *SPAN),
    "workload-change-anomalous": (_workloads(), *SPAN),
    "off-hours-activity": (_off_hours(), *SPAN),
    "volume-spike-identity": (_volume(), OCT[2], OCT[12]),
    "integrity-audit-log-gap": (_gap(), *SPAN),
    "denied-then-privileged": (_denied(), *SPAN),
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """One archive, one cluster per scenario (named after its query), plus a cluster with a silent day."""
    root = tmp_path_factory.mktemp("rolling")
    archive = open_archive(root / "archive")
    batches = {
        **{qid: events for qid, (events, _, _) in SCENARIOS.items()},
        "silent-day": _gap(silent_day=True),
    }
    for cluster, events in batches.items():
        path = root / f"{cluster}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
        Ingestor(archive.layout, cluster=cluster, workers=1).run(read_inputs([str(path)]))
    return archive


def _rows(
    archive: Archive, catalog: Catalog, query_id: str, start: date, end: date, cluster: str
) -> list[dict]:
    result = run_query(
        archive, query_id, at(start, 0), at(end, 0), clusters=[cluster], catalog=catalog, raw=True
    )
    assert result.status == "ok", (query_id, start, result.reason)
    return result.table.to_pylist() if result.table is not None else []


def _frozen(row: dict[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in row.items()))


@pytest.mark.parametrize("query_id", sorted(SCENARIOS))
def test_span_equals_union_of_days(query_id: str, archive: Archive, catalog: Catalog) -> None:
    """Day additivity: the raw rows of [start, end) are the union of the raw rows of each of its days, and
    every row's ts falls in the day whose run produced it."""
    _, start, end = SCENARIOS[query_id]
    whole = _rows(archive, catalog, query_id, start, end, query_id)
    per_day = []
    for d in days(start, end - DAY):
        rows = _rows(archive, catalog, query_id, d, d + DAY, query_id)
        assert all(r["ts"].astimezone(UTC).date() == d for r in rows), (query_id, d, rows)
        per_day += rows
    assert whole, f"{query_id}: the scenario should produce rows"
    assert sorted(map(_frozen, whole)) == sorted(map(_frozen, per_day))


def _found(archive: Archive, catalog: Catalog, query_id: str, *keys: str) -> list[tuple]:
    _, start, end = SCENARIOS[query_id]
    rows = _rows(archive, catalog, query_id, start, end, query_id)
    return sorted((r["ts"].astimezone(UTC).strftime("%m-%d %H:%M"), *(r[k] for k in keys)) for r in rows)


def test_source_network_rolling(archive: Archive, catalog: Catalog) -> None:
    assert _found(
        archive, catalog, "first-seen-identity-source-network", "user_name", "network", "score"
    ) == [
        ("10-04 10:30", ALICE, "203.0.113.0/24", 2.0),  # not again on October 5
        ("10-05 09:30", CAROL, "203.0.114.0/24", 2.0),  # judged against her first day, October 4
        ("10-05 12:00", BOB, "10.99.0.0/16", 1.0),  # last used 31 days before; Dave's 30 days before is known
    ]


def test_user_agent_rolling(archive: Archive, catalog: Catalog) -> None:
    assert _found(archive, catalog, "first-seen-identity-user-agent", "user_name", "product", "baseline") == [
        ("10-04 11:00", SA, "curl", "clients seen in 30 active day(s) of the baseline window before 2026-10-04: reader"),
        ("10-05 09:00", CAROL, "python-requests",
         "clients seen in 1 active day(s) of the baseline window before 2026-10-05: kubectl"),
    ]  # fmt: skip


def test_verb_resource_rolling(archive: Archive, catalog: Catalog) -> None:
    assert _found(archive, catalog, "first-seen-identity-verb-resource", "user_name", "action", "score") == [
        ("10-04 09:00", CAROL, "create deployments", 2.0),  # identity not seen in the window
        ("10-04 11:00", SA, "list secrets", 1.0),  # not again on October 5
        ("10-05 09:05", CAROL, "delete pods", 1.0),  # Carol is known on October 5 (her day 4)
        ("10-05 12:00", SA, "patch configmaps", 1.0),  # 31 days since; "update" 30 days since is known
    ]


def test_secrets_rolling(archive: Archive, catalog: Catalog) -> None:
    assert _found(archive, catalog, "secrets-unusual-accessor", "user_name", "network", "score") == [
        ("10-04 09:00", CAROL, "10.50.0.0/16", 3.0),  # a new reader
        ("10-04 12:00", ALICE, "203.0.113.0/24", 1.0),  # a new network, known on October 5
        ("10-05 09:00", CAROL, "203.0.114.0/24", 1.0),  # a known reader (October 4) from a new network
    ]


def test_workloads_rolling(archive: Archive, catalog: Catalog) -> None:
    assert _found(archive, catalog, "workload-change-anomalous", "user_name", "network", "score") == [
        ("10-04 09:00", CAROL, "10.50.0.0/16", 3.0),
        ("10-04 12:00", BOB, "10.60.0.0/16", 1.0),  # new client kubectl; known on October 5
        ("10-05 09:00", CAROL, "203.0.114.0/24", 1.0),
    ]


def test_off_hours_rolling(archive: Archive, catalog: Catalog) -> None:
    """02:00 is off-pattern on October 4 (two requests) and part of the pattern on October 5."""
    assert _found(archive, catalog, "off-hours-activity", "user_name", "score", "baseline") == [
        ("10-04 02:00", ALICE, 2.0, "active 30 day(s) in the baseline window before 2026-10-04 UTC, UTC hours 10,14, "
         "weekdays 1,2,3,4,5,6,7"),
    ]  # fmt: skip


def test_volume_spike_rolling(archive: Archive, catalog: Catalog) -> None:
    """October 10 is judged against October 1-9 (no September history at all); Bob's 2 days are too few."""
    assert _found(archive, catalog, "volume-spike-identity", "user_name", "requests", "score", "baseline") == [
        ("10-10 11:00", ALICE, 100, 95.0, "median 5.0/h, MAD 0.0 over 9 active day(s) of the baseline window "
         "before 2026-10-10"),
    ]  # fmt: skip


def test_gap_split_at_midnight(archive: Archive, catalog: Catalog) -> None:
    """A silence from 22:00 to 02:00 UTC is one finding per UTC day, each judged on its own day."""
    assert _found(archive, catalog, "integrity-audit-log-gap", "hours", "events_in_gap", "gap_end") == [
        ("10-04 22:00", 2, 0, at(OCT[5], 0)),
        ("10-05 00:00", 2, 0, at(OCT[5], 2)),
    ]


def test_gap_whole_silent_day(archive: Archive, catalog: Catalog) -> None:
    rows = _rows(archive, catalog, "integrity-audit-log-gap", OCT[5], OCT[6], "silent-day")
    assert [(r["ts"], r["hours"]) for r in rows] == [(at(OCT[5], 0), 24)]


def test_denied_then_privileged_once_per_day(archive: Archive, catalog: Catalog) -> None:
    """The denials of October 4 (21:00) pair with the success of October 5 01:00 (the 7-hour lookback); one
    finding per key and day; the baseline counts the denials of the 30 days before each day."""
    assert _found(archive, catalog, "denied-then-privileged", "score", "baseline") == [
        ("10-05 01:00", 6.0, "9 denied request(s) by this identity in the baseline window before 2026-10-05"),
        ("10-06 10:00", 5.0, "9 denied request(s) by this identity in the baseline window before 2026-10-06"),
    ]
