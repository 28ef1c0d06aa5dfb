"""The traffic plan: how many events each source makes in each hour, and the generation of one hour's lines."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from kanalytics.synth.background import Catalog, Weighted, build_catalog
from kanalytics.synth.cluster import Cluster, Engineer, build_cluster, is_working_day, node_count
from kanalytics.synth.events import HOUR_US
from kanalytics.synth.templates import Line, Template

# Share of background events per source (documented in docs/synth.md; asserted by the tests).
SHARES = {
    "node_leases": 0.08,
    "leader_leases": 0.04,
    "control_plane": 0.65,
    "apps": 0.04,
    "operators": 0.07,
    "ci": 0.06,
    "humans": 0.06,
}
# Relative activity of an engineer by hour since the start of their day (the dip is lunch).
_DAY_PROFILE = (0.5, 0.9, 1.0, 1.0, 0.35, 0.8, 1.0, 0.95, 0.7, 0.4)
_DEPLOY_HOURS_UTC = {10: 1.0, 14: 1.0, 19: 0.8}  # weekday release trains
_NIGHTLY_HOUR_UTC = 2  # the nightly job runs every day, weekends included
_CI_BURST_US = 15 * 60 * 1_000_000


def spread(total: int, weights: list[float]) -> list[int]:
    """Integer counts proportional to `weights` summing exactly to `total` (cumulative rounding)."""
    whole = sum(weights)
    if whole <= 0 or total <= 0:
        return [0] * len(weights)
    out, prev = [], 0
    for cum in itertools.accumulate(weights):
        cur = int(total * cum / whole + 0.5)
        out.append(cur - prev)
        prev = cur
    return out


def engineer_hours(eng: Engineer, start: datetime, hours: int) -> list[tuple[float, int, int]]:
    """Per UTC hour: (activity weight, offset µs, span µs) of the part inside the engineer's working time.

    Zones with half-hour offsets (India) work only part of a UTC hour at either end of the day.
    """
    out = []
    for h in range(hours):
        local = (start + timedelta(hours=h)).astimezone(eng.tz)
        day_start = local.replace(hour=eng.work_start, minute=0, second=0, microsecond=0)
        day_end = local.replace(hour=eng.work_end, minute=0, second=0, microsecond=0)
        lo, hi = max(local, day_start), min(local + timedelta(hours=1), day_end)
        if hi <= lo or not is_working_day(eng, local.date()):
            out.append((0.0, 0, 0))
            continue
        offset = int((lo - local).total_seconds()) * 1_000_000
        span = int((hi - lo).total_seconds()) * 1_000_000
        weight = _DAY_PROFILE[min(lo.hour - eng.work_start, len(_DAY_PROFILE) - 1)] * span / HOUR_US
        out.append((weight, offset, span))
    return out


def ci_weights(start: datetime, hours: int) -> list[float]:
    out = []
    for h in range(hours):
        t = start + timedelta(hours=h)
        w = _DEPLOY_HOURS_UTC.get(t.hour, 0.0) if t.weekday() < 5 else 0.0
        out.append(w + (0.3 if t.hour == _NIGHTLY_HOUR_UTC else 0.0))
    return out


@dataclass
class Plan:
    seed: int
    start: datetime
    hours: int
    cluster: Cluster
    catalog: Catalog
    counts: dict[str, list[int]]  # source -> events per hour
    human_counts: dict[str, list[int]]  # engineer -> events per hour
    human_windows: dict[str, list[tuple[int, int]]]  # engineer -> (offset, span) µs of working time per hour
    incident_lines: dict[int, list[Line]] = field(default_factory=dict)  # hour -> serialised incident events

    @property
    def start_us(self) -> int:
        return int(self.start.timestamp()) * 1_000_000

    def usual_hourly(self, engineer: str) -> float:
        """Mean events per active hour of an engineer: the baseline a volume spike is measured against."""
        active = [n for n in self.human_counts[engineer] if n]
        return sum(active) / len(active) if active else 1.0


def make_plan(*, start: date, days: int, background: int, seed: int, cluster_name: str) -> Plan:
    hours = days * 24
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC)
    totals = spread(background, list(SHARES.values()))
    budget = dict(zip(SHARES, totals, strict=True))
    # Node count depends on the per-hour lease budget only, never on the seed, so runs compare.
    cluster = build_cluster(cluster_name, seed, node_count(budget["node_leases"] / hours))
    catalog = build_catalog(cluster)
    eng_hours = {e.name: engineer_hours(e, t0, hours) for e in cluster.engineers}
    eng_w = {name: [w for w, _, _ in per] for name, per in eng_hours.items()}
    windows = {name: [(o, s) for _, o, s in per] for name, per in eng_hours.items()}
    human_w = [sum(ws) for ws in zip(*eng_w.values(), strict=True)]
    ci_w = ci_weights(t0, hours)
    if sum(human_w) == 0:  # a range with no working hours at all: people's share goes to the control plane
        budget["control_plane"] += budget.pop("humans")
        budget["humans"] = 0
    if sum(ci_w) == 0:
        budget["control_plane"] += budget.pop("ci")
        budget["ci"] = 0
    flat = [1.0] * hours
    counts = {src: spread(n, flat) for src, n in budget.items() if src not in ("humans", "ci")}
    counts["ci"] = spread(budget["ci"], ci_w)
    counts["humans"] = spread(budget["humans"], human_w)
    human_counts: dict[str, list[int]] = {e: [0] * hours for e in eng_w}
    for h, n in enumerate(counts["humans"]):
        if n:
            for name, k in zip(eng_w, spread(n, [eng_w[e][h] for e in eng_w]), strict=True):
                human_counts[name][h] = k
    return Plan(seed, t0, hours, cluster, catalog, counts, human_counts, windows)


def _fill(rng: random.Random, weighted: Weighted, n: int, t0: int, span: int, out: list[Line]) -> None:
    """Exactly `n` events from weighted templates at uniform instants in [t0, t0 + span)."""
    if n <= 0:
        return
    templates = [t for _, t in weighted]
    cum = list(itertools.accumulate(w for w, _ in weighted))
    single = [t for t in templates if t.events_per_request == 1]
    rnd = rng.random
    made = 0
    for tpl in rng.choices(templates, cum_weights=cum, k=n):
        if made >= n:
            break
        if made == n - 1 and tpl.events_per_request == 2:
            tpl = single[int(rnd() * len(single))]
        tpl.emit(rng, t0 + int(rnd() * span), out)
        made += tpl.events_per_request


def _periodic(rng: random.Random, tpl: Template, n: int, t0: int, phase: float, out: list[Line]) -> None:
    """`n` renewals evenly spaced over the hour with a fixed phase and a little jitter, like a lease loop."""
    if n <= 0:
        return
    step = HOUR_US / n
    for i in range(n):
        tpl.emit(rng, t0 + int((i + phase) * step * 0.98 + rng.random() * step * 0.02), out)


def hour_lines(plan: Plan, h: int) -> list[Line]:
    """All lines whose request falls in hour `h`, sorted by time; depends only on (plan, h)."""
    rng = random.Random(f"{plan.seed}:{h}")
    t0 = plan.start_us + h * HOUR_US
    out: list[Line] = []
    cat, counts = plan.catalog, plan.counts
    # node leases: every node renews the same number of times per hour
    nodes = cat.node_leases
    for i, n in enumerate(spread(counts["node_leases"][h], [1.0] * len(nodes))):
        _periodic(rng, nodes[i], n, t0, (i * 0.37) % 1.0, out)
    holders = cat.leader_leases
    for i, n in enumerate(spread(counts["leader_leases"][h], [1.0] * len(holders))):
        get, update = holders[i]
        _periodic(rng, get, n // 2, t0, (i * 0.21) % 1.0, out)
        _periodic(rng, update, n - n // 2, t0, (i * 0.21 + 0.01) % 1.0, out)
    _fill(rng, cat.control_plane, counts["control_plane"][h], t0, HOUR_US, out)
    _fill(rng, cat.apps, counts["apps"][h], t0, HOUR_US, out)
    _fill(rng, cat.operators, counts["operators"][h], t0, HOUR_US, out)
    _fill(rng, cat.ci, counts["ci"][h], t0 + int(rng.random() * 20 * 60_000_000), _CI_BURST_US, out)
    for name, per_hour in plan.human_counts.items():
        offset, span = plan.human_windows[name][h]
        _fill(rng, cat.humans[name], per_hour[h], t0 + offset, span, out)
    out.extend(plan.incident_lines.get(h, ()))
    out.sort()
    return out
