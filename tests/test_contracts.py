"""Each contract has one definition and every consumer follows it: the finding shape, the metrics the report
reads, the vocabularies, and the sources/archive boundary. A drift in any consumer fails here, by name."""

from __future__ import annotations

import ast
import csv
import dataclasses
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pyarrow as pa
import pytest

from kanalytics import vocabulary
from kanalytics.catalog.model import (
    ANOMALY_COLUMNS,
    FINDING_COLUMNS,
    FINDING_FIELDS,
    FINDING_NAMES,
    FINDING_TABLE_COLUMNS,
    CatalogRun,
    Finding,
    FindingSource,
    QueryHeader,
    QueryResult,
    finding_schema,
)
from tests.conftest import REPO

PACKAGE = REPO / "kanalytics"


def _finding() -> Finding:
    return Finding(
        query_id="hostpid-pod", title="Pod with hostPID", kind="detection", severity="high", area="privileged-workloads",
        ts=datetime(2026, 10, 1, 12, 0, tzinfo=UTC), audit_id="a-1", user_name="alice", source_ip="10.0.0.5",
        verb="create", resource="pods", namespace="default", object_name="web", summary="alice created web",
        cluster="prod", score=None, baseline=None, evidence={"image": "nginx"},
    )  # fmt: skip


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(PACKAGE.rglob("*.py"))]


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


# -- the finding shape -----------------------------------------------------------------------------------
def test_finding_dataclass_has_exactly_the_finding_fields() -> None:
    assert sorted(f.name for f in dataclasses.fields(Finding)) == sorted(FINDING_NAMES)
    assert len(set(FINDING_NAMES)) == len(FINDING_NAMES)


def test_query_columns_are_derived_from_the_finding_fields() -> None:
    from kanalytics.catalog.findings import missing_columns

    assert FINDING_COLUMNS == ("ts", "audit_id", "user_name", "source_ip", "verb", "resource", "namespace",
                               "object_name", "summary")  # fmt: skip
    assert ANOMALY_COLUMNS == ("score", "baseline")
    assert missing_columns("detection", []) == list(FINDING_COLUMNS)
    assert missing_columns("anomaly", list(FINDING_COLUMNS)) == ["score", "baseline"]
    assert missing_columns("metric", []) == []


def test_findings_frame_schema_is_the_finding_schema() -> None:
    import polars as pl

    from kanalytics.catalog.findings import findings_frame

    frame = findings_frame([_finding()])
    assert frame.columns == list(FINDING_NAMES)
    assert frame.schema == pl.from_arrow(finding_schema().empty_table()).schema  # type: ignore[union-attr]
    assert frame.schema["ts"] == pl.Datetime("us", "UTC") and frame.schema["score"] == pl.Float64
    assert json.loads(frame["evidence"][0]) == {"image": "nginx"}


def test_findings_csv_and_json_have_the_finding_columns_in_order(tmp_path: Path) -> None:
    from kanalytics.catalog.findings import finding_id
    from kanalytics.report.exports import REVIEW_COLUMNS, write_findings_csv, write_findings_json

    write_findings_csv([_finding()], tmp_path / "findings.csv")
    with (tmp_path / "findings.csv").open(encoding="utf-8", newline="") as handle:
        header, row = list(csv.reader(handle))
    assert tuple(header) == FINDING_NAMES + REVIEW_COLUMNS
    assert dict(zip(header, row, strict=True))["ts"] == "2026-10-01T12:00:00+00:00"
    assert dict(zip(header, row, strict=True))["finding_id"] == finding_id(_finding())
    write_findings_json([_finding()], tmp_path / "findings.json")
    (data,) = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))
    assert set(data) == set(FINDING_NAMES + REVIEW_COLUMNS)
    assert tuple(_finding().to_json()) == FINDING_NAMES


def test_findings_table_columns_and_docs_follow_the_shape() -> None:
    assert set(FINDING_TABLE_COLUMNS) <= set(FINDING_NAMES)
    assert {f.source for f in FINDING_FIELDS} == set(get_args(FindingSource))
    # docs/catalog.md tells query authors which columns to return: the same list, in the same order
    text = " ".join((REPO / "docs" / "catalog.md").read_text(encoding="utf-8").split())
    assert f"`{', '.join(FINDING_COLUMNS)}`" in text


def test_to_findings_puts_every_unnamed_column_in_evidence() -> None:
    from kanalytics.catalog.findings import to_findings
    from kanalytics.catalog.loader import load_catalog

    query = load_catalog().queries["hostpid-pod"]
    row: dict[str, Any] = {c: "x" for c in FINDING_COLUMNS} | {
        "ts": None,
        "cluster": "prod",
        "image": "nginx",
    }
    (found,) = to_findings(QueryResult(query=query, status="ok", table=pa.Table.from_pylist([row])))
    assert found.evidence == {"image": "nginx"} and found.cluster == "prod" and found.severity == "high"


