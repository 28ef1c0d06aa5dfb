"""The PDF's layout: no text runs out of its box or off the page, no table row is split across pages.

The PDF text can be complete while the page is wrong (a count printed over the next column, a row's id on one
page and its title on the next), so these tests read WeasyPrint's layout (kanalytics.report.layout) of the
print HTML: of a report over hostile long log values, of a broken snippet (the checker finds what it should),
and of the demo report.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factory import event

import kanalytics
from kanalytics.archive.api import Store
from kanalytics.config import Settings
from kanalytics.report import render
from kanalytics.report.api import generate_report
from kanalytics.report.context import ReportContext
from kanalytics.report.evidence import SUMMARY_CHARS
from kanalytics.report.layout import Problem, layout_problems

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 10, 4, tzinfo=UTC)
LONG_USER = "svc-" + "x" * 296  # 300 characters, no space, no hyphen after the first
LONG_AUDIT_ID = "-".join(["0123abcd"] * 22)[:200]  # UUID-ish, 200 characters
LONG_NAME = "n" * 240 + "-" + "m" * 12  # object names may be 253 characters
LONG_URI = "/api/v1/namespaces/default/pods/" + "p" * 300 + "?watch=true&" + "q=" + "z" * 200
BIDI_USER = "\u202eexe.txt\u2066 مستخدم@example.com"
LONG_AGENT = "kube-hunter/0.6 " + "A" * 1984  # attack-tool-ua quotes the agent: a 2,000-character summary


def _hostile_events() -> list[dict[str, Any]]:
    when = START + timedelta(hours=10)
    exec_pod = event(when, n=1, user=LONG_USER, verb="create", resource="pods", subresource="exec",
                     name=LONG_NAME, uri=LONG_URI)  # fmt: skip
    exec_pod["auditID"] = LONG_AUDIT_ID
    return [
        exec_pod,
        event(when + timedelta(minutes=1), n=2, user=BIDI_USER, verb="create", resource="pods",
              subresource="exec", name="\u05e4\u05d5\u05d3-" + LONG_NAME),
        event(when + timedelta(minutes=2), n=3, user=LONG_USER, agent=LONG_AGENT, verb="list", resource="pods",
              name=None),
        event(when + timedelta(minutes=3), n=4, user="system:anonymous", groups=["system:unauthenticated"],
              verb="get", resource=None, uri="/version/" + "v" * 250, code=200, ip="198.51.100.7"),
    ]  # fmt: skip


@dataclasses.dataclass
class Printed:
    """What the report's PDF was rendered from (`context`, `row_cap`) and its layout (`document`)."""

    context: ReportContext
    row_cap: int
    document: Any


def _printed(monkeypatch: pytest.MonkeyPatch, report: Any) -> Printed:
    """Run `report()` (a call of generate_report that writes the PDF) with render_pdf rendering the print
    HTML as it does, and keeping the laid-out document: the PDF is written from it, so it is rendered once."""
    from weasyprint import HTML

    captured: list[Printed] = []

    def keep(context: ReportContext, out: Path, *, row_cap: int) -> render.RefusingFetcher:
        fetcher = render.RefusingFetcher()
        html = render.render_html(context, medium="print", row_cap=row_cap)
        document = HTML(string=html, base_url=None, url_fetcher=fetcher).render()
        document.write_pdf(str(out))
        captured.append(Printed(context, row_cap, document))
        return fetcher

    monkeypatch.setattr(render, "render_pdf", keep)
    report()
    (only,) = captured
    return only


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    root = tmp_path_factory.mktemp("hostile-layout")
    kanalytics.open_archive(root / "archive").ingest_events(
        _hostile_events(), cluster="c" * 100
    )  # the longest name allowed
    mp = pytest.MonkeyPatch()
    try:
        return _printed(mp, lambda: generate_report(
            Store(root / "archive"), START, END, root / "out", settings=Settings(),
            formats=("pdf",), generated_at=END,
        ))  # fmt: skip
    finally:
        mp.undo()


