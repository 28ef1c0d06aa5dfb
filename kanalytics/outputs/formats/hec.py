"""One audit Event or one Finding as a Splunk HTTP Event Collector JSON event (docs/exports/splunk.md).

The envelope is HEC's `/services/collector/event` form: `time` (epoch seconds, microseconds as the fraction),
`host`, `source`, `sourcetype`, `index` (only when configured: otherwise the token's default index), `event`
(the Event unchanged, or the finding's JSON) and `fields`, the indexed fields. HEC requires indexed field values
to be flat strings, so each is a string, cut to FIELD_MAX_CHARS, and absent when the Event has no value.

Indexed field names carry a `k8s_` (Events) or `finding_` prefix so that they never share a name with a
search-time JSON field of the event (`verb`, `stage`): Splunk would show such a field twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kanalytics.archive.rows import parse_timestamp
from kanalytics.catalog.findings import json_safe

if TYPE_CHECKING:
    from kanalytics.catalog.model import Finding
    from kanalytics.config import HecSettings

# Findings are kanalytics' own records, not API server audit records: their own sourcetype, named like Splunk's
# vendor:type sourcetypes, so that a search for the audit sourcetype never mixes the two shapes.
FINDING_SOURCETYPE = "kanalytics:finding"
# An indexed field is for filtering and `tstats`, not for reading: a long value (a user agent, an object name an
# attacker chose) costs index space on every event. The full value stays in `event`.
FIELD_MAX_CHARS = 256
# Where an Event's time is read from, first present and valid wins (v1beta1 events also have `timestamp`).
_TIME_KEYS = ("requestReceivedTimestamp", "stageTimestamp", "timestamp")


def event_payload(event: dict[str, Any], cluster: str, options: HecSettings) -> dict[str, Any]:
    """The HEC event for one audit `event` of `cluster`. `event` is passed through unchanged (not copied)."""
    user = event.get("user")
    ref = event.get("objectRef")
    status = event.get("responseStatus")
    fields = _fields(
        k8s_cluster=cluster,
        k8s_verb=event.get("verb"),
        k8s_user=user.get("username") if isinstance(user, dict) else None,
        k8s_namespace=ref.get("namespace") if isinstance(ref, dict) else None,
        k8s_resource=ref.get("resource") if isinstance(ref, dict) else None,
        k8s_response_code=status.get("code") if isinstance(status, dict) else None,
        k8s_stage=event.get("stage"),
    )
    seconds = next((s for s in (_epoch_seconds(event.get(k)) for k in _TIME_KEYS) if s is not None), None)
    return _envelope(seconds, options.host or cluster, options.sourcetype, event, fields, options)


def finding_payload(finding: Finding, options: HecSettings) -> dict[str, Any]:
    """The HEC event for one finding: `event` is the finding's JSON (evidence included), sourcetype
    FINDING_SOURCETYPE, host the configured one or the finding's cluster (none: HEC's default host)."""
    fields = _fields(
        k8s_cluster=finding.cluster,
        k8s_verb=finding.verb,
        k8s_user=finding.user_name,
        k8s_namespace=finding.namespace,
        k8s_resource=finding.resource,
        finding_query=finding.query_id,
        finding_severity=finding.severity,
        finding_kind=finding.kind,
        finding_area=finding.area,
    )
    seconds = finding.ts.timestamp() if finding.ts is not None else None
    body = json_safe(finding.to_json())
    return _envelope(seconds, options.host or finding.cluster, FINDING_SOURCETYPE, body, fields, options)


def _envelope(
    seconds: float | None,
    host: str | None,
    sourcetype: str,
    body: dict[str, Any],
    fields: dict[str, str],
    options: HecSettings,
) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if seconds is not None:  # without `time` HEC stamps the event with its arrival
        payload["time"] = seconds
    if host:
        payload["host"] = host
    payload["source"] = options.source
    payload["sourcetype"] = sourcetype
    if options.index is not None:
        payload["index"] = options.index
    payload["event"] = body
    payload["fields"] = fields
    return payload


def _fields(**values: Any) -> dict[str, str]:
    """Indexed fields as HEC wants them: flat strings, no nulls, no empty strings, none longer than the cap."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if value is None or isinstance(value, dict | list):
            continue
        text = str(value)[:FIELD_MAX_CHARS]
        if text:
            out[name] = text
    return out


def _epoch_seconds(value: Any) -> float | None:
    """An RFC 3339 timestamp as epoch seconds with microseconds; None when absent or not a timestamp."""
    if not isinstance(value, str):
        return None
    try:
        micros, _exact = parse_timestamp(value)
    except ValueError:
        return None
    return micros / 1_000_000
