"""The `kanalytics synth` command: argument parsing around `kanalytics.synth.generate`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from kanalytics.cli import app
from kanalytics.errors import UsageError
from kanalytics.synth.incidents import REGISTRY

# Built from the registry so the help can never list a scenario that does not exist (or miss one).
_SCENARIO_HELP = "Incidents to inject: 'all' (default), 'none', or a comma-separated list of " + ", ".join(
    REGISTRY
)
_EPILOG = (
    "**Scenarios** (MITRE ATT&CK technique), each placed at a seed-determined time and listed "
    "with its auditIDs in --truth:\n\n"
    + "\n\n".join(
        f"**{name}** ({technique}): {description}" for name, (_, technique, description) in REGISTRY.items()
    )
)


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option}: cannot read {value!r} as a date", hint="use YYYY-MM-DD") from None


@app.command("synth", epilog=_EPILOG)
def synth(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output file: .jsonl, .jsonl.gz or .jsonl.zst (by suffix).",
            show_default=False,
        ),
    ],
    start: Annotated[str, typer.Option("--start", help="First day (UTC), YYYY-MM-DD.")] = "2026-10-01",
    days: Annotated[int, typer.Option("--days", help="Number of days to generate.")] = 31,
    events: Annotated[
        int, typer.Option("--events", "-n", help="Total number of events (lines) to write.")
    ] = 1_000_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same bytes.")] = 0,
    cluster: Annotated[str, typer.Option("--cluster", help="Cluster name (used in node names).")] = "demo",
    scenarios: Annotated[str, typer.Option("--scenarios", help=_SCENARIO_HELP)] = "all",
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth",
            help='Write the ground truth here as JSON: {"incidents": [{"scenario", "technique", "start", "end", '
            '"identity", "identities", "source_ips", "events", "audit_ids", ["steps"]}]} (see docs/synth.md).',
            show_default=False,
        ),
    ] = None,
    incident_window_start: Annotated[
        str | None,
        typer.Option(
            "--incident-window-start",
            help="Place incidents at or after this date (default: --start); the days before are a clean "
            "baseline for anomaly detection.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Generate a synthetic cluster's audit log with known incidents, for demos, tests and benchmarks.

    Writes audit.k8s.io/v1 Events, one per line, sorted by time: control plane, kubelets, apps, Argo CD, a CI deployer and a handful of engineers in their working hours, under a careful audit policy (Metadata for reads, secrets and config maps; RequestResponse for writes to workloads and RBAC).
    """
    from kanalytics.synth import generate, resolve_scenarios

    names = resolve_scenarios(scenarios)
    window = _date(incident_window_start, "--incident-window-start") if incident_window_start else None
    result = generate(
        out,
        start=_date(start, "--start"),
        days=days,
        events=events,
        seed=seed,
        cluster=cluster,
        scenarios=names,
        truth=truth,
        incident_window_start=window,
    )
    typer.echo(
        f"wrote {result.events:,} events to {out} ({result.json_bytes / 1e6:,.1f} MB JSON, "
        f"{result.file_bytes / 1e6:,.1f} MB on disk, {result.bytes_per_event:,.0f} B/event) "
        f"in {result.seconds:.1f} s ({result.events_per_second:,.0f} events/s)"
    )
    for entry in result.incidents:
        typer.echo(
            f"  {entry['scenario']:<22} {entry['technique']:<10} {entry['start']}  {len(entry['audit_ids'])} ids"
        )
    if truth is not None:
        typer.echo(f"truth: {truth}")
