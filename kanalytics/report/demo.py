"""`kanalytics demo`: synthesise a baseline month and a month with incidents, ingest them, write the report.

Fixed dates (baseline September 2026, report October 2026) and a fixed seed make the demo reproducible.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

DEMO_MONTH = "2026-10"
DEMO_BASELINE_START = date(2026, 9, 1)
DEMO_DAYS = 61  # September (baseline) + October (incidents)
DEMO_EVENTS = 400_000
DEMO_CLUSTER = "demo"


@dataclass
class DemoResult:
    out: Path
    archive: Path
    log: Path
    truth: Path
    config: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    events: int = 0
    incidents: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def run_demo(
    out: Path, *, events: int = DEMO_EVENTS, seed: int = 0, formats: tuple[str, ...] | None = None
) -> DemoResult:
    """Generate, ingest and report into `out` (archive/, audit.jsonl.zst, truth.json, kanalytics.toml, report/)."""
    import time

    from kanalytics.archive.api import Store
    from kanalytics.catalog.period import month_bounds
    from kanalytics.config import load_settings
    from kanalytics.report.api import FORMATS, generate_report
    from kanalytics.synth import generate

    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out, out / "archive", out / "audit.jsonl.zst", out / "truth.json")
    began = time.perf_counter()
    synth = generate(
        result.log, start=DEMO_BASELINE_START, days=DEMO_DAYS, events=events, seed=seed, cluster=DEMO_CLUSTER,
        truth=result.truth, incident_window_start=date(2026, 10, 1),
    )  # fmt: skip
    result.events, result.incidents = synth.events, synth.incidents
    result.seconds["synth"] = time.perf_counter() - began
    config = out / "kanalytics.toml"
    if not config.exists():  # a config the user edited to experiment is kept, not overwritten
        config.write_bytes(resources.files("kanalytics.report").joinpath("demo_config.toml").read_bytes())
    result.config = config
    settings = load_settings(config)
    archive = Store(result.archive)
    if not archive.layout.is_archive():  # re-running the demo keeps the archive (ingest dedupes anyway)
        began = time.perf_counter()
        archive.ingest([result.log], cluster=DEMO_CLUSTER)
        result.seconds["ingest"] = time.perf_counter() - began
        if (
            settings.evaluation.on_commit
        ):  # what `kanalytics ingest` does: the catalog over what was committed
            from kanalytics.catalog.evaluate import after_commit
            from kanalytics.catalog.loader import load_catalog

            began = time.perf_counter()
            after_commit(archive, load_catalog(settings=settings), settings, 0)
            result.seconds["evaluate"] = time.perf_counter() - began
    start, end = month_bounds(DEMO_MONTH, settings.zone)
    began = time.perf_counter()
    outputs = generate_report(archive, start, end, out / "report", settings=settings, formats=formats or FORMATS,
                              generated_at=datetime.now(UTC))  # fmt: skip
    result.seconds["report"] = time.perf_counter() - began
    result.files = dict(outputs.files)
    result.files["truth"] = result.truth
    (out / "demo.json").write_text(
        json.dumps({"events": result.events, "seconds": result.seconds, "incidents": len(result.incidents)},
                   indent=2) + "\n", encoding="utf-8",
    )  # fmt: skip
    return result
