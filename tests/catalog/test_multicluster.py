"""One finding per cluster: every detection and anomaly keeps the clusters of an archive apart.

Each query's case events (tests/cases/<id>/fire.jsonl) are ingested twice into one archive, as cluster "alpha"
and again, unchanged, as cluster "bravo". Run over cluster "alpha" alone, a query sees exactly the case; run over both,
it must return each of those findings twice, once per cluster, each naming its cluster: a query that groups,
windows or joins across clusters (a burst counted over both, a baseline shared by both, `cluster` not selected)
returns a different number of rows, merged rows, or rows without a cluster. One test runs the whole catalog and
names every offending query at once.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kanalytics import open_archive
from kanalytics.catalog.findings import json_safe
from kanalytics.catalog.loader import Catalog
from kanalytics.catalog.runner import run_query
from tests.catalog.test_cases import CASES, case_period, case_settings, ingest, load_case, read_events

FINDING_KINDS = ("detection", "anomaly")
A, B = "alpha", "bravo"  # distinct words, so that a summary naming its cluster can be compared too


def _fire_cases(catalog: Catalog) -> list[str]:
    return sorted(
        p.name
        for p in CASES.iterdir()
        if (p / "fire.jsonl").is_file()
        and p.name in catalog.queries
        and catalog.queries[p.name].header.kind in FINDING_KINDS
    )


def _row_key(row: dict[str, Any]) -> str:
    """A row as comparable text, with cluster B's name (in `cluster` and in any text, e.g. a summary) read as A's."""
    return json.dumps(json_safe(row), sort_keys=True, default=str).replace(B, A)


def _check(one: list[dict[str, Any]], both: list[dict[str, Any]]) -> str | None:
    """Why `both` (the run over clusters A and B) is not `one` (the run over A) once per cluster; None if it is."""
    if not one:
        return "its case fires no rows over one cluster"
    if any(row.get("cluster") is None for row in one + both):
        return "returns findings without a cluster (select `cluster`)"
    if len(both) != 2 * len(one):
        return f"{len(one)} rows over one cluster but {len(both)} over two (expected {2 * len(one)})"
    clusters = Counter(row["cluster"] for row in both)
    if clusters != Counter({A: len(one), B: len(one)}):
        return f"rows per cluster over two clusters: {dict(clusters)} (expected {len(one)} each)"
    expected = Counter(_row_key(row) for row in one)
    for cluster in (A, B):
        got = Counter(_row_key(row) for row in both if row["cluster"] == cluster)
        if got != expected:
            extra = sorted((got - expected).elements())[:1]
            return f"cluster {cluster}'s rows differ from the one-cluster run, e.g. {extra}"
    return None


@pytest.mark.slow
def test_each_finding_is_per_cluster(catalog: Catalog, tmp_path: Path) -> None:
    problems: list[str] = []
    for query_id in _fire_cases(catalog):
        folder = CASES / query_id
        spec = load_case(folder)
        start, end, baseline = case_period(read_events(folder / "fire.jsonl"), spec)
        settings = case_settings(catalog, query_id, spec)
        archive = open_archive(tmp_path / query_id)
        for cluster in (A, B):
            ingest(archive, folder / "fire.jsonl", cluster)
        rows: dict[str, list[dict[str, Any]]] = {}
        for name, clusters in (("one", [A]), ("both", None)):
            result = run_query(
                archive, query_id, start, end, clusters=clusters, settings=settings, catalog=catalog,
                baseline_start=baseline,
            )  # fmt: skip
            if result.status != "ok":
                problems.append(f"{query_id}: {result.status}: {result.reason}")
                break
            rows[name] = result.table.to_pylist() if result.table is not None else []
        else:
            problem = _check(rows["one"], rows["both"])
            if problem:
                problems.append(f"{query_id} ({catalog.queries[query_id].path}): {problem}")
    assert not problems, f"{len(problems)} queries do not keep clusters apart:\n" + "\n".join(problems)


def test_check_names_each_way_of_mixing_clusters() -> None:
    row = {"ts": "t", "user_name": "u", "cluster": A, "requests": 3, "summary": f"3 requests in {A}"}
    other = {**row, "cluster": B, "summary": f"3 requests in {B}"}
    assert _check([row], [row, other]) is None
    assert _check([], []) == "its case fires no rows over one cluster"
    assert _check([{**row, "cluster": None}], []) == "returns findings without a cluster (select `cluster`)"
    assert _check([row], [{**row, "requests": 6}]) == "1 rows over one cluster but 1 over two (expected 2)"
    assert _check([row], [row, row]) == "rows per cluster over two clusters: {'alpha': 2} (expected 1 each)"
    assert _check([row], [row, {**other, "requests": 6}]) == (
        "cluster bravo's rows differ from the one-cluster run, e.g. "
        + str([_row_key({**other, "requests": 6})])
    )