def test_hostile_long_values_reach_the_evidence_rows(hostile: Printed) -> None:
    rows = [row for group in hostile.context.findings for row in group.rows]
    assert {LONG_USER, BIDI_USER} <= {r.user_name for r in rows}
    assert LONG_AUDIT_ID in {r.audit_id for r in rows}
    # the summary quoting the 2,000-character agent is clipped in the report (findings.csv keeps it whole)
    clipped = [r.summary for r in rows if LONG_AGENT[:200] in r.summary]
    assert [(len(s), s[-1]) for s in clipped] == [(SUMMARY_CHARS, "…")]


def test_pdf_of_hostile_long_values_has_no_layout_problem(hostile: Printed) -> None:
    problems = [str(p) for p in layout_problems(hostile.document)]
    assert problems == [], "\n".join(problems)


def test_rows_beyond_the_cap_are_embedded_behind_show_all_on_screen_only(hostile: Printed) -> None:
    context = hostile.context
    group = max(context.findings, key=lambda g: len(g.rows))
    assert len(group.rows) >= 2
    small = dataclasses.replace(context, findings=[group])
    screen = render.render_html(small, medium="screen", row_cap=1)
    assert f'<details class="more-rows"><summary>Show all {len(group.rows)} rows</summary>' in screen
    assert screen.count('<table class="data evidence">') == 2
    printed = render.render_html(small, medium="print", row_cap=1)
    assert "<details" not in printed and printed.count('<table class="data evidence">') == 1
    assert f"{group.count - group.elsewhere - 1} more finding(s) of this check are not shown here" in printed


BROKEN = """<!DOCTYPE html><html><head><style>
@page { size: A6; margin: 10mm }
body { font: 10pt "DejaVu Sans"; margin: 0 }
table { width: 100%; table-layout: fixed; border-collapse: collapse }
td.narrow { width: 25% }
tr { break-inside: avoid }
</style></head><body>
<table><thead><tr><th>h</th><th>i</th></tr></thead><tbody>
<tr><td class="narrow">Unbreakableauditidentifier0123456789</td><td>fits</td></tr>
<tr><td class="narrow">short</td><td>{tall}</td></tr>
</tbody></table>
<p style="white-space: nowrap">{wide}</p>
</body></html>"""


def test_the_checker_finds_overflowing_text_a_split_row_and_text_off_the_page() -> None:
    from weasyprint import HTML

    tall = " ".join(f"line{n}" for n in range(400))  # taller than an A6 page: the row must split
    wide = "wide " * 40
    document = HTML(string=BROKEN.replace("{tall}", tall).replace("{wide}", wide)).render()
    problems = layout_problems(document)
    # the tall row is moved to page 2 (break-inside: avoid), cannot fit there either and runs to page 6
    assert [(p.page, p.kind, p.element, p.text, p.detail) for p in problems] == [
        (1, "overflow", "td.narrow", "Unbreakableauditidentifier0123456789", "104.3 px beyond td.narrow"),
        (2, "split-row", "tr", ("short " + tall)[:60], "pages 2–6"),
        (6, "off-page", "p", wide[:60], "1095.0 px outside the page area"),
    ]


def test_a_problem_reads_as_one_line() -> None:
    problem = Problem(3, "split-row", "tr", "10.2.1.5 Audit logs capture", "pages 3–4")
    assert str(problem) == "page 3: split-row tr (pages 3–4): '10.2.1.5 Audit logs capture'"


@pytest.mark.slow
def test_demo_report_pdf_has_no_layout_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kanalytics.report.demo import DEMO_DAYS, run_demo
    from kanalytics.synth import MIN_EVENTS_PER_DAY

    demo = _printed(
        monkeypatch, lambda: run_demo(tmp_path, events=MIN_EVENTS_PER_DAY * DEMO_DAYS, formats=("pdf",))
    )
    assert demo.context.findings  # the demo's incidents are in the evidence the layout is checked on
    problems = [str(p) for p in layout_problems(demo.document)]
    assert problems == [], "\n".join(problems)


def test_audit_ids_break_after_their_hyphens_only(hostile: Printed) -> None:
    screen = render.render_html(hostile.context, medium="screen")
    assert '<span class="id">00000000-<wbr>0000-<wbr>4000-<wbr>8000-<wbr>000000000002</span>' in screen
    assert "0123abcd-<wbr>0123abcd-<wbr>" in screen  # the 200-character id breaks at its hyphens too