# -- what the report reads from metrics ------------------------------------------------------------------
@pytest.fixture(scope="module")
def metric_archive(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import kanalytics

    sys.path.insert(0, str(REPO / "tests" / "report"))
    from factory import event, mixed_day

    day = datetime(2026, 10, 1, tzinfo=UTC)
    events = [*mixed_day(day, 1, per_hour=1), event(day + timedelta(hours=3), n=90_001, code=403)]
    archive = kanalytics.open_archive(tmp_path_factory.mktemp("contracts") / "archive")
    archive.ingest_events(events, cluster="prod")
    return archive


def test_every_metric_the_report_reads_exists_and_returns_its_columns(metric_archive: Any) -> None:
    from kanalytics.catalog.loader import load_catalog
    from kanalytics.report.metrics import REPORT_METRICS

    catalog = load_catalog()
    problems = []
    for need in REPORT_METRICS:
        query = catalog.queries.get(need.id)
        if query is None or query.header.kind != "metric":
            problems.append(f"{need.id}: no such metric in queries/metrics/")
            continue
        result = metric_archive.run(need.id, start="2026-10-01", end="2026-10-02")
        if result.status != "ok":
            problems.append(f"{need.id}: {result.status} {result.reason}")
            continue
        missing = [c for c in need.columns if c not in result.frame.columns]
        if missing:
            problems.append(f"{need.id}: returns no {', '.join(missing)} ({need.used_for})")
        if need.columns and not result.rows:
            problems.append(f"{need.id}: returned no rows for a day of traffic")
    assert problems == []


def test_a_metric_without_a_column_the_report_reads_is_an_error_not_an_empty_chart() -> None:
    from kanalytics.catalog.loader import load_catalog
    from kanalytics.errors import ReportError
    from kanalytics.report.metrics import DENIED_PER_DAY, rows_of

    query = load_catalog().queries[DENIED_PER_DAY.id]
    table = pa.Table.from_pylist([{"day": "2026-10-01", "denied": 3, "unauthenticated": 0}])
    start = datetime(2026, 10, 1, tzinfo=UTC)
    run = CatalogRun(start, start, start, None, {query.id: QueryResult(query, "ok", table)}, [], [], "v")
    with pytest.raises(
        ReportError, match=r"metric denied-requests-per-day \(.*\) returns no column forbidden"
    ):
        rows_of(run, DENIED_PER_DAY)
    run.results[query.id] = QueryResult(query, "error", reason="boom")
    assert rows_of(run, DENIED_PER_DAY) == []  # a failed metric is listed under coverage, not raised here


def test_the_report_names_metrics_only_through_the_declaration() -> None:
    """No metric id the report reads is a string literal anywhere in kanalytics/report/ but metrics.py, and
    every `r["column"]` a report module reads from metric rows is a declared column."""
    from kanalytics.report.metrics import REPORT_METRICS

    ids = {m.id for m in REPORT_METRICS}
    columns = {c for m in REPORT_METRICS for c in m.columns}
    stray = []
    for path in sorted((PACKAGE / "report").glob("*.py")):
        if path.name == "metrics.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in ids:
                stray.append(f"{_rel(path)}:{node.lineno}: metric id {node.value!r}")
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id == "r"
                and isinstance(node.slice, ast.Constant)
                and node.slice.value not in columns
            ):
                stray.append(f"{_rel(path)}:{node.lineno}: undeclared metric column {node.slice.value!r}")
    assert stray == []


# -- vocabularies ----------------------------------------------------------------------------------------
def test_every_area_has_a_title_and_a_place_in_the_report() -> None:
    from kanalytics.report.areas import SECTIONS, SHOWN_IN

    assert set(vocabulary.AREA_TITLES) == set(vocabulary.AREAS)
    sectioned = [area for area, _ in SECTIONS]
    assert len(sectioned) == len(set(sectioned))
    assert sorted(sectioned + list(SHOWN_IN)) == sorted(vocabulary.AREAS)


def test_the_built_in_catalog_uses_every_area_and_kind() -> None:
    from kanalytics.catalog.loader import load_catalog

    headers = [q.header for q in load_catalog().queries.values()]
    assert {h.area for h in headers} == set(vocabulary.AREAS)
    assert {h.kind for h in headers} == set(vocabulary.QUERY_KINDS)
    assert set(vocabulary.KIND_FOLDERS.values()) == set(vocabulary.QUERY_KINDS)


def test_query_headers_validate_against_the_vocabularies() -> None:
    fields = QueryHeader.model_fields
    assert fields["area"].annotation is vocabulary.Area
    assert fields["kind"].annotation is vocabulary.QueryKind
    assert fields["severity"].annotation is vocabulary.Severity
    assert fields["needs_level"].annotation is vocabulary.AuditLevel


def test_severity_order_and_the_report_marks_cover_every_severity() -> None:
    from kanalytics.report.render import SEVERITY_MARKS

    assert vocabulary.SEVERITIES == ("critical", "high", "medium", "low", "info")
    assert [vocabulary.SEVERITY_ORDER[s] for s in vocabulary.SEVERITIES] == [4, 3, 2, 1, 0]
    assert list(vocabulary.LEVEL_ORDER) == ["None", "Metadata", "Request", "RequestResponse"]
    assert set(SEVERITY_MARKS) == {*vocabulary.SEVERITIES, "coverage"}
    css = (REPO / "report_templates" / "report.css").read_text(encoding="utf-8")
    assert [s for s in vocabulary.SEVERITIES if f".sev-{s} " not in css] == []


