"""Render a `ReportContext` with the Jinja2 templates to HTML, and the same HTML to PDF with WeasyPrint.

The environment autoescapes everything, shows bidi and control characters of every `{{ }}` output visibly
(`finalize`), and uses `StrictUndefined`; WeasyPrint gets a URL fetcher that
serves `data:` URIs only and refuses every other URL, so rendering never touches the network or the disk.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kanalytics.errors import ReportError
from kanalytics.textsafe import visible_html
from kanalytics.vocabulary import SEVERITY_ORDER

if TYPE_CHECKING:
    import jinja2

    from kanalytics.report.context import ReportContext

TEMPLATE = "base.html.j2"
SEVERITY_MARKS = {"critical": "◆◆", "high": "◆", "medium": "▲", "low": "●", "info": "○", "coverage": "■"}
# No mark for "ok": a query that ran is not a control that passed (a ✔ next to a finding count reads as one).
# Every mark differs from every severity mark, so one legend (partials/legend.html.j2) defines each once.
STATUS_MARKS = {
    "exceptions": "⚑",
    "evidenced": "✔",
    "not evaluable": "?",
    "manual": "✎",
    "needs configuration": "⚙",
    "superseded": "↪",
    "error": "!",
}


def template_dir() -> Path:
    """The packaged templates (installed wheel) or, in a source checkout, `<repo>/report_templates`."""
    try:
        from importlib.resources import files

        packaged = Path(str(files("kanalytics") / "_data" / "report_templates"))
        if packaged.is_dir():
            return packaged
    except (ModuleNotFoundError, TypeError):
        pass
    checkout = Path(__file__).resolve().parents[2] / "report_templates"
    if not checkout.is_dir():
        raise ReportError("report templates not found", hint="reinstall kanalytics; the wheel ships them")
    return checkout


def environment(folder: Path | None = None) -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder or template_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_shown,
    )
    env.filters["num"] = lambda v: f"{v:,}" if isinstance(v, int) else str(v)
    env.filters["sevmark"] = lambda s: SEVERITY_MARKS.get(str(s), "")
    env.filters["statusmark"] = lambda s: STATUS_MARKS.get(str(s), "")
    env.filters["sevrank"] = lambda s: SEVERITY_ORDER.get(str(s), -1)  # a sort key (data-value): info 0
    env.filters["slug"] = lambda s: "".join(c if c.isalnum() else "-" for c in str(s).lower())
    return env


def _shown(value: Any) -> Any:
    """Every `{{ }}` value, before autoescaping: a U+202E in a user name must not reorder the report's text.

    Markup (already-escaped HTML) gets the same treatment; `<U+202E>` is then written escaped."""
    import markupsafe

    if isinstance(value, markupsafe.Markup):
        return markupsafe.Markup(visible_html(str(value), escaped=True))
    return visible_html(value) if isinstance(value, str) else value


def render_html(context: ReportContext, *, medium: str = "screen", row_cap: int | None = None) -> str:
    """The report as one self-contained HTML document for `medium` ("screen" or "print")."""
    import jinja2

    folder = template_dir()
    css = (folder / "report.css").read_text(encoding="utf-8")
    ctx = dataclasses.replace(context, medium=medium, css=css, row_cap=row_cap or context.row_cap)
    try:
        return environment(folder).get_template(TEMPLATE).render(r=ctx)
    except jinja2.TemplateError as exc:
        raise ReportError(f"report template failed: {exc}") from exc


class RefusingFetcher:
    """A WeasyPrint URL fetcher that answers `data:` URIs and refuses (and records) everything else."""

    def __init__(self) -> None:
        from weasyprint.urls import URLFetcher

        self._data = URLFetcher(allowed_protocols={"data"})
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        if not url.startswith("data:"):
            self.refused.append(url)
            raise ValueError(f"kanalytics reports fetch nothing: refused {url[:80]!r}")
        return self._data.fetch(url, headers)

    def __call__(self, url: str) -> Any:
        return self.fetch(url)


def render_pdf(context: ReportContext, out: Path, *, row_cap: int) -> RefusingFetcher:
    """Write the PDF; fails if the HTML referenced any non-data URL (a template bug, never log data)."""
    import logging

    from weasyprint import HTML

    html = render_html(context, medium="print", row_cap=row_cap)
    fetcher = RefusingFetcher()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf(
        str(out), metadata=False, pdf_identifier=b"kanalytics-report", uncompressed_pdf=False
    )
    if fetcher.refused:
        raise ReportError(f"the report referenced external URLs (refused): {', '.join(fetcher.refused[:3])}")
    return fetcher
