"""`generate_report`: run the catalog over a period and write the report files. `Archive.report` calls this."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kanalytics.errors import UsageError
from kanalytics.report.metrics import COMPARISON_METRICS

if TYPE_CHECKING:
    from kanalytics.archive.api import Store
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.model import CatalogRun
    from kanalytics.catalog.runner import Progress, QueryEngine
    from kanalytics.config import Settings
    from kanalytics.report.context import Cover, Integrity

FORMATS = ("html", "pdf", "csv", "json")
# The metrics the previous period needs besides its findings: one cheap aggregate (events, identities,
# denied). Its findings are read from the stored results, judged as this period's are.
_COMPARISON_METRICS = tuple(m.id for m in COMPARISON_METRICS)


@dataclass
class ReportOutputs:
    """What one report run wrote, keyed by format (plus "run" for run.json), and how long it took (in total and
    per phase: catalog, previous, verify, assemble, html, pdf, exports). `findings` counts every finding of the
    period's review queue, of which `to_review` are above info severity (the report's "Findings to review"; the
    info ones are the activity inventory); `recurring` the findings shown as recurring behaviour instead.

    `integrity` is the verification run before rendering (a failed one is on the report's cover); `empty` says
    the period had no audit events in scope, described by `scope` ("2026-12 (UTC), all clusters"): the
    report is written either way, and the CLI exits non-zero on both so that cron notices."""

    files: dict[str, Path] = field(default_factory=dict)
    findings: int = 0
    seconds: float = 0.0
    run_info: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    recurring: int = 0
    integrity: Integrity | None = None
    empty: bool = False
    scope: str = ""
    to_review: int = 0


def parse_formats(value: str | Sequence[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    wanted = [f.strip().lower() for f in items if f.strip()]
    unknown = sorted(set(wanted) - set(FORMATS))
    if unknown or not wanted:
        raise UsageError(f"unknown report format(s): {', '.join(unknown) or '(none)'}",
                         hint=f"choose from {','.join(FORMATS)}")  # fmt: skip
    return [f for f in FORMATS if f in wanted]


def resolve_period(
    settings: Settings, month: str | None, from_: str | None, to: str | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    from kanalytics.catalog.period import parse_period, previous_month

    if month is None and from_ is None and to is None:
        return previous_month(now, settings.zone)
    return parse_period(from_, to, month, settings.zone)


def generate_report(
    archive: Store,
    start: datetime,
    end: datetime,
    out: Path,
    *,
    settings: Settings,
    clusters: Sequence[str] | None = None,
    formats: Sequence[str] = FORMATS,
    generated_at: datetime | None = None,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
    recompute: bool = False,
    engine: QueryEngine | None = None,
) -> ReportOutputs:
    """Evaluate the catalog over [start, end) (and the period before, for trends), verify the archive files
    the report read, and write the outputs.

    Findings come from the results stored in the archive (stale ones computed first); `recompute` derives them
    again from the events and states in the methodology whether they agree with what was stored.

    The findings are judged as `kanalytics findings` judges them (`catalog.api.judged_run`), each with the
    analyst's disposition that covers it (`catalog.review.reviews_for` over the archive's dispositions).
    findings.csv/json hold every finding, the recurring ones too (an auditor gets the whole evidence in one
    file), each of those marked by the evidence key "recurring" with its pattern's evidence; the CSV columns
    are FINDING_FIELDS then `exports.REVIEW_COLUMNS`. Before rendering, the whole manifest chain and the data
    files of the period and its baseline window are verified (timed, phase "verify"); a failure is stated on
    the cover and at the top, never buried. `progress` is told about each catalog query as it starts (see
    `kanalytics.catalog.runner.Progress`).

    `engine` (`--engine spark`): every query of the period and of the period before is computed from the events
    on that engine (nothing is read from the stored results); run.json names the engine.
    """
    import time

    from kanalytics.archive.dispositions import latest_dispositions
    from kanalytics.archive.retention import retention_status
    from kanalytics.catalog.api import judged_run, marked_recurring
    from kanalytics.catalog.findings import sort_findings
    from kanalytics.catalog.loader import load_catalog
    from kanalytics.catalog.review import incident_reviews, reviews_for
    from kanalytics.report import exports, render
    from kanalytics.report.assemble import assemble
    from kanalytics.report.incidents import run_incidents

    began = time.perf_counter()
    phases: dict[str, float] = {}
    lap = began

    def done(phase: str) -> None:
        nonlocal lap
        now = time.perf_counter()
        phases[phase] = phases.get(phase, 0.0) + now - lap
        lap = now

    archive.require()
    catalog = catalog or load_catalog(settings=settings)
    try:
        run = judged_run(
            archive, start, end, settings=settings, catalog=catalog, clusters=clusters, progress=progress,
            recompute=recompute, engine=engine,
        )  # fmt: skip
    except Exception as exc:
        _raise_if_altered(archive, settings, exc)
        raise
    done("catalog")
    previous = _previous_run(archive, start, end, clusters, settings, catalog, engine)
    status = retention_status(archive, settings)  # the chain head, policy and holds (files: verified below)
    done("previous")
    integrity = _verify(archive, settings, run.baseline_start, run.end)
    done("verify")
    generated_at = generated_at or datetime.now(UTC)
    info = _run_info(archive, run, settings, clusters, formats, generated_at, status.last_manifest_seq,
                     status.last_manifest_sha256, engine)  # fmt: skip
    info["integrity"] = _integrity_json(integrity)
    incident_list = run_incidents(run, catalog, settings)
    dispositions = latest_dispositions(archive.layout)
    every = (
        sort_findings([*run.findings, *marked_recurring(run.recurring)]) if run.recurring else run.findings
    )
    reviews = reviews_for(every, incident_list, dispositions)
    verdicts = incident_reviews(incident_list, dispositions, reviews)
    context = assemble(run, previous, catalog, settings, status, info, archive=str(archive.root),
                       incident_list=incident_list, integrity=integrity, reviews=reviews,
                       incident_verdicts=verdicts)  # fmt: skip
    done("assemble")
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    if "html" in formats:
        files["html"] = out / "report.html"
        files["html"].write_text(render.render_html(context, medium="screen"), encoding="utf-8")
        done("html")
    if "pdf" in formats:
        files["pdf"] = out / "report.pdf"
        render.render_pdf(context, files["pdf"], row_cap=settings.report.pdf_rows_per_finding)
        done("pdf")
    lookup = exports.ReviewLookup.build(reviews, incident_list, catalog)
    if "csv" in formats:
        files["csv"] = out / "findings.csv"
        exports.write_findings_csv(every, files["csv"], lookup)
    if "json" in formats:
        files["json"] = out / "findings.json"
        exports.write_findings_json(every, files["json"], lookup)
        files["incidents"] = out / "incidents.json"
        exports.write_incidents_json(incident_list, files["incidents"], verdicts)
    files["run"] = out / "run.json"
    exports.write_run_json(info, {k: v for k, v in files.items() if k != "run"}, files["run"])
    done("exports")
    return ReportOutputs(
        files, len(run.findings), time.perf_counter() - began, info, phases, len(every) - len(run.findings),
        integrity=integrity, empty=context.summary.empty, scope=_scope(context.cover, clusters),
        to_review=context.summary.to_review,
    )  # fmt: skip


def _previous_run(
    archive: Store,
    start: datetime,
    end: datetime,
    clusters: Sequence[str] | None,
    settings: Settings,
    catalog: Catalog,
    engine: QueryEngine | None = None,
) -> CatalogRun | None:
    """The period just before, judged as this one is: its findings from the stored results (cheap: nothing is
    evaluated again unless stale) and the comparison metrics; None when the archive has no data then."""
    from kanalytics.catalog.api import judged_run
    from kanalytics.catalog.runner import run_catalog
    from kanalytics.vocabulary import FINDING_KINDS

    prev_start, prev_end = _previous_period(start, end, settings)
    if not _has_data(archive, prev_start, prev_end, clusters):
        return None
    judged = judged_run(archive, prev_start, prev_end, settings=settings, catalog=catalog, clusters=clusters,
                        kinds=FINDING_KINDS, engine=engine)  # fmt: skip
    ids = [m for m in _COMPARISON_METRICS if m in catalog.queries]
    metrics = run_catalog(archive, prev_start, prev_end, clusters=clusters, settings=settings, catalog=catalog,
                          query_ids=ids, engine=engine)  # fmt: skip
    return replace(judged, results={**metrics.results, **judged.results})


def _raise_if_altered(archive: Store, settings: Settings, exc: Exception) -> None:
    """Evaluation failed: when the archive fails verification (a truncated Parquet file cannot even be read),
    say that, not the reader's error, so the operator restores the files instead of debugging kanalytics."""
    from kanalytics.archive.verify import verify_archive
    from kanalytics.errors import IntegrityError

    report = verify_archive(archive.layout, public_key=_public_key(settings))
    if not report.ok:
        first_line = (str(exc).splitlines() or [""])[0]
        raise IntegrityError(
            f"archive verification FAILED: {report.summary()} ({report.problems[0].line()}"
            f"{f' and {len(report.problems) - 1} more' if len(report.problems) > 1 else ''}). No report was "
            f"written: the altered files cannot be read ({type(exc).__name__}: {first_line})",
            hint="`kanalytics verify` lists every problem; restore the files from a copy",
        ) from exc


