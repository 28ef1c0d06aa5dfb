"""The shipped Grafana dashboard, alert rules and docs name only metrics the receiver exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from kanalytics.serve.metrics import Metrics

DOCS = Path(__file__).parents[2] / "docs"
_NAME = re.compile(r"\bkanalytics_[a-z_]+")


_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "info": ("_info",),
    "gauge": ("",),
}


def exported() -> set[str]:
    """Sample names of every family, also the labelled ones that have no sample yet."""
    registry = Metrics(spool_bytes=lambda: 0.0, spool_age=lambda: 0.0).registry
    return {f.name + suffix for f in registry.collect() for suffix in _SUFFIXES[f.type]}


def test_every_metric_named_in_the_dashboard_alerts_and_docs_is_exported() -> None:
    names = exported()
    dashboard = json.loads((DOCS / "grafana" / "kanalytics.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = yaml.safe_load((DOCS / "prometheus" / "kanalytics-alerts.yaml").read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    used = {m for e in exprs for m in _NAME.findall(e)} | set(_NAME.findall((DOCS / "serve.md").read_text()))
    unknown = sorted(
        m for m in used if m not in names and not any(f"{m}{s}" in names for s in ("_bucket", "_count"))
    )
    assert unknown == []
    assert {"kanalytics_events_received_total", "kanalytics_spool_bytes", "kanalytics_build_info"} <= names
    assert {
        "kanalytics_findings_total",
        "kanalytics_alerts_total",
        "kanalytics_finding_identities_total",
    } <= used
    assert len(dashboard["panels"]) == 13 and {r["alert"] for g in rules["groups"] for r in g["rules"]} == {
        "KanalyticsReceiverDown", "KanalyticsSpoolGrowing", "KanalyticsFlushFailing", "KanalyticsRejectingBatches",
        "KanalyticsAlertsUndelivered",
    }  # fmt: skip
    detections = [p["title"] for p in dashboard["panels"] if p["gridPos"]["y"] >= 33]
    assert detections == [
        "Findings by severity", "Findings by query", "Top identities (findings in range)",
        "Alert deliveries by sink and state",
    ]  # fmt: skip
