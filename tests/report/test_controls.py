"""The control mapping an auditor reads: inventory is evidence, not failure; exceptions are counted with their
reviews and linked; a control whose checks could not run says why; every mark the tables use is defined."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from kanalytics.archive.dispositions import Disposition
from kanalytics.catalog.findings import finding_id
from kanalytics.catalog.loader import Catalog
from kanalytics.catalog.model import CatalogRun, Control, Finding, Framework, Query, QueryHeader, QueryResult
from kanalytics.report.build import query_status
from kanalytics.report.context import AreaSection, FrameworkTable
from kanalytics.report.controls import control_tables
from kanalytics.report.render import environment

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
# (id, severity, area, controls, run status, reason)
QUERIES = (
    ("secret-read", "info", "secrets", ["t:1", "t:2"], "ok", ""),
    ("role-change", "medium", "rbac", ["t:2"], "ok", ""),
    ("exec-shell", "high", "exec", ["t:2"], "ok", ""),
    ("host-pid", "high", "privileged-workloads", ["t:3"], "not-evaluable", "needs RequestResponse, seen Metadata"),
    ("host-ipc", "high", "privileged-workloads", ["t:3"], "not-evaluable", "needs RequestResponse, seen Metadata"),
    ("bad-registry", "medium", "privileged-workloads", ["t:3", "t:1"], "needs-configuration", "needs allowlists.trusted_registries"),
)  # fmt: skip
CONTROLS = (
    ("1", "Access to secrets is recorded", "automated", ""),
    ("2", "Privileged actions are reviewed", "automated", ""),
    ("3", "Privileged workloads are recorded", "partial", "bodies needed"),
    ("4", "Access to the logs is recorded", "manual", "outside the API server"),
    ("5", "No query maps here", "automated", ""),
)


def _query(qid: str, severity: str, area: str, controls: list[str]) -> Query:
    header = QueryHeader.model_validate({"id": qid, "title": f"Title of {qid}", "kind": "detection",
                                         "severity": severity, "area": area, "controls": controls,
                                         "description": f"{qid} description"})  # fmt: skip
    return Query(header=header, sql="select 1", path=f"{qid}.sql", version="v1")


def _finding(query: Query, n: int) -> Finding:
    h = query.header
    return Finding(query_id=h.id, title=h.title, kind=h.kind, severity=h.severity, area=h.area,
                   ts=datetime(2026, 10, 3, 12, n, tzinfo=UTC), audit_id=f"audit-{h.id}-{n}",
                   user_name="alice@example.com", source_ip="10.0.0.1", verb="get", resource="secrets",
                   namespace="default", object_name=f"obj-{n}", summary=f"{h.id} {n}", cluster="prod")  # fmt: skip


def _catalog_and_run() -> tuple[Catalog, CatalogRun]:
    queries = {q[0]: _query(*q[:4]) for q in QUERIES}
    controls = [Control("t", f"t:{c}", c, title, automation, note) for c, title, automation, note in CONTROLS]  # type: ignore[arg-type]
    catalog = Catalog(queries=queries, frameworks={"t": Framework("t", "Test framework", controls)},
                      controls={c.id: c for c in controls}, version="cat")  # fmt: skip
    results = {qid: QueryResult(query=queries[qid], status=status, reason=reason)  # type: ignore[arg-type]
               for qid, _, _, _, status, reason in QUERIES}  # fmt: skip
    findings = [_finding(queries["secret-read"], n) for n in range(3)]
    findings += [_finding(queries["role-change"], n) for n in range(2)]
    findings += [_finding(queries["exec-shell"], 0)]
    run = CatalogRun(start=START, end=END, baseline_start=START, clusters=None, results=results,
                     findings=findings, levels_seen=["Metadata"], catalog_version="cat")  # fmt: skip
    return catalog, run


def _reviews(run: CatalogRun) -> dict[str, Disposition]:
    """One of the two role-change findings was reviewed (benign)."""
    f = next(f for f in run.findings if f.query_id == "role-change")
    fid = finding_id(f)
    at = datetime(2026, 11, 3, tzinfo=UTC)
    return {
        fid: Disposition(target=fid, verdict="benign", note="planned", by="alice", at=at, findings=(fid,))
    }


@pytest.fixture
def table() -> FrameworkTable:
    catalog, run = _catalog_and_run()
    (only,) = control_tables(run, catalog, ["t", "not-configured"], _reviews(run))
    return only


def test_only_info_findings_evidence_a_control_and_are_counted_as_inventory(table: FrameworkTable) -> None:
    row = table.rows[0]
    assert (row.control, row.status, row.exceptions, row.reviewed, row.inventory) == (
        "1",
        "evidenced",
        0,
        0,
        3,
    )
    assert row.queries == ["bad-registry", "secret-read"] and row.not_run == 1
    assert (row.reason, row.first_exception) == ("", "")


def test_non_info_findings_are_exceptions_counted_with_their_reviews(table: FrameworkTable) -> None:
    row = table.rows[1]
    assert (row.status, row.exceptions, row.reviewed, row.inventory) == ("exceptions", 3, 1, 3)
    assert row.first_exception == "q-exec-shell"  # the most severe check with exceptions, not the first id
    assert [(c.id, c.title, c.status) for c in row.checks] == [
        ("exec-shell", "Title of exec-shell", "ok"), ("role-change", "Title of role-change", "ok"),
        ("secret-read", "Title of secret-read", "ok"),
    ]  # fmt: skip


def test_a_control_whose_checks_all_could_not_run_is_not_evaluable_with_the_reasons(
    table: FrameworkTable,
) -> None:
    row = table.rows[2]
    assert (row.status, row.exceptions, row.inventory, row.not_run) == ("not evaluable", 0, 0, 3)
    assert row.reason == (
        "needs RequestResponse, seen Metadata (host-ipc, host-pid); "
        "needs allowlists.trusted_registries (bad-registry)"
    )


def test_manual_controls_and_controls_without_checks_are_manual(table: FrameworkTable) -> None:
    assert [(r.control, r.status, r.queries) for r in table.rows[3:]] == [
        ("4", "manual", []),
        ("5", "manual", []),
    ]
    assert table.counts == {"evidenced": 1, "exceptions": 1, "not evaluable": 1, "manual": 2}
    assert [r.anchor for r in table.rows] == [f"ctl-t-{n}" for n in range(1, 6)]


def test_anchors_of_control_ids_with_brackets_are_plain_fragments() -> None:
    catalog, run = _catalog_and_run()
    control = Control("nist", "nist:AU-3(1)", "AU-3(1)", "Additional audit information", "automated")
    catalog.frameworks["nist"] = Framework("nist", "NIST", [control])
    (nist,) = control_tables(run, catalog, ["nist"])
    assert nist.rows[0].anchor == "ctl-nist-AU-3-1-"


def _render(table: FrameworkTable, run: CatalogRun) -> str:
    """The control mapping, one area section and the methodology appendix, rendered by the report's own
    environment (autoescape, StrictUndefined) from the context fields those partials read."""
    statuses = [query_status(r) for r in run.results.values()]
    for s in statuses:
        s.rows = sum(1 for f in run.findings if f.query_id == s.id)
    privileged = [s for s in statuses if s.area == "privileged-workloads"]
    area = AreaSection(id="privileged-workloads", title="Privileged workloads", intro="", charts=[], tables=[],
                       queries=privileged, findings=0)  # fmt: skip
    rbac = AreaSection(id="rbac", title="RBAC", intro="", charts=[], tables=[],
                       queries=[s for s in statuses if s.area == "rbac"], findings=2)  # fmt: skip
    r: Any = SimpleNamespace(controls=[table], methodology=statuses, cover=SimpleNamespace(timezone="UTC"),
                             coverage=SimpleNamespace(baseline="30 days"), parameters={}, overrides=[])  # fmt: skip
    page = (
        '{% include "partials/controls.html.j2" %}'
        '{% for area in areas %}{% include "partials/area.html.j2" %}{% endfor %}'
        '{% include "partials/methodology.html.j2" %}'
    )
    return environment().from_string(page).render(r=r, areas=[area, rbac])


def _section(html: str, anchor: str) -> str:
    start = html.index(f'<section id="{anchor}"')
    return html[start : html.index("</section>", start)]


def _marks(html: str) -> set[str]:
    return set(re.findall(r'<span class="mark" aria-hidden="true">([^<]+)</span>', html))


def _legend(html: str) -> str:
    (legend,) = re.findall(r'<p class="legend small">.*?</p>', html, re.S)
    return legend


def test_control_table_marks_no_failure_and_its_legend_defines_every_mark() -> None:
    catalog, run = _catalog_and_run()
    (table,) = control_tables(run, catalog, ["t"], _reviews(run))
    controls = _section(_render(table, run), "controls")
    tables = "".join(re.findall(r"<table class=\"data control-map\">.*?</table>", controls, re.S))
    assert "✖" not in controls and "failed" not in tables
    assert _marks(tables) == {"⚑", "✔", "?", "✎"}
    assert _marks(tables) <= _marks(_legend(controls))
    for word in ("exceptions", "evidenced", "not evaluable", "manual", "Recorded activity (info)"):
        assert word in _legend(controls), word
    assert '<a href="#q-exec-shell">3 to review</a>, 1 reviewed' in tables
    assert '<td class="num" data-value="3"><a href="#inventory">3</a></td>' in tables  # inventory as evidence
    assert "needs RequestResponse, seen Metadata (host-ipc, host-pid)" in tables


def test_checks_behind_a_control_are_a_count_linking_to_the_appendix_list() -> None:
    catalog, run = _catalog_and_run()
    (table,) = control_tables(run, catalog, ["t"])
    html = _render(table, run)
    controls = _section(html, "controls")
    assert '<td class="num" data-value="3"><a href="#ctl-t-2">3</a></td>' in controls
    assert "role-change" not in controls  # the ids are listed in the appendix only
    appendix = _section(html, "methodology")
    entry = re.findall(r'<dt id="ctl-t-2">.*?</dd>', appendix, re.S)[0]
    assert re.findall(r'<span class="mono">([a-z-]+)</span> — Title of', entry) == [
        "exec-shell",
        "role-change",
        "secret-read",
    ]
    entry = re.findall(r'<dt id="ctl-t-1">.*?</dd>', appendix, re.S)[0]
    assert (
        'bad-registry</span> — Title of bad-registry (<span class="status status-needs-configuration">'
        in entry
    )
    assert 'id="ctl-t-4"' not in appendix  # a control with no check has no entry (its row shows "—")


def test_checks_in_an_area_show_run_status_only_when_a_check_did_not_run() -> None:
    catalog, run = _catalog_and_run()
    (table,) = control_tables(run, catalog, ["t"])
    html = _render(table, run)
    rbac, privileged = _section(html, "rbac"), _section(html, "privileged-workloads")
    for section in (rbac, privileged):
        text = re.sub(r"<[^>]+>", " ", section)
        assert not re.search(r"\bok\b", text) and "✔" not in section
        assert _marks(section.split("</p>", 2)[-1]) <= _marks(_legend(section))
    assert "Run status" not in rbac  # every check there ran
    assert '<tr data-severity="medium" data-area="rbac">' in rbac
    assert re.findall(r'<tr data-severity="(\w+)" data-area="privileged-workloads">', privileged) == [
        "high",
        "high",
        "medium",
    ]
    assert privileged.count('<td class="num" data-value="-1">—</td>') == 3
    assert _marks(_legend(privileged)) == {"◆", "▲", "?", "⚙"}


def test_methodology_defines_every_mark_of_the_report_once() -> None:
    from kanalytics.report.render import SEVERITY_MARKS, STATUS_MARKS

    catalog, run = _catalog_and_run()
    (table,) = control_tables(run, catalog, ["t"])
    methodology = _section(_render(table, run), "methodology")
    assert _marks(_legend(methodology)) == set(SEVERITY_MARKS.values()) | set(STATUS_MARKS.values())
    assert len(set(SEVERITY_MARKS.values()) | set(STATUS_MARKS.values())) == len(SEVERITY_MARKS) + len(
        STATUS_MARKS
    )
    assert re.findall(r"<td>(ran|<span class=\"status [^\"]+\">)", methodology).count("ran") == 3