def _public_key(settings: Settings) -> Any:
    from kanalytics.archive import signing

    path = settings.signing.public_key_path  # the environment's key is applied by load_settings
    return signing.load_public_key(path) if path else None


def _verify(archive: Store, settings: Settings, start: datetime, end: datetime) -> Integrity:
    """Verify the whole chain and hash the data files of the UTC dates of [start, end) (what the report read:
    the period and its baseline window), timed; in the report's terms (`build.integrity`)."""
    import time

    from kanalytics.archive.chain import snapshot
    from kanalytics.archive.verify import verify_archive
    from kanalytics.report.build import integrity

    first = start.astimezone(UTC).date()
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    began = time.perf_counter()
    report = verify_archive(archive.layout, public_key=_public_key(settings), start=first, end=last)
    seconds = time.perf_counter() - began
    return integrity(report, snapshot(archive.layout), seconds, (first, last))


def _integrity_json(verified: Integrity) -> dict[str, Any]:
    """The verification as run.json records it: outcome, timing and one line per manifest range."""
    return {
        "ok": verified.ok,
        "seconds": verified.seconds,
        "files_hashed": verified.files_hashed,
        "bytes_hashed": verified.bytes_hashed,
        "dates": verified.dates,
        "statement": verified.statement,
        "ranges": [r.text for r in verified.ranges],
        "problems": verified.problems,
    }


