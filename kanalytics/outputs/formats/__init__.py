"""One audit Event or one Finding as the document another system expects (pure functions, no I/O).

`ecs`: Elastic Common Schema, as Elastic's Kubernetes audit-log integration writes it. `hec`: a Splunk HTTP Event
Collector event. `ocsf`: OCSF API Activity (6003) for events, Detection Finding (2004) for findings, as Amazon
Security Lake reads them. `event_converter`/`finding_converter` pick one by its CLI name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kanalytics.errors import UsageError

if TYPE_CHECKING:
    from kanalytics.catalog.model import Finding
    from kanalytics.config import Settings

# "original" and "native" are the archive's own JSON Lines (kanalytics.archive.reader.export_events).
ARCHIVE_FORMATS = ("original", "native")
SIEM_FORMATS = ("ecs", "splunk-hec", "ocsf")
EVENT_FORMATS = (*ARCHIVE_FORMATS, *SIEM_FORMATS)
FINDING_FORMATS = ("jsonl", *SIEM_FORMATS)

EventConverter = Callable[[dict[str, Any], str], dict[str, Any]]
FindingConverter = Callable[["Finding"], dict[str, Any]]


def event_converter(name: str, settings: Settings) -> EventConverter:
    """(Event, cluster) -> document in the SIEM format `name`."""
    if name == "ecs":
        from kanalytics.outputs.formats import ecs

        return ecs.event_document
    if name == "ocsf":
        from kanalytics.outputs.formats import ocsf

        return ocsf.event_record
    if name == "splunk-hec":
        from kanalytics.outputs.formats import hec

        options = settings.exports.splunk_hec
        return lambda event, cluster: hec.event_payload(event, cluster, options)
    raise UsageError(f"unknown event format {name!r}", hint=f"give one of {', '.join(EVENT_FORMATS)}")


def finding_converter(name: str, settings: Settings) -> FindingConverter:
    """Finding -> document in the format `name` ("jsonl": the finding's own JSON, as `findings --json`)."""
    if name == "jsonl":
        from kanalytics.catalog.findings import json_safe

        return lambda finding: json_safe(finding.to_json())
    if name == "ecs":
        from kanalytics.outputs.formats import ecs

        return ecs.finding_document
    if name == "ocsf":
        from datetime import UTC, datetime

        from kanalytics.outputs.formats import ocsf

        exported = datetime.now(UTC)  # created_time, and the time of a finding without one (a pattern)
        return lambda finding: ocsf.finding_record(finding, created=exported)
    if name == "splunk-hec":
        from kanalytics.outputs.formats import hec

        options = settings.exports.splunk_hec
        return lambda finding: hec.finding_payload(finding, options)
    raise UsageError(f"unknown findings format {name!r}", hint=f"give one of {', '.join(FINDING_FORMATS)}")
