"""Meta-tests over the whole query tree; each lists every offender at once instead of stopping at the first."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from kanalytics.archive.layout import Layout
from kanalytics.archive.reader import connect
from kanalytics.catalog.findings import missing_columns
from kanalytics.catalog.loader import (
    KIND_FOLDERS,
    Catalog,
    builtin_query_dir,
    split_query_file,
    sql_problems,
)
from kanalytics.catalog.runner import Session
from kanalytics.config import Settings

QUERIES = builtin_query_dir()
CASES = Path(__file__).resolve().parents[1] / "cases"


def query_files() -> list[Path]:
    assert QUERIES is not None, "no queries/ folder found"
    return sorted(p for folder in KIND_FOLDERS for p in (QUERIES / folder).glob("*.sql"))


def headers() -> dict[Path, dict[str, Any]]:
    return {path: split_query_file(path.read_text(encoding="utf-8"))[0] for path in query_files()}


def test_ids_are_unique_and_equal_file_names() -> None:
    seen: dict[str, Path] = {}
    offenders = []
    for path, header in headers().items():
        if header.get("id") != path.stem:
            offenders.append(f"{path}: id {header.get('id')!r} != file name")
        if header.get("id") in seen:
            offenders.append(f"{path}: duplicate id (also {seen[header['id']]})")
        seen[str(header.get("id"))] = path
    assert not offenders, "\n".join(offenders)


def test_every_control_id_exists(catalog: Catalog) -> None:
    offenders = [
        f"{path}: unknown control {cid}"
        for path, header in headers().items()
        for cid in header.get("controls") or []
        if cid not in catalog.controls
    ]
    assert not offenders, "\n".join(offenders)


def test_every_query_has_cases() -> None:
    offenders = []
    for path, header in headers().items():
        folder = CASES / path.stem
        if not (folder / "fire.jsonl").is_file():
            offenders.append(f"{path.stem}: missing tests/cases/{path.stem}/fire.jsonl")
        if header.get("kind") in ("detection", "anomaly") and not (folder / "quiet.jsonl").is_file():
            offenders.append(f"{path.stem}: missing tests/cases/{path.stem}/quiet.jsonl")
    ids = {p.stem for p in query_files()}
    orphans = [
        p.name
        for p in CASES.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and p.name not in ids
    ]
    offenders += [f"tests/cases/{name}/ has no query" for name in sorted(orphans)]
    assert not offenders, "\n".join(offenders)


def test_no_query_formats_parameters_into_sql() -> None:
    offenders = [
        f"{path}: {problem}"
        for path in query_files()
        for problem in sql_problems(split_query_file(path.read_text(encoding="utf-8"))[1])
    ]
    assert not offenders, "\n".join(offenders)


def test_every_control_is_covered_or_manual(catalog: Catalog) -> None:
    index = catalog.control_index()
    offenders = [
        f"{cid}: no query evidences it and it is {control.automation}, not manual"
        for cid, control in catalog.controls.items()
        if not index[cid] and control.automation != "manual"
    ]
    offenders += [
        f"{cid}: manual without a note"
        for cid, c in catalog.controls.items()
        if c.automation == "manual" and not c.note
    ]
    assert not offenders, "\n".join(offenders)


def test_detections_and_anomalies_return_the_finding_shape(catalog: Catalog, tmp_path: Path) -> None:
    con = connect(Layout(tmp_path / "empty"), connection=duckdb.connect())
    # Falco's profile runs every query (the default one leaves the needs_config queries waiting for a list).
    settings = Settings(profile="falco")
    session = Session(con, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC), settings)
    offenders = []
    for query in sorted(catalog.queries.values(), key=lambda q: q.id):
        result = session.run(query)
        if result.status == "error" and result.table is None:
            offenders.append(f"{query.id}: {result.reason}")
            continue
        assert result.table is not None
        missing = missing_columns(query.header.kind, result.table.column_names)
        if missing:
            offenders.append(f"{query.id}: missing finding column(s) {', '.join(missing)}")
    con.close()
    assert not offenders, "\n".join(offenders)


def test_tune_proposals_load_and_run(catalog: Catalog, tmp_path: Path) -> None:
    """queries/tune/ holds `kanalytics tune`'s proposal queries: each header is valid (load_proposals raises one
    QueryError listing every problem), its id is its file name, and its SQL runs (with its source query's
    rows) over an empty archive."""
    from kanalytics.catalog.loader import TUNE_FOLDER, load_proposals
    from kanalytics.catalog.tune import ProposalUnavailable, proposal_rows

    assert QUERIES is not None
    proposals = load_proposals(catalog)
    assert sorted(proposals) == sorted(p.stem for p in (QUERIES / TUNE_FOLDER).glob("*.sql"))
    con = connect(Layout(tmp_path / "empty"), connection=duckdb.connect())
    session = Session(
        con, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC), Settings(profile="falco")
    )
    offenders = []
    for proposal in proposals.values():
        try:
            assert proposal_rows(session, catalog, proposal) == []
        except ProposalUnavailable as exc:
            offenders.append(f"{proposal.path}: {exc.reason}")
    con.close()
    assert not offenders, "\n".join(offenders)
