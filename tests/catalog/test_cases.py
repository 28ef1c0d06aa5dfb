"""Every query's sample events: `fire.jsonl` must produce rows, `quiet.jsonl` none (tests/cases/<id>/).

Each case folder is ingested once into its own archive: fire.jsonl as the case's cluster (default "test") and
quiet.jsonl as "<cluster>-quiet". A run selects one cluster, and the `events` view then holds only that file's
partitions, so each variant sees exactly its own events, as with an archive of its own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kanalytics import open_archive
from kanalytics.api import Archive
from kanalytics.archive.ingest import Ingestor
from kanalytics.catalog.loader import Catalog
from kanalytics.catalog.runner import run_query
from kanalytics.config import Settings, parse_settings
from kanalytics.sources.files import read_inputs

CASES = Path(__file__).resolve().parents[1] / "cases"


def case_params() -> list[Any]:
    params = []
    for folder in sorted(p for p in CASES.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        for variant in ("fire", "quiet"):
            if (folder / f"{variant}.jsonl").is_file():
                params.append(pytest.param(folder.name, variant, id=f"{folder.name}-{variant}"))
    return params


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _ts(event: dict[str, Any]) -> datetime:
    text = event.get("requestReceivedTimestamp") or event.get("stageTimestamp") or event["timestamp"]
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _instant(value: Any) -> datetime:
    parsed = (
        value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def case_period(events: list[dict[str, Any]], spec: dict[str, Any]) -> tuple[datetime, datetime, datetime]:
    """(period_start, period_end, baseline_start) per the contract's defaults, overridden by case.yaml."""
    stamps = [_ts(e) for e in events]
    first = min(stamps).replace(hour=0, minute=0, second=0, microsecond=0)
    last = max(stamps).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    start = _instant(spec["period_start"]) if "period_start" in spec else first
    end = _instant(spec["period_end"]) if "period_end" in spec else last
    baseline = _instant(spec["baseline_start"]) if "baseline_start" in spec else start - timedelta(days=30)
    return start, end, baseline


def case_settings(catalog: Catalog, query_id: str, spec: dict[str, Any]) -> Settings:
    """The settings a case runs with: its case.yaml `settings`; a Falco-parity rule the default profile replaces
    (`superseded_by`) tests Falco's semantics, so its cases run as `profile = "falco"` does
    (test_superseded_queries_do_not_run_by_default checks what the default profile does with them)."""
    raw = dict(spec.get("settings") or {})
    if catalog.get(query_id).header.superseded_by:
        raw.setdefault("profile", "falco")
    return parse_settings(raw, origin=str(CASES / query_id / "case.yaml"))


def load_case(folder: Path) -> dict[str, Any]:
    spec_path = folder / "case.yaml"
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8")) if spec_path.is_file() else None
    return spec or {}


def ingest(archive: Archive, path: Path, cluster: str) -> None:
    # One process: a case file holds a few dozen events, so a worker pool would only add start-up time.
    Ingestor(archive.layout, cluster=cluster, workers=1).run(read_inputs([str(path)]))


@pytest.fixture(scope="module")
def case_archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Archive]:
    """Case folder -> its archive (created on first use, shared by the folder's fire and quiet tests)."""
    root = tmp_path_factory.mktemp("cases")

    class _Lazy(dict[str, Archive]):
        def __missing__(self, name: str) -> Archive:
            folder = CASES / name
            cluster = load_case(folder).get("cluster", "test")
            archive = open_archive(root / name)
            for variant in ("fire", "quiet"):
                if (folder / f"{variant}.jsonl").is_file():
                    ingest(archive, folder / f"{variant}.jsonl", variant_cluster(cluster, variant))
            self[name] = archive
            return archive

    return _Lazy()


def variant_cluster(cluster: str, variant: str) -> str:
    return cluster if variant == "fire" else f"{cluster}-quiet"


@pytest.mark.parametrize(("query_id", "variant"), case_params())
def test_case(query_id: str, variant: str, catalog: Catalog, case_archives: dict[str, Archive]) -> None:
    assert query_id in catalog.queries, f"tests/cases/{query_id}/ has no query file with that id"
    folder = CASES / query_id
    spec = load_case(folder)
    events_path = folder / f"{variant}.jsonl"
    events = read_events(events_path)
    assert events, f"{events_path} holds no events"
    start, end, baseline = case_period(events, spec)
    settings = case_settings(catalog, query_id, spec)
    cluster = variant_cluster(spec.get("cluster", "test"), variant)

    result = run_query(
        case_archives[query_id],
        query_id,
        start,
        end,
        clusters=[cluster],
        settings=settings,
        catalog=catalog,
        baseline_start=baseline,
    )

    assert result.status == "ok", f"{query_id} ({variant}): {result.status}: {result.reason}"
    if variant == "fire":
        expected = spec.get("fire_rows")
        if expected is None:
            assert result.rows >= 1, f"{query_id}: fire.jsonl produced no rows"
        else:
            assert result.rows == expected, (
                f"{query_id}: fire.jsonl produced {result.rows} rows, expected {expected}"
            )
    else:
        rows = result.table.to_pylist() if result.table is not None else []
        assert result.rows == 0, f"{query_id}: quiet.jsonl produced {result.rows} rows: {rows[:3]}"


def test_superseded_queries_do_not_run_by_default(
    catalog: Catalog, case_archives: dict[str, Archive]
) -> None:
    """Under the default profile a Falco-parity rule with `superseded_by` is not run and says what covers it
    (the loader holds the replacements to exist, run themselves and be at least as severe)."""
    superseded = sorted(q.id for q in catalog.queries.values() if q.header.superseded_by)
    assert len(superseded) >= 9
    for query_id in superseded:
        folder = CASES / query_id
        spec = load_case(folder)
        events = read_events(folder / "fire.jsonl")
        start, end, baseline = case_period(events, spec)
        raw = {k: v for k, v in (spec.get("settings") or {}).items() if k != "profile"}
        settings = parse_settings(raw, origin=str(folder / "case.yaml"))
        cluster = variant_cluster(spec.get("cluster", "test"), "fire")
        result = run_query(case_archives[query_id], query_id, start, end, clusters=[cluster], settings=settings,
                           catalog=catalog, baseline_start=baseline)  # fmt: skip
        assert result.status == "superseded", (query_id, result.status)
        named = catalog.get(query_id).header.superseded_by
        assert result.reason.startswith(f"covered by {', '.join(named)} in the default profile"), (
            result.reason
        )
