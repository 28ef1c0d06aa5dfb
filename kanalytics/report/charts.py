"""Report charts: matplotlib (Agg) to deterministic SVG, embedded as data: URIs.

Text stays text (`svg.fonttype: none`, DejaVu Sans as in the stylesheet): glyphs drawn as paths made every
chart thousands of paths, which is what made WeasyPrint slow. matplotlib's SVG writer escapes every label, and
the data: URI keeps the SVG out of the HTML's markup entirely. Colours differ in lightness, stacked segments are
parted by a white edge, and bars carry direct labels or a legend, so charts survive grey printing without hatch patterns (one pattern fill per bar was the
other slow part of the PDF); every colour stands out from white, and an identity type too rare to show
as a bar segment gets a marker above the day's bar. Day and hour axes are in the configured time zone, named
on the axis. Long labels (identities, clusters) are cut in the middle: their distinguishing part is the end.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from kanalytics.report.context import Chart
from kanalytics.vocabulary import IDENTITY_TYPES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Each at least 3:1 against white (WCAG's contrast for graphics: a pale control-plane grey vanished on paper), and
# neighbours in the stack (human, service account, node, control plane) apart in lightness for grey printing.
_COLOURS = {
    "human": "#1f4e79",
    "service account": "#2e75b6",
    "node": "#8c8c8c",
    "control plane": "#5a5a5a",
    "anonymous": "#e00000",
    "unknown": "#a67c00",
}
RARE_SHARE = 0.01  # an identity type under 1% of the events is marked above the bars, not only stacked
LABEL_CHARS = 48
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "kanalytics",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 9,
}


def _style() -> Any:
    import matplotlib

    return matplotlib.rc_context(_RC)  # type: ignore[arg-type]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=96, layout="constrained")


def _to_chart(fig: Figure, title: str, alt: str) -> Chart:

    buffer = io.StringIO()
    with _style():
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    encoded = base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")
    return Chart(title=title, data_uri=f"data:image/svg+xml;base64,{encoded}", alt=alt)


def _day_axis(ax: Any, days: Sequence[date]) -> None:
    step = max(1, len(days) // 10)
    ticks = list(range(0, len(days), step))
    ax.set_xticks(ticks, [days[i].strftime("%d %b") for i in ticks])
    ax.tick_params(axis="x", labelsize=7)


def daily_volume(rows: list[dict[str, Any]], zone: str = "UTC") -> Chart:
    """Stacked bars: events per day (of the configured zone) by identity type."""

    days = sorted({r["day"] for r in rows})
    index = {d: i for i, d in enumerate(days)}
    types = [t for t in IDENTITY_TYPES if any(r["identity_type"] == t for r in rows)]
    with _style():
        fig = _figure(7.2, 2.6)
        ax = fig.add_subplot()
        bottom = [0] * len(days)
        series: dict[str, list[int]] = {}
        for kind in types:
            values = [0] * len(days)
            for r in rows:
                if r["identity_type"] == kind:
                    values[index[r["day"]]] = r["events"]
            ax.bar(
                range(len(days)), values, bottom=bottom, label=f"{kind} ({sum(values):,})", color=_COLOURS[kind],
                width=0.8, edgecolor="white", linewidth=0.3,
            )  # fmt: skip
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
            series[kind] = values
        _mark_rare(ax, series, bottom)
        _day_axis(ax, days)
        ax.set_ylabel("events per day")
        ax.set_xlabel(f"day ({zone})")
        # outside the axes, laid out by the constrained layout: with counts, six types do not fit in one row
        fig.legend(ncols=min(len(types), 3) or 1, loc="outside upper center", frameon=False)
    total = sum(r["events"] for r in rows)
    return _to_chart(
        fig, "Daily volume by identity type", f"{total:,} events on {len(days)} days with events"
    )


def _mark_rare(ax: Any, series: dict[str, list[int]], tops: list[int]) -> None:
    """A ▼ in the type's colour above each day's bar where a rare type (under RARE_SHARE of all events) has
    events: one anonymous request is a hairline in a stack of thousands, and it is the one to see. Each rare
    type has its own height, so two on one day do not hide each other."""
    total = sum(sum(v) for v in series.values())
    step = max(tops, default=0) * 0.05
    rare = [k for k, v in series.items() if 0 < sum(v) < total * RARE_SHARE]
    for level, kind in enumerate(rare, start=1):
        days = [i for i, v in enumerate(series[kind]) if v]
        ax.scatter(
            days, [tops[i] + step * level for i in days], marker="v", s=14, color=_COLOURS[kind], zorder=3
        )


def denied_over_time(rows: list[dict[str, Any]], zone: str = "UTC") -> Chart:
    """Bars per day (configured zone): 403 forbidden (dark red) and 401 unauthenticated (grey)."""

    days = [r["day"] for r in rows]
    with _style():
        fig = _figure(7.2, 2.2)
        ax = fig.add_subplot()
        x = range(len(days))
        forbidden = [r["forbidden"] for r in rows]
        unauth = [r["unauthenticated"] for r in rows]
        ax.bar(x, forbidden, color="#843c0c", label="403 forbidden", linewidth=0)
        ax.bar(x, unauth, bottom=forbidden, color="#8c8c8c", label="401 unauthenticated", linewidth=0)
        _day_axis(ax, days)
        ax.set_ylabel("requests")
        ax.set_xlabel(f"day ({zone})")
        ax.legend(ncols=2, loc="upper center", bbox_to_anchor=(0.5, 1.2), frameon=False)
    alt = f"{sum(forbidden):,} forbidden and {sum(unauth):,} unauthenticated requests"
    return _to_chart(fig, "Denied requests per day", alt)


def heatmap(rows: list[dict[str, Any]], column: str, who: str, zone: str = "UTC") -> Chart:
    """Weekday × hour grid (configured zone) with the counts written in the cells and a colour scale beside it."""

    grid = [[0] * 24 for _ in range(7)]
    for r in rows:
        grid[int(r["weekday"]) - 1][int(r["hour"])] = int(r[column])
    peak = max((v for line in grid for v in line), default=0)
    with _style():
        fig = _figure(7.2, 2.6)
        ax = fig.add_subplot()
        image = ax.imshow(grid, aspect="auto", cmap="Greys", vmin=0, vmax=max(peak, 1))
        bar = fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01)
        bar.set_label("events per hour slot", fontsize=7)
        bar.ax.tick_params(labelsize=6)
        ax.set_yticks(range(7), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
        ax.set_xticks(range(24), [f"{h:02d}" for h in range(24)])
        ax.set_xlabel(f"hour of day ({zone})")
        for y in range(7):
            for x in range(24):
                value = grid[y][x]
                if value:
                    label = f"{value / 1000:.0f}k" if value >= 10_000 else str(value)
                    colour = "white" if value > peak * 0.55 else "black"
                    ax.text(x, y, label, ha="center", va="center", fontsize=5, color=colour)
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
    return _to_chart(fig, f"Activity by weekday and hour: {who}", f"peak {peak:,} events in one hour slot")


def top_identities(rows: list[dict[str, Any]], limit: int = 15) -> Chart:
    """Horizontal bars of the busiest identities; user names are log values and stay plain text labels."""

    top = sorted(rows, key=lambda r: (-int(r["events"]), str(r["user_name"])))[:limit]
    top.reverse()
    with _style():
        fig = _figure(7.2, 0.22 * max(len(top), 3) + 0.8)
        ax = fig.add_subplot()
        labels = [elide(str(r["user_name"])) for r in top]
        kinds = [str(r["identity_type"]) for r in top]
        bars = ax.barh(
            range(len(top)), [int(r["events"]) for r in top],
            color=[_COLOURS.get(k, _COLOURS["unknown"]) for k in kinds], linewidth=0,
        )  # fmt: skip
        ax.set_yticks(range(len(top)), labels)
        ax.bar_label(
            bars,
            labels=[f"{int(r['events']):,} · {k}" for r, k in zip(top, kinds, strict=True)],
            padding=3,
            fontsize=6,
        )
        ax.set_xlabel("events")
        ax.margins(x=0.25)
    return _to_chart(fig, "Top identities by events", f"{len(top)} busiest identities")


def coverage_per_day(rows: list[dict[str, Any]], zone: str = "UTC") -> Chart:
    """Events per cluster and day (configured zone) as lines, with days without events marked by an X on the axis."""

    clusters = sorted({str(r["cluster"]) for r in rows})
    days = sorted({r["day"] for r in rows})
    index = {d: i for i, d in enumerate(days)}
    markers = ["o", "s", "^", "D", "v", "P"]
    with _style():
        fig = _figure(7.2, 2.2)
        ax = fig.add_subplot()
        for n, cluster in enumerate(clusters):
            values = [0] * len(days)
            for r in rows:
                if r["cluster"] == cluster:
                    values[index[r["day"]]] = int(r["events"])
            ax.plot(
                range(len(days)),
                values,
                marker=markers[n % len(markers)],
                markersize=2.5,
                linewidth=1,
                color="#1f4e79" if n == 0 else None,
                label=elide(cluster),
            )
            empty = [i for i, v in enumerate(values) if v == 0]
            ax.scatter(empty, [0] * len(empty), marker="x", color="#c00000", s=18, zorder=3)
        _day_axis(ax, days)
        ax.set_ylabel("events")
        ax.set_xlabel(f"day ({zone})")
        ax.set_ylim(bottom=0)
        if len(clusters) > 1:
            ax.legend(frameon=False, fontsize=6)
    empty_days = sum(1 for r in rows if int(r["events"]) == 0)
    return _to_chart(fig, "Events per day and cluster", f"{empty_days} cluster-days without events")


def elide(text: str, limit: int = LABEL_CHARS) -> str:
    """`text` cut to `limit` characters in the middle, keeping the end whole where it can: identities share
    their start ("system:serviceaccount:kube-system:") and differ in the last part, which a cut at the end
    lost. The last `:`/`/` part is kept when it takes at most two thirds of the label."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(":"), text.rfind("/"))
    tail = len(text) - cut if cut > 0 and len(text) - cut <= limit * 2 // 3 else (limit - 1) * 3 // 5
    head = limit - 1 - tail
    return text[:head] + "…" + text[-tail:]
