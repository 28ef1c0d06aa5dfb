"""Report charts: labels cut in the middle, colours visible on white, rare identity types marked, a colour scale."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

import pytest

from kanalytics.report import charts
from kanalytics.report.charts import elide


def _svg(chart: Any) -> str:
    return base64.b64decode(chart.data_uri.split(",", 1)[1]).decode()


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        (
            "system:serviceaccount:kube-system:generic-garbage-collector",
            "system:serviceaccount…:generic-garbage-collector",
        ),
        (
            "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
            "system:serviceaccount…:horizontal-pod-autoscaler",
        ),
        ("a" * 30 + "b" * 30, "a" * 19 + "…" + "b" * 28),  # no separator: the first 19 and last 28
        ("system:node:demo-pool-a-4k9rq", "system:node:demo-pool-a-4k9rq"),  # short enough: unchanged
    ],
)
def test_long_labels_are_cut_in_the_middle_keeping_the_distinguishing_end(name: str, shown: str) -> None:
    assert elide(name) == shown
    assert len(elide(name)) == min(len(name), charts.LABEL_CHARS)


def test_top_identity_labels_keep_the_end_of_the_name() -> None:
    rows = [
        {
            "user_name": f"system:serviceaccount:kube-system:{n}",
            "identity_type": "service account",
            "events": 9,
        }
        for n in ("generic-garbage-collector", "horizontal-pod-autoscaler")
    ]
    svg = _svg(charts.top_identities(rows))
    assert "system:serviceaccount…:generic-garbage-collector" in svg
    assert "system:serviceaccount…:horizontal-pod-autoscaler" in svg


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_identity_colour_has_3_to_1_contrast_against_white() -> None:
    contrast = {kind: 1.05 / (_luminance(c) + 0.05) for kind, c in charts._COLOURS.items()}
    assert {kind: ratio for kind, ratio in contrast.items() if ratio < 3} == {}


def _volume(anonymous_on: int | None) -> list[dict[str, Any]]:
    rows = []
    for d in range(10):
        day = date(2026, 10, 1) + timedelta(days=d)
        rows += [
            {"day": day, "identity_type": "service account", "events": 4000},
            {"day": day, "identity_type": "human", "events": 300},
        ]
        if d == anonymous_on:
            rows.append({"day": day, "identity_type": "anonymous", "events": 3})
    return rows


def test_a_rare_identity_type_is_marked_above_its_days_bar() -> None:
    marked = _svg(charts.daily_volume(_volume(anonymous_on=4)))
    assert marked.count('id="PathCollection_') == 1  # one marker series, for anonymous
    assert "anonymous (3)" in marked  # the legend counts each type
    assert 'id="PathCollection_' not in _svg(charts.daily_volume(_volume(anonymous_on=None)))


def test_the_heatmap_has_a_colour_scale() -> None:
    rows = [{"weekday": 1, "hour": 9, "events": 40}, {"weekday": 3, "hour": 14, "events": 7}]
    svg = _svg(charts.heatmap(rows, "events", "people"))
    assert "events per hour slot" in svg
