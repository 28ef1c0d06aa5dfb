"""Allow-lists applied when reading (catalog.suppress) keep exactly what the queries' own SQL keeps.

Results are stored raw (allow-lists empty) and the allow-lists are applied to the stored rows when findings are
read, so that editing them never needs a recompute. For every case that configures allow-lists, the raw run
filtered by `apply_allowlists` must keep the same rows as the SQL run with the allow-lists in place, and each
row it removes must be attributed to a configured entry (never "(unattributed)").
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kanalytics.api import Archive
from kanalytics.catalog.findings import json_safe, to_findings
from kanalytics.catalog.loader import Catalog, shared_sql
from kanalytics.catalog.runner import allowlist_entries, run_query
from kanalytics.catalog.suppress import applicable, apply_allowlists
from tests.catalog.test_cases import (
    CASES,
    case_archives,  # noqa: F401  (the fixture)
    case_period,
    case_settings,
    load_case,
    read_events,
    variant_cluster,
)


def _allowlisted_cases() -> list[Any]:
    params = []
    for folder in sorted(p for p in CASES.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        spec = load_case(folder)
        if (spec.get("settings") or {}).get("allowlists"):
            for variant in ("fire", "quiet"):
                if (folder / f"{variant}.jsonl").is_file():
                    params.append(pytest.param(folder.name, variant, id=f"{folder.name}-{variant}"))
    return params


def _key(row: dict[str, Any]) -> str:
    return json.dumps(json_safe(row), sort_keys=True)


@pytest.mark.parametrize(("query_id", "variant"), _allowlisted_cases())
def test_read_time_allowlists_keep_what_the_sql_keeps(
    query_id: str,
    variant: str,
    catalog: Catalog,
    case_archives: dict[str, Archive],  # noqa: F811
) -> None:
    folder = CASES / query_id
    spec = load_case(folder)
    start, end, baseline = case_period(read_events(folder / f"{variant}.jsonl"), spec)
    settings = case_settings(catalog, query_id, spec)
    cluster = [variant_cluster(spec.get("cluster", "test"), variant)]
    archive = case_archives[query_id]
    kwargs = {"clusters": cluster, "settings": settings, "catalog": catalog, "baseline_start": baseline}
    with_sql = run_query(archive, query_id, start, end, **kwargs)  # type: ignore[arg-type]
    raw = run_query(archive, query_id, start, end, raw=True, **kwargs)  # type: ignore[arg-type]
    assert with_sql.status == raw.status == "ok", (with_sql.reason, raw.reason)
    query = catalog.get(query_id)
    entries = applicable(
        query, allowlist_entries(settings), shared_sql(catalog.macros.values(), catalog.views.values())
    )
    kept, suppressed = apply_allowlists(query, to_findings(raw), entries)
    expected = sorted(_key(f.to_json() | {"evidence": f.evidence}) for f in to_findings(with_sql))
    assert sorted(_key(f.to_json() | {"evidence": f.evidence}) for f in kept) == expected
    assert sum(s.count for s in suppressed) == raw.rows - with_sql.rows
    assert all(s.value != "(unattributed)" for s in suppressed)