def test_no_module_spells_out_a_vocabulary_again() -> None:
    """A tuple, list or set of two or more names of one vocabulary, written outside kanalytics/vocabulary.py,
    is a second copy that will drift (e.g. a severity list that forgets one)."""
    vocabs = {
        "severities": set(vocabulary.SEVERITIES),
        "query kinds": set(vocabulary.QUERY_KINDS),
        "audit levels": set(vocabulary.AUDIT_LEVELS),
        "areas": set(vocabulary.AREAS),
        "manifest operations": set(vocabulary.OPERATIONS),
    }
    copies = []
    for path, tree in _modules():
        if path.name == "vocabulary.py":
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Tuple | ast.List | ast.Set) or len(node.elts) < 2:
                continue
            if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                continue
            values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            copies += [f"{_rel(path)}:{node.lineno}: {name} {sorted(values)}" for name, v in vocabs.items()
                       if values <= v]  # fmt: skip
    assert copies == []


def test_manifest_operations_are_named_only_by_the_vocabulary() -> None:
    """No string literal names an operation outside vocabulary.py: not as the operation of `append_manifest`,
    not in a comparison with `.operation`, not assigned to a constant."""
    literal = []
    for path, tree in _modules():
        if path.name == "vocabulary.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == (
                "append_manifest"
            ):
                args = node.args[1:2] + [k.value for k in node.keywords if k.arg == "operation"]
                literal += [f"{_rel(path)}:{a.lineno}" for a in args if isinstance(a, ast.Constant)]
            elif isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(isinstance(s, ast.Attribute) and s.attr == "operation" for s in sides):
                    literal += [f"{_rel(path)}:{s.lineno}" for s in sides if isinstance(s, ast.Constant)]
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and node.value.value in vocabulary.OPERATIONS
            ):
                literal.append(f"{_rel(path)}:{node.lineno}")
    assert literal == []


def test_archive_writers_commit_with_the_vocabulary_operations() -> None:
    from kanalytics.archive import chain, compact, holds, verify

    assert chain.RETENTION_OPERATION is verify.RETENTION_OPERATION is vocabulary.RETENTION_OPERATION
    assert compact.COMPACT_OPERATION == "compact" and (holds.HOLD_ADD, holds.HOLD_RELEASE) == (
        "hold-add",
        "hold-release",
    )
    assert set(vocabulary.OPERATIONS) == {
        vocabulary.INGEST_OPERATION, vocabulary.COMPACT_OPERATION, vocabulary.RETENTION_OPERATION,
        vocabulary.HOLD_ADD, vocabulary.HOLD_RELEASE, vocabulary.EVALUATE_OPERATION, vocabulary.TRIAGE_OPERATION,
    }  # fmt: skip


def test_vocabulary_imports_nothing_of_kanalytics() -> None:
    tree = ast.parse((PACKAGE / "vocabulary.py").read_text(encoding="utf-8"))
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert [m for m in imported if m and m.startswith("kanalytics")] == []


# -- the sources/archive boundary ------------------------------------------------------------------------
def test_input_shapes_are_unwrapped_only_in_sources_documents() -> None:
    """Only `sources/documents.py` imports the shape readers' unwrap; the archive imports no shape module."""
    importers = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n == "kanalytics.sources.native" or n.endswith("native.unwrap") for n in names):
                importers.append(_rel(path))
    assert importers == ["kanalytics/sources/documents.py"]
    convert = (PACKAGE / "archive" / "convert.py").read_text(encoding="utf-8")
    assert "unwrap" not in convert and "loads(" not in convert


def test_a_block_is_parsed_once_and_unwrapped_by_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    from kanalytics.archive.convert import convert_block
    from kanalytics.sources import documents, jsontext
    from kanalytics.sources.records import Block
    from tests.conftest import make_event

    one, two, three = make_event(), make_event(), make_event()
    lines = [
        documents.BOM + json.dumps(one).encode(),
        json.dumps({"kind": "EventList", "items": [two, three]}).encode(),
        b"",
        b"42",
        b"{not json",
    ]
    calls = []
    real = jsontext.loads
    monkeypatch.setattr(jsontext, "loads", lambda data: calls.append(data) or real(data))
    converted = convert_block(Block("audit.log", 1, b"\n".join(lines) + b"\n"))
    assert len(calls) == 4  # one parse per non-blank line, in this worker, never a second one
    assert converted.batch is not None and converted.batch.num_rows == 3 and converted.read == 5
    assert [(line, reason) for _, line, reason, _ in converted.quarantine] == [
        (4, documents.NOT_AN_EVENT),
        (5, converted.quarantine[1][2]),
    ]
    assert converted.quarantine[1][2].startswith("not valid JSON")
    assert [r.raw is not None for r in documents.block_records(Block("x", 1, lines[1]))] == [False, False]
