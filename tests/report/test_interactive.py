"""The interactive screen HTML: the inline script is safe and offline, the page reads the same with JavaScript
off, and in headless Chromium the script filters, sorts and merges capped rows as the markup contract says.

The behaviour tests run the real `report_templates/interactive.js` on `data/interactive_fixture.html` (markup
that follows the contract, so they do not depend on the report templates) and once on a rendered report."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import END, GENERATED_AT, START

import kanalytics
from kanalytics.report import render

TEMPLATES = Path(__file__).resolve().parents[2] / "report_templates"
FIXTURE = Path(__file__).parent / "data" / "interactive_fixture.html"
SCRIPT = (TEMPLATES / "interactive.js").read_text(encoding="utf-8")
STYLE = (TEMPLATES / "interactive.css").read_text(encoding="utf-8")
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs /usr/bin/chromium to run interactive.js headless (.ci/run installs Debian's chromium when it can)",
)
FIXTURE_ROWS = 19
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# --- a small DOM for the pages Chromium dumps -------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def iter(self) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        return [n for n in self.iter() if n.tag == tag and (cls is None or cls in n.classes)]

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def ancestor(self, tag: str, cls: str | None = None) -> Node | None:
        node = self.parent
        while node is not None and not (node.tag == tag and (cls is None or cls in node.classes)):
            node = node.parent
        return node

    @property
    def shown(self) -> bool:
        """Not hidden by the script: neither it nor an ancestor carries `hidden`."""
        node: Node | None = self
        while node is not None:
            if "hidden" in node.attrs:
                return False
            node = node.parent
        return True


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def by_id(doc: Node, ident: str) -> Node:
    return next(n for n in doc.iter() if n.attrs.get("id") == ident)


def body_rows(doc: Node) -> list[Node]:
    """Every row of every data table's body, in document order (what the script's counter counts)."""
    return [
        tr for t in doc.find_all("table", "data") for tb in t.find_all("tbody") for tr in tb.find_all("tr")
    ]


def shown_ids(doc: Node) -> set[str]:
    return {tr.attrs["id"] for tr in body_rows(doc) if tr.shown}


def table_order(doc: Node, row_id: str) -> list[str]:
    """The ids of the rows of the table that holds row `row_id`, in their order on the page."""
    table = by_id(doc, row_id).ancestor("table")
    assert table is not None
    return [tr.attrs["id"] for tr in table.find_all("tbody")[0].find_all("tr")]


def toolbar_count(doc: Node) -> str:
    return next(n for n in doc.iter() if "ix-total" in n.classes).text()


# --- pages and the browser --------------------------------------------------------------------------------


def with_script(html: str) -> str:
    return html.replace("<!-- interactive -->", f"<style>\n{STYLE}</style>\n<script>\n{SCRIPT}</script>")


@pytest.fixture(scope="module")
def fixture_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = tmp_path_factory.mktemp("interactive") / "fixture.html"
    page.write_text(with_script(FIXTURE.read_text(encoding="utf-8")), encoding="utf-8")
    return page


def dump_dom(page: Path, fragment: str, profile: Path) -> Node:
    """The page's DOM after the script ran with `fragment` as the URL hash; fails on any console message."""
    proc = subprocess.run(
        [str(CHROMIUM), *BROWSER_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         "--dump-dom", page.as_uri() + fragment],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert [line for line in proc.stderr.splitlines() if ":CONSOLE" in line] == []
    return parse(proc.stdout)


class Browser:
    """Headless Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out; NUL-separated JSON), for the
    few tests that need clicks. Every wait is bounded by one deadline."""

    def __init__(self, profile: Path, deadline: float = 60.0) -> None:
        to_browser, self._in = os.pipe()
        self._out, from_browser = os.pipe()
        self.deadline = time.monotonic() + deadline
        self.proc = subprocess.Popen(
            [str(CHROMIUM), *BROWSER_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=False,
            preexec_fn=lambda: _as_fds_3_and_4(to_browser, from_browser),
        )  # fmt: skip
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next = 0
        self.session = ""

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        os.write(self._in, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next:
                assert "error" not in reply, reply
                return dict(reply["result"])

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = self.deadline - time.monotonic()
            ready, _, _ = select.select([self._out], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("chromium did not answer within the deadline")
            chunk = os.read(self._out, 65536)
            if not chunk:
                raise EOFError("chromium closed the debugging pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", url=url)["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        loaded = f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
        while not self.js(loaded):
            time.sleep(0.05)

    def js(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def close(self) -> None:
        os.close(self._in)
        os.close(self._out)
        self.proc.kill()
        self.proc.wait(timeout=60)


def _as_fds_3_and_4(read_end: int, write_end: int) -> None:
    """In the child: the pipe Chromium reads becomes fd 3, the one it writes fd 4 (via high fds: no clash)."""
    high_read, high_write = os.dup2(read_end, 200), os.dup2(write_end, 201)
    os.dup2(high_read, 3)
    os.dup2(high_write, 4)


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Browser]:
    driven = Browser(tmp_path / "profile")
    try:
        yield driven
    finally:
        driven.close()


# --- the rendered report ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(report_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The screen report.html of the test archive, and the print HTML of the same context (the PDF's input)."""
    contexts: list[Any] = []
    real = render.render_html

    def keep_context(context: Any, **kwargs: Any) -> str:
        contexts.append(context)
        return real(context, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(render, "render_html", keep_context)
    try:
        out = tmp_path_factory.mktemp("interactive-report")
        result = kanalytics.open_archive(report_archive).report(
            out, start=START, end=END, formats="html", generated_at=GENERATED_AT
        )
    finally:
        mp.undo()
    return {"path": result.files["html"], "screen": result.files["html"].read_text(encoding="utf-8"),
            "print": real(contexts[0], medium="print")}  # fmt: skip


# --- static: always run -----------------------------------------------------------------------------------


def test_screen_html_carries_the_script_and_style_inline(rendered: dict[str, Any]) -> None:
    screen = rendered["screen"]
    assert screen.count("<script>") == 1 and "<script src" not in screen
    assert SCRIPT.strip() in screen  # included verbatim: Jinja found no delimiter in it
    assert STYLE.strip() in screen


def test_print_html_has_no_script_and_no_toolbar_style(rendered: dict[str, Any]) -> None:
    assert "<script" not in rendered["print"]
    assert "ix-toolbar" not in rendered["print"]


def test_script_builds_nodes_and_fetches_nothing() -> None:
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                      "fetch(", "XMLHttpRequest", "import(", "http://", "https://", "</script"):  # fmt: skip
        assert forbidden not in SCRIPT, forbidden
    for forbidden in ("http://", "https://", "@import", "url("):
        assert forbidden not in STYLE, forbidden
    for delimiter in ("{{", "{%", "{#"):  # base.html.j2 includes both files as Jinja templates
        assert delimiter not in SCRIPT and delimiter not in STYLE, delimiter


def test_stylesheet_hides_nothing_the_script_did_not_mark() -> None:
    screen_rules = re.sub(r"/\*.*?\*/", "", STYLE, flags=re.S).split("@media print", 1)[0]
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", screen_rules):
        if re.search(r"display:\s*none|visibility:\s*hidden", body):
            assert selectors.strip().startswith("body.ix-on "), selectors


def test_with_javascript_off_every_table_reads_as_is(rendered: dict[str, Any]) -> None:
    doc = parse(rendered["screen"])
    tables = doc.find_all("table", "data")
    assert len(tables) > 10
    for table in tables:
        assert table.find_all("thead") and table.find_all("th"), table.attrs
    assert [n.tag for n in doc.iter() if "hidden" in n.attrs] == []
    assert [n.tag for n in doc.iter() if "display:none" in n.attrs.get("style", "").replace(" ", "")] == []
    assert [n.tag for n in doc.iter() if any(c.startswith("ix-") for c in n.classes)] == []  # script-made UI
    assert not [n for n in doc.iter() if n.tag in ("button", "input", "select")]


def _template_has(name: str, attribute: str) -> bool:
    return attribute in (TEMPLATES / "partials" / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("template", "where", "attributes"),
    [
        (
            "findings.html.j2",
            "evidence rows",
            ("data-severity", "data-area", "data-cluster", "data-identity"),
        ),
        ("findings.html.j2", "finding articles", ("data-severity", "data-area")),
        ("incidents.html.j2", "incident rows", ("data-severity", "data-identity", "data-cluster")),
    ],
)
def test_filterable_markup_carries_the_contract_attributes(
    rendered: dict[str, Any], template: str, where: str, attributes: tuple[str, ...]
) -> None:
    if not _template_has(template, attributes[0]):
        pytest.xfail(f"{template} does not carry {attributes[0]} yet (the layout/wiring helper adds it)")
    doc = parse(rendered["screen"])
    if where == "evidence rows":
        nodes = [tr for a in doc.find_all("article", "finding") for t in a.find_all("table", "evidence")
                 for tr in t.find_all("tbody")[0].find_all("tr")]  # fmt: skip
    elif where == "finding articles":
        nodes = doc.find_all("article", "finding")
    else:
        nodes = doc.find_all("table", "incidents")[0].find_all("tbody")[0].find_all("tr")
    assert nodes
    missing = [(n.attrs.get("id", n.tag), a) for n in nodes for a in attributes if a not in n.attrs]
    assert missing == []


# --- behaviour in Chromium, on the fixture ----------------------------------------------------------------


@needs_chromium
def test_without_a_hash_everything_shows_and_the_controls_come_from_the_page(
    fixture_page: Path, tmp_path: Path
) -> None:
    doc = dump_dom(fixture_page, "", tmp_path)
    assert toolbar_count(doc) == f"{FIXTURE_ROWS} of {FIXTURE_ROWS} rows shown"
    assert [n.tag for n in doc.iter() if "hidden" in n.attrs] == []
    selects = {s.attrs["data-filter"]: [(o.attrs["value"], o.text()) for o in s.find_all("option")]
               for s in doc.find_all("select")}  # fmt: skip
    assert selects["sev"] == [("", "any severity"), ("info", "info or higher"), ("low", "low or higher"),
                              ("medium", "medium or higher"), ("high", "high or higher"), ("critical", "critical")]  # fmt: skip
    assert selects["area"] == [("", "any area"), ("anonymous", "anonymous"),
                               ("exec", "Exec, attach, port-forward and impersonation"), ("secrets", "Secrets access")]  # fmt: skip
    assert selects["cluster"] == [("", "any cluster"), ("prod", "prod"), ("staging", "staging")]
    identities = [o.attrs["value"] for o in by_id(doc, "ix-identities").find_all("option")]
    assert "mallory@example.com" in identities and len(identities) == len(set(identities))
    headings = doc.find_all("th")
    sortable = [th for th in headings if th.find_all("button", "ix-sort")]
    assert len(sortable) == len(headings) - 1  # all but the data-sort="none" heading
    assert [b.text() for b in doc.find_all("button") if b.parent and "ix-more" in b.parent.classes] == [
        "Show all 4 rows in one table"
    ]
    assert doc.find_all("img") == []  # the hostile identity stayed text, in the table and in the datalist


@needs_chromium
@pytest.mark.parametrize(
    ("fragment", "rows", "hidden_articles"),
    [
        (
            "#f=sev:high",
            {"i1", "i2", "e1", "e2", "e3", "e4", "c1", "n1", "n2", "n3", "n4"},
            {"q-exec", "q-anon"},
        ),
        # c1 has no cluster: a row is hidden only by an attribute it carries
        ("#f=cluster:staging,sev:medium", {"i2", "i3", "e3", "e6", "c1", "n1", "n2", "n3", "n4"}, {"q-anon"}),
        (
            "#f=id:mallory",
            {"i3", "e3", "v1", "v2", "v3", "c1", "c2", "n1", "n2", "n3", "n4"},
            {"q-exec", "q-anon"},
        ),
        (
            "#f=area:exec",
            {"i1", "i2", "i3", "e5", "e6", "v3", "n1", "n2", "n3", "n4"},
            {"q-secret-read", "q-anon"},
        ),
        # e5 and e6 match by their check's title, i3 by its own text
        ("#f=q:into%20a%20pod", {"i3", "e5", "e6"}, {"q-secret-read", "q-anon"}),
        ("#f=q:%3Cimg", {"e7"}, {"q-secret-read", "q-exec"}),  # searches text, not markup
    ],
)
def test_filters_from_the_hash_hide_exactly_the_rows_that_do_not_match(
    fixture_page: Path, tmp_path: Path, fragment: str, rows: set[str], hidden_articles: set[str]
) -> None:
    doc = dump_dom(fixture_page, fragment, tmp_path)
    assert shown_ids(doc) == rows
    assert {a.attrs["id"] for a in doc.find_all("article", "finding") if not a.shown} == hidden_articles
    assert toolbar_count(doc) == f"{len(rows)} of {FIXTURE_ROWS} rows shown"


@needs_chromium
def test_section_counts_follow_the_filter(fixture_page: Path, tmp_path: Path) -> None:
    doc = dump_dom(fixture_page, "#f=sev:high", tmp_path)
    counts = {s.attrs["id"]: s.find_all("span", "ix-count")[0].text() for s in doc.find_all("section")}
    assert counts == {"incidents": "2 of 3 rows shown", "findings": "4 of 10 rows shown",
                      "secrets": "1 of 2 rows shown", "exec": "4 of 4 rows shown"}  # fmt: skip


@needs_chromium
@pytest.mark.parametrize(
    ("fragment", "first_row", "order"),
    [
        ("#sort=table-7:2:desc", "n1", ["n3", "n1", "n2", "n4"]),  # thousands separators; the blank last
        ("#sort=table-7:2:asc", "n1", ["n2", "n1", "n3", "n4"]),
        ("#sort=table-7:1:asc", "n1", ["n2", "n1", "n4", "n3"]),  # data-value (ISO day), not "10 Oct"
        ("#sort=table-7:3:desc", "n1", ["n1", "n2", "n3", "n4"]),  # data-sort="none"
        ("#sort=table-1:1:desc", "i1", ["i3", "i2", "i1"]),
        ("#sort=table-1:5:desc", "i1", ["i2", "i3", "i1"]),  # data-sort="num": 1,204 > "3 +2 recurring" > 2
        ("#sort=table-1:3:asc", "i1", ["i2", "i3", "i1"]),  # text
        ("#sort=table-5:2:asc", "v1", ["v3", "v1", "v2"]),  # equal keys keep their order
        ("#sort=table-5:2:desc", "v1", ["v1", "v2", "v3"]),
    ],
)
def test_sort_from_the_hash_orders_the_column(
    fixture_page: Path, tmp_path: Path, fragment: str, first_row: str, order: list[str]
) -> None:
    doc = dump_dom(fixture_page, fragment, tmp_path)
    assert table_order(doc, first_row) == order
    table = by_id(doc, first_row).ancestor("table")
    assert table is not None
    marks = [th.attrs.get("aria-sort") for th in table.find_all("th")]
    column, direction = int(fragment.split(":")[1]), fragment.rsplit(":", 1)[1]
    expected = None if fragment.startswith("#sort=table-7:3") else f"{direction}ending"
    assert marks[column - 1] == expected
    assert [m for i, m in enumerate(marks) if i != column - 1 and m] == []


@needs_chromium
def test_show_all_moves_the_capped_rows_into_the_first_table(fixture_page: Path, tmp_path: Path) -> None:
    doc = dump_dom(fixture_page, "#all=q-secret-read&sort=table-2:2:asc&f=cluster:staging", tmp_path)
    assert doc.find_all("details") == [] and doc.find_all("p", "ix-more") == []
    assert table_order(doc, "e1") == ["e2", "e1", "e4", "e3"]  # sorted by identity, moved rows included
    assert {tr.attrs["id"] for tr in by_id(doc, "e1").ancestor("tbody").find_all("tr") if tr.shown} == {"e3"}  # type: ignore[union-attr]


@needs_chromium
def test_clicks_sort_expand_and_filter_and_the_hash_records_them(
    fixture_page: Path, browser: Browser
) -> None:
    browser.open(fixture_page.as_uri())
    sort_by_events = "document.querySelectorAll('#exec th button.ix-sort')[1].click()"
    browser.js(sort_by_events)
    assert browser.js("location.hash") == "#sort=table-7:2:asc"
    browser.js(sort_by_events)
    assert browser.js("location.hash") == "#sort=table-7:2:desc"
    assert browser.js("Array.from(document.querySelectorAll('#exec tbody tr')).map(r => r.id).join()") == (
        "n3,n1,n2,n4"
    )
    browser.js("document.querySelector('.ix-more button').click()")
    assert browser.js("document.querySelectorAll('#q-secret-read tbody tr').length") == 4
    assert browser.js("document.querySelectorAll('details.more-rows').length") == 0
    browser.js("const s = document.querySelector('select[data-filter=sev]'); s.value = 'high';"
               "s.dispatchEvent(new Event('change'))")  # fmt: skip
    browser.js("const i = document.querySelector('input[data-filter=id]'); i.value = 'alice';"
               "i.dispatchEvent(new Event('input'))")  # fmt: skip
    assert browser.js("location.hash") == "#f=sev:high,id:alice&sort=table-7:2:desc&all=q-secret-read"
    shown = browser.js("document.querySelector('.ix-total').textContent")
    assert shown == "8 of 19 rows shown"  # i1, i2, e2, c1 and n1-n4
    browser.js("document.querySelector('.ix-clear').click()")
    assert browser.js("location.hash") == "#sort=table-7:2:desc&all=q-secret-read"
    assert browser.js("document.querySelectorAll('[hidden]').length") == 0


# --- behaviour in Chromium, on a rendered report ----------------------------------------------------------


@needs_chromium
def test_report_search_hides_what_does_not_match(rendered: dict[str, Any], tmp_path: Path) -> None:
    doc = dump_dom(rendered["path"], "#f=q:mallory", tmp_path)
    rows = body_rows(doc)
    shown = [tr for tr in rows if tr.shown]
    assert 0 < len(shown) < len(rows)
    assert toolbar_count(doc) == f"{len(shown)} of {len(rows)} rows shown"
    assert len(rows) == len(body_rows(parse(rendered["screen"])))
    for tr in shown:
        article = tr.ancestor("article", "finding")
        head = "".join(c if isinstance(c, str) else c.text() for c in (article.children if article else [])
                       if isinstance(c, str) or c.tag not in ("table", "details"))  # fmt: skip
        assert "mallory" in (tr.text() + head).lower()


@needs_chromium
def test_report_incidents_sort_by_findings(rendered: dict[str, Any], tmp_path: Path) -> None:
    static = parse(rendered["screen"])
    tables = [t for t in static.find_all("table", "data") if t.ancestor("details", "more-rows") is None]
    index = next(i for i, t in enumerate(tables, 1) if "incidents" in t.classes)
    column = [th.text() for th in tables[index - 1].find_all("th")].index("Findings") + 1
    doc = dump_dom(rendered["path"], f"#sort=table-{index}:{column}:asc", tmp_path)
    table = next(t for t in doc.find_all("table", "data") if "incidents" in t.classes)
    cells = [tr.find_all("td")[column - 1].text() for tr in table.find_all("tbody")[0].find_all("tr")]
    counts = [int(re.match(r"[\d,]+", c).group().replace(",", "")) for c in cells]  # type: ignore[union-attr]
    assert len(counts) > 1 and counts == sorted(counts)
    assert table.find_all("th")[column - 1].attrs.get("aria-sort") == "ascending"
