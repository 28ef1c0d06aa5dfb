"""Synthetic cluster audit logs: months of realistic background traffic with known, recorded incidents.

`generate()` writes `audit.k8s.io/v1` Events, one JSON object per line, sorted by requestReceivedTimestamp,
to a plain, `.gz` or `.zst` file, and optionally the ground truth of the injected incidents as JSON:

    {"generator": {...the arguments...},
     "incidents": [{"scenario", "technique", "start", "end", "identity", "identities", "source_ips", "events",
                    "audit_ids": [...], "steps" (multi-step scenarios: the same fields per ATT&CK tactic)}]}

The background is built so that a reviewer would believe it (docs/synth.md has the numbers):
  node leases 10 %, leader election 5 %, other control plane (controllers, scheduler, kubelets, kube-proxy)
  62 %, in-cluster apps and add-ons 4 %, operators (Argo CD, cert-manager) 7 %, CI deployer 6 %, people 6 %;
  writes ~25 %, denied < 1 %, events with bodies ~3-8 %, about 1 KB per event.
Generation is one hour at a time with its own RNG, so memory stays flat and a seed fixes every byte.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from kanalytics.errors import UsageError
from kanalytics.synth.events import HOUR_US
from kanalytics.synth.incidents import REGISTRY, Incident, inject
from kanalytics.synth.plan import SHARES, hour_lines, make_plan
from kanalytics.synth.writer import LineWriter

# name -> {"technique": MITRE ATT&CK id, "description": one line}
SCENARIOS: dict[str, dict[str, str]] = {
    name: {"technique": technique, "description": description}
    for name, (_, technique, description) in REGISTRY.items()
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_EVENTS_PER_DAY = 2_000  # below this the background cannot carry every source and the incidents


@dataclass
class SynthResult:
    path: Path
    events: int
    json_bytes: int  # uncompressed, newlines included
    file_bytes: int
    seconds: float
    sources: dict[str, int]  # background events per source
    incidents: list[dict[str, Any]] = field(default_factory=list)  # the truth-file entries

    @property
    def bytes_per_event(self) -> float:
        return self.json_bytes / self.events if self.events else 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def resolve_scenarios(scenarios: Iterable[str] | str | None) -> list[str]:
    """None or "all" -> every scenario; "none" -> none; else the named ones, in registry order."""
    if scenarios is None:
        return list(REGISTRY)
    names = [
        s.strip() for s in (scenarios.split(",") if isinstance(scenarios, str) else scenarios) if s.strip()
    ]
    if names == ["all"]:
        return list(REGISTRY)
    if names in (["none"], []):
        return []
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise UsageError(
            f"unknown scenario(s): {', '.join(unknown)}",
            hint=f"valid names: all, none, {', '.join(REGISTRY)}",
        )
    return [n for n in REGISTRY if n in names]


def generate(
    out: Path,
    *,
    start: date,
    days: int,
    events: int,
    seed: int = 0,
    cluster: str = "demo",
    scenarios: Iterable[str] | None = None,
    truth: Path | None = None,
    incident_window_start: date | None = None,
) -> SynthResult:
    """Write `events` Events over `days` days from `start` (UTC) to `out`; incidents at or after the window."""
    names = resolve_scenarios(scenarios)
    if days < 1:
        raise UsageError(f"--days must be at least 1, not {days}")
    if events < MIN_EVENTS_PER_DAY * days:
        raise UsageError(
            f"--events {events} is too few for {days} day(s)",
            hint=f"use at least {MIN_EVENTS_PER_DAY} events per day ({MIN_EVENTS_PER_DAY * days})",
        )
    window = incident_window_start or start
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC)
    lo = int(datetime(window.year, window.month, window.day, tzinfo=UTC).timestamp()) * 1_000_000
    hi = int(t0.timestamp()) * 1_000_000 + days * 24 * HOUR_US
    if not int(t0.timestamp()) * 1_000_000 <= lo < hi - 24 * HOUR_US + 1:
        raise UsageError(
            f"--incident-window-start {window} is outside the generated range",
            hint=f"use a date from {start} to the last day of the range",
        )
    began = time.perf_counter()
    # Incidents are placed against a plan for the whole budget, then the background gives way to them;
    # the cast depends only on (cluster, seed, total budget), so both plans share it.
    plan = make_plan(start=start, days=days, background=events, seed=seed, cluster_name=cluster)
    incidents = inject(plan, names, lo, hi)
    injected = sum(len(i.events) for i in incidents)
    plan = make_plan(start=start, days=days, background=events - injected, seed=seed, cluster_name=cluster)
    _attach(plan.incident_lines, incidents, plan.start_us)

    writer = LineWriter(out)
    count = 0
    try:
        for h in range(plan.hours):
            lines = hour_lines(plan, h)
            count += len(lines)
            if lines:
                writer.write(b"\n".join([line for _, _, line in lines]) + b"\n")
    finally:
        writer.close()
    seconds = time.perf_counter() - began
    entries = [i.truth() for i in incidents]
    if truth is not None:
        doc = {
            "generator": {
                "cluster": cluster, "seed": seed, "start": start.isoformat(), "days": days, "events": count,
                "incident_window_start": window.isoformat(), "scenarios": names,
            },
            "incidents": entries,
        }  # fmt: skip
        truth.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    return SynthResult(
        path=out,
        events=count,
        json_bytes=writer.bytes,
        file_bytes=out.stat().st_size,
        seconds=seconds,
        sources={src: sum(per_hour) for src, per_hour in plan.counts.items()},
        incidents=entries,
    )


def _attach(
    by_hour: dict[int, list[tuple[int, int, bytes]]], incidents: list[Incident], start_us: int
) -> None:
    """Serialise incident events into the hour their request falls in, ready to merge with the background."""
    for incident in incidents:
        for ev in incident.events:
            when = datetime.fromisoformat(ev["requestReceivedTimestamp"]) - _EPOCH
            t = (when.days * 86_400 + when.seconds) * 1_000_000 + when.microseconds
            rank = 0 if ev["stage"] == "ResponseStarted" else 1
            by_hour.setdefault((t - start_us) // HOUR_US, []).append((t, rank, orjson.dumps(ev)))


__all__ = ["SCENARIOS", "SHARES", "SynthResult", "generate", "resolve_scenarios"]
