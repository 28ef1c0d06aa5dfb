"""Issue 13's figures: signal on a cluster kanalytics has never seen, with an empty configuration.

Per seed: `kanalytics synth` writes 61 days from 2026-09-01 (September is the baseline, October holds the
injected incidents) with 2 x --events events, they are ingested into a fresh archive, and October is judged
with an EMPTY kanalytics.toml (profile "default"). Printed per seed, then the median over seeds:

* background events: October's events minus the injected ones;
* non-info findings from background per 1M background events: findings without an injected audit_id (a
  pattern finding without an audit_id counts as background unless its user is an injected identity);
* medium+ incidents with no injected member, per cluster-month;
* for each injected scenario: whether a non-info finding or an incident holds one of its audit_ids, and the
  rank of its best incident; whether the multi-step intrusion (ci-token-takeover) is rank 1, how many
  incidents it is spread over, and each step's time and the queries that saw it;
* findings moved to recurring behaviour and the queries that need configuration.

    .venv/bin/python benchmarks/zero_config_signal.py [--seeds 1 2 3] [--events 1000000] [--work DIR] [--keep]

Memory stays bounded: synth writes one hour at a time, ingest streams, the events file is never loaded; only
the findings and the truth file are held. Each seed's work folder is deleted after it unless --keep.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path
from typing import Any

from kanalytics import open_archive
from kanalytics.catalog.model import SEVERITY_ORDER, Finding
from kanalytics.synth import generate

START, DAYS, WINDOW, MONTH = date(2026, 9, 1), 61, date(2026, 10, 1), "2026-10"
INTRUSION = "ci-token-takeover"
MEDIUM = SEVERITY_ORDER["medium"]
NOT_AVAILABLE = "not available (this FindingsResult has no such field yet)"


@dataclass
class Figures:
    seed: int
    background_events: int = 0
    background_findings: int = 0  # non-info
    clusters: int = 1
    background_incidents: int = 0  # medium+
    incidents: int = 0
    intrusion_rank: int | None = None
    recurring_findings: int | None = None
    recurring_patterns: int | None = None
    needs_configuration: list[str] | None = None
    missed: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    @property
    def per_million(self) -> float:
        return self.background_findings / self.background_events * 1e6 if self.background_events else 0.0

    @property
    def incidents_per_cluster_month(self) -> float:
        return self.background_incidents / max(1, self.clusters)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--events", type=int, default=1_000_000, help="events per month (synth writes 2x)")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep each seed's synth file and archive")
    args = parser.parse_args()
    root = args.work or Path(tempfile.mkdtemp(prefix="kanalytics-signal-"))
    root.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in args.seeds:
        work = root / f"seed-{seed}"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir()
        try:
            figures = measure(seed, args.events, work)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        for line in figures.lines:
            print(line, flush=True)
        results.append(figures)
    if not args.keep and args.work is None:
        shutil.rmtree(root, ignore_errors=True)
    summary(results)


def measure(seed: int, events: int, work: Path) -> Figures:
    out = Figures(seed)
    say = out.lines.append
    began = time.perf_counter()
    audit, truth_path = work / "audit.jsonl.zst", work / "truth.json"
    synth = generate(audit, start=START, days=DAYS, events=2 * events, seed=seed, truth=truth_path,
                     incident_window_start=WINDOW)  # fmt: skip
    out.seconds["synth"] = time.perf_counter() - began
    truth = json.loads(truth_path.read_text())["incidents"]
    injected_ids = {i: entry["scenario"] for entry in truth for i in entry["audit_ids"]}
    identities = {who for entry in truth for who in entry.get("identities", [entry["identity"]])}

    config = work / "kanalytics.toml"
    config.write_text("")  # an empty configuration: what a new user starts with (profile "default")
    archive = open_archive(work / "archive", config=config)
    began = time.perf_counter()
    ingest = archive.ingest([audit], cluster="signal")
    out.seconds["ingest"] = time.perf_counter() - began
    audit.unlink()  # the archive has it now; the file is the largest thing on disk

    october = int(archive.sql("SELECT count(*) AS n FROM events", month=MONTH)["n"][0])
    injected = sum(entry["events"] for entry in truth)
    out.background_events = october - injected

    began = time.perf_counter()
    incidents_api = getattr(archive, "incidents", None)
    ranked: list[Any] = []
    found = None
    if incidents_api is not None:
        result = incidents_api(month=MONTH)
        ranked = list(result.incidents)
        found = getattr(result, "findings", None)
    if found is None:
        found = archive.findings(month=MONTH)
    out.seconds["judge"] = time.perf_counter() - began

    def scenario_of(f: Finding) -> str | None:
        if f.audit_id is not None:
            return injected_ids.get(f.audit_id)
        return "(injected identity)" if f.user_name in identities else None

    findings = [f for f in found.findings if f.severity != "info"]
    background = [f for f in findings if scenario_of(f) is None]
    out.background_findings = len(background)
    out.clusters = max(1, len(archive.info().clusters))  # one cluster-month per cluster: October only
    out.incidents = len(ranked)
    out.background_incidents = sum(
        1
        for i in ranked
        if SEVERITY_ORDER[i.severity] >= MEDIUM and not any(scenario_of(f) for f in i.findings)
    )
    recurring = getattr(found, "recurring", None)
    if recurring is not None:
        out.recurring_patterns = len(recurring)
        out.recurring_findings = sum(len(p.findings) for p in recurring)
    needs = getattr(found, "needs_configuration", None)
    if needs is not None:
        out.needs_configuration = sorted(p.query_id for p in needs)

    say(f"== seed {seed}: {synth.events:,} events synthesised in {out.seconds['synth']:.0f} s, "
        f"ingested {ingest.archived:,} ({ingest.quarantined} quarantined) in {out.seconds['ingest']:.0f} s, "
        f"October judged in {out.seconds['judge']:.0f} s")  # fmt: skip
    say(f"  October events {october:,}: injected {injected:,}, background {out.background_events:,}")
    say(f"  non-info findings {len(findings):,}: from background {out.background_findings:,} = "
        f"{out.per_million:,.1f} per 1M background events (target <= 100)")  # fmt: skip
    for query, n in _top(background):
        say(f"      {n:>7,}  {query}")
    if incidents_api is None:
        say("  incidents: not available (Archive.incidents does not exist yet)")
    else:
        say(f"  incidents {out.incidents:,}: medium+ with no injected member {out.background_incidents:,} "
            f"per cluster-month (target <= 10)")  # fmt: skip
        for i in [i for i in ranked if not any(scenario_of(f) for f in i.findings)][:5]:
            say(
                f"      rank {ranked.index(i) + 1:>3}  {i.severity:<8} {i.title}  ({len(i.findings)} findings)"
            )
    say("  recurring behaviour: " + (NOT_AVAILABLE if recurring is None else
        f"{out.recurring_findings:,} findings in {out.recurring_patterns:,} patterns"))  # fmt: skip
    say("  needs configuration: " + (NOT_AVAILABLE if needs is None else
        f"{len(out.needs_configuration or [])} queries: {', '.join(out.needs_configuration or []) or '-'}"))  # fmt: skip

    say(
        "  injected scenarios (finding = a non-info finding holds one of its audit_ids; rank = best incident):"
    )
    for entry in truth:
        ids = set(entry["audit_ids"])
        hits = [f for f in findings if f.audit_id in ids]
        ranks = [n for n, i in enumerate(ranked, 1) if any(f.audit_id in ids for f in i.findings)]
        if not hits and not ranks:
            out.missed.append(entry["scenario"])
        best = f"rank {ranks[0]}" if ranks else "no incident"
        queries = ", ".join(sorted({f.query_id for f in hits})) or "-"
        say(f"    {'found ' if hits or ranks else 'MISSED'} {entry['scenario']:<22} {best:<12} "
            f"{len(hits):>4} findings: {queries}")  # fmt: skip
        if (
            not hits and not ranks
        ):  # what did see it, if anything: findings about its identity around its time
            near = sorted({f.query_id for f in findings if f.user_name == entry["identity"] and f.ts is not None
                           and entry["start"][:13] <= f.ts.astimezone(UTC).strftime("%Y-%m-%dT%H") <= entry["end"][:13]})  # fmt: skip
            say(f"      same identity, same hour(s), other audit_ids: {', '.join(near) or 'nothing'}")
        if entry["scenario"] == INTRUSION:
            out.intrusion_rank = ranks[0] if ranks else None
            top = ranked[ranks[0] - 1] if ranks else None
            say(f"      multi-step intrusion rank 1: {'yes' if ranks and ranks[0] == 1 else 'NO'}; spread over "
                f"{len(ranks)} incident(s)" + (f"; top: {top.severity} {top.title!r}" if top else ""))  # fmt: skip
            for n in ranks[1:]:
                other = ranked[n - 1]
                say(
                    f"      also in rank {n}: {other.severity} {other.title!r} ({', '.join(other.identities)})"
                )
            for step in entry.get("steps", []):
                step_ids = set(step["audit_ids"])
                seen = sorted({f.query_id for f in hits if f.audit_id in step_ids})
                in_top = top is not None and any(f.audit_id in step_ids for f in top.findings)
                say(f"      {step['start'][:19]}-{step['end'][11:19]} {step['tactic']:<20} "
                    f"{'in top incident' if in_top else 'not in top':<16} {', '.join(seen) or 'NO FINDING'}")  # fmt: skip
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say(f"  peak RSS so far {rss:,.0f} MiB")
    return out


def _top(findings: list[Finding], n: int = 8) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for f in findings:
        key = f"{f.query_id} ({f.severity})"
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])[:n]


def summary(results: list[Figures]) -> None:
    if not results:
        return

    def med(values: list[float]) -> float:
        return statistics.median(values)

    print(f"== median over seeds {', '.join(str(r.seed) for r in results)}")
    print(f"  background events            {med([r.background_events for r in results]):,.0f}")
    print(f"  non-info findings / 1M bg    {med([r.per_million for r in results]):,.1f}   (target <= 100) "
          f"per seed: {', '.join(f'{r.per_million:,.1f}' for r in results)}")  # fmt: skip
    print(f"  medium+ bg incidents / c-m   {med([r.incidents_per_cluster_month for r in results]):,.1f}   "
          f"(target <= 10) per seed: {', '.join(f'{r.incidents_per_cluster_month:,.0f}' for r in results)}")  # fmt: skip
    print(
        f"  scenarios missed             {', '.join(sorted({m for r in results for m in r.missed})) or 'none'}"
    )
    ranks = [r.intrusion_rank for r in results]
    print(f"  intrusion rank               {', '.join('-' if k is None else str(k) for k in ranks)}"
          f"   rank 1 in {sum(k == 1 for k in ranks)} of {len(ranks)} seeds")  # fmt: skip
    recurring = [r.recurring_findings for r in results if r.recurring_findings is not None]
    print(
        "  recurring findings           "
        + (f"{med([float(x) for x in recurring]):,.0f}" if recurring else NOT_AVAILABLE)
    )
    needs = [r.needs_configuration for r in results if r.needs_configuration is not None]
    print("  queries needing config       " + (str(len(needs[0])) if needs else NOT_AVAILABLE))


if __name__ == "__main__":
    main()