def _scope(cover: Cover, clusters: Sequence[str] | None) -> str:
    """The period and clusters in words ("1 December 2026 – 31 December 2026 (UTC), all clusters"), for the
    CLI's message on an empty period."""
    where = (
        f"cluster{'s' if len(clusters) != 1 else ''} {', '.join(clusters)}" if clusters else "all clusters"
    )
    return f"{cover.period_label} ({cover.timezone}), {where}"


def _previous_period(start: datetime, end: datetime, settings: Settings) -> tuple[datetime, datetime]:
    """The previous calendar month when the period is one month in the configured zone, else the same length."""
    from kanalytics.catalog.period import month_bounds

    local = start.astimezone(settings.zone)
    month_start, month_end = month_bounds(local.strftime("%Y-%m"), settings.zone)
    if (month_start, month_end) == (start, end):
        first = local.date().replace(day=1)
        prev = (first.replace(year=first.year - 1, month=12) if first.month == 1
                else first.replace(month=first.month - 1))  # fmt: skip
        return month_bounds(prev.strftime("%Y-%m"), settings.zone)
    return start - (end - start), start


def _has_data(archive: Store, start: datetime, end: datetime, clusters: Sequence[str] | None) -> bool:
    from kanalytics.archive.reader import event_files

    return bool(event_files(archive.layout, start, end, clusters))


