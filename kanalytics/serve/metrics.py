"""The receiver's Prometheus metrics, in one registry of its own (names `kanalytics_*`, base units)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
)

from kanalytics._version import __version__

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SIZE_BUCKETS = (1024.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 12582912.0, 67108864.0)
_IDENTITIES = 200  # distinct identity label values, to bound the series a hostile log can create
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    def __init__(self, *, spool_bytes: Callable[[], float], spool_age: Callable[[], float]) -> None:
        disable_created_metrics()  # `_created` series only double what Grafana shows
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "kanalytics_http_requests", "HTTP requests by endpoint and status code.", ["endpoint", "code"],
            registry=r,
        )  # fmt: skip
        self.duration = Histogram(
            "kanalytics_http_request_duration_seconds", "Time from request to response, by endpoint.",
            ["endpoint"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.size = Histogram(
            "kanalytics_http_request_size_bytes", "Request body size as received (before gzip decoding).",
            ["endpoint"], buckets=_SIZE_BUCKETS, registry=r,
        )  # fmt: skip
        self.received = Counter(
            "kanalytics_events_received", "Events acknowledged (spooled and fsynced).", registry=r
        )
        self.archived = Counter("kanalytics_events_archived", "Events committed to the archive.", registry=r)
        self.duplicates = Counter(
            "kanalytics_events_duplicate", "Events the archive already held (retried batches).", registry=r
        )
        self.quarantined = Counter(
            "kanalytics_events_quarantined", "Records quarantined by the flusher, by reason.", ["reason"],
            registry=r,
        )  # fmt: skip
        self.rejected = Counter(
            "kanalytics_requests_rejected",
            "Requests refused before spooling, by reason (unauthorized, forbidden, too_large, malformed, "
            "spool_full, unavailable).",
            ["reason"],
            registry=r,
        )
        spooled = Gauge("kanalytics_spool_bytes", "Bytes in the spool not yet flushed.", registry=r)
        spooled.set_function(spool_bytes)
        oldest = Gauge(
            "kanalytics_spool_oldest_age_seconds", "Age of the oldest spooled, unflushed entry.", registry=r
        )
        oldest.set_function(spool_age)
        self.last_flush = Gauge(
            "kanalytics_last_flush_success_timestamp_seconds", "Unix time of the last successful flush.",
            registry=r,
        )  # fmt: skip
        self.flush_duration = Histogram(
            "kanalytics_flush_duration_seconds", "Time one flush into the archive took.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0), registry=r,
        )  # fmt: skip
        self.flush_failures = Counter(
            "kanalytics_flush_failures", "Flushes that failed (the spool keeps the batches).", registry=r
        )
        self.evaluation_failures = Counter(
            "kanalytics_evaluation_failures",
            "Evaluations at commit that failed (the results are computed when the period is first read).",
            registry=r,
        )
        self.evaluation_duration = Histogram(
            "kanalytics_evaluation_duration_seconds", "Seconds each evaluation at commit took.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0), registry=r,
        )  # fmt: skip
        self.findings_committed = Counter(
            "kanalytics_findings",
            "Findings to review (after allow-lists) as committed batches produce them, by query, severity and "
            "cluster; each finding counted once.",
            ["query", "severity", "cluster"],
            registry=r,
        )
        self.finding_identities = Counter(
            "kanalytics_finding_identities",
            f"Findings to review by identity and severity (the {_IDENTITIES} first identities seen, then "
            '"(other)"; names cut at 80 characters): the dashboard\'s top identities.',
            ["identity", "severity"],
            registry=r,
        )
        self._identities: set[str] = set()
        self.alerts = Counter(
            "kanalytics_alerts",
            "Alert deliveries by sink and state: queued, delivered, retried (a send failed, it will be retried), "
            "dead (given up: see `kanalytics alerts list --state dead`).",
            ["sink", "state"],
            registry=r,
        )
        Info("kanalytics_build", "The kanalytics version serving.", registry=r).info({"version": __version__})

    # kanalytics.outputs.alerts.model.Observer: what alerting reports.
    def findings(self, query: str, severity: str, cluster: str, count: int) -> None:
        self.findings_committed.labels(query=query, severity=severity, cluster=cluster).inc(count)

    def identity(self, identity: str, severity: str, count: int) -> None:
        label = identity[:80]
        if label not in self._identities:
            if len(self._identities) >= _IDENTITIES:
                label = "(other)"
            else:
                self._identities.add(label)
        self.finding_identities.labels(identity=label, severity=severity).inc(count)

    def alert(self, sink: str, state: str) -> None:
        self.alerts.labels(sink=sink, state=state).inc()

    def text(self) -> bytes:
        return generate_latest(self.registry)