def _run_info(
    archive: Store,
    run: CatalogRun,
    settings: Settings,
    clusters: Sequence[str] | None,
    formats: Sequence[str],
    generated_at: datetime,
    manifest_seq: int | None,
    manifest_sha256: str | None,
    engine: QueryEngine | None = None,
) -> dict[str, Any]:
    from kanalytics._version import __version__
    from kanalytics.catalog.runner import NOT_RUN_ON

    settings_json = json.dumps(settings.model_dump(mode="json", exclude={"source"}), sort_keys=True)
    return {
        "command": "kanalytics report",
        "archive": str(archive.root),
        "period_start": run.start.isoformat(),
        "period_end": run.end.isoformat(),
        "timezone": settings.timezone,
        "profile": settings.profile,
        "clusters": list(clusters) if clusters else None,
        "formats": list(formats),
        "config": settings.source,
        "settings_sha256": hashlib.sha256(settings_json.encode()).hexdigest(),
        "kanalytics_version": __version__,
        "catalog_version": run.catalog_version,
        "manifest_seq": manifest_seq,
        "manifest_sha256": manifest_sha256,
        "generated_at": generated_at.astimezone(UTC).isoformat(),
        "queries": {qid: r.query.version for qid, r in sorted(run.results.items())},
        "evaluation": run.evaluation,
        "results": results_line(run.evaluation),
        "engine": engine.name if engine is not None else "duckdb",
        "not_portable": {
            qid: r.reason
            for qid, r in sorted(run.results.items())
            if r.status == "not-evaluable" and r.reason.startswith(NOT_RUN_ON)
        },
        "reproduce": _reproduce_command(archive, run, settings, clusters, formats, engine),
    }


def results_line(evaluation: dict[str, Any]) -> str | None:
    """How the findings were obtained, in one line for the methodology's run parameters: results (one query
    for one cluster and UTC day) read as stored in the archive, refreshed now or recomputed from the events,
    and after a recompute whether they agree with what was stored."""
    if not evaluation:
        return None
    counts = ", ".join(
        f"{evaluation.get(k, 0):,} {k}" for k in ("stored", "refreshed", "recomputed") if evaluation.get(k)
    )
    line = f"{counts or 'none'} (results: one query for one cluster and UTC day, kept under _findings/)"
    if evaluation.get("not_stored"):
        line += f"; {evaluation['not_stored']}"
    if "agrees" in evaluation:
        if evaluation["agrees"]:
            line += (
                f"; recomputed from the events ({evaluation['recomputed_findings']:,} raw findings): the same as "
                "stored"
            )
        else:
            line += (
                f"; recomputed from the events: DIFFERS from what was stored for "
                f"{', '.join(evaluation['differing_queries'])} (this report shows the recomputed findings)"
            )
    return line


def _reproduce_command(
    archive: Store,
    run: CatalogRun,
    settings: Settings,
    clusters: Sequence[str] | None,
    formats: Sequence[str],
    engine: QueryEngine | None = None,
) -> str:
    parts = ["kanalytics", "report", "--archive", str(archive.root), "--from", run.start.isoformat(),
             "--to", run.end.isoformat(), "--format", ",".join(formats)]  # fmt: skip
    if engine is not None:
        parts += ["--engine", engine.name]
    for cluster in clusters or ():
        parts += ["--cluster", cluster]
    if settings.source:
        parts += ["--config", settings.source]
    return " ".join(parts)
