"""Stream the archive's events, or a period's findings, as JSON Lines in a SIEM's format, or to Splunk's HEC.

Events are read one partition at a time (`archive.reader.iter_events`) and written one document per line, so
memory stays bounded by a partition whatever the period. GKE bookkeeping is removed first: a SIEM gets the audit
Event, never the LogEntry wrapper kanalytics keeps for a lossless `--format original`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from kanalytics.archive import reader
from kanalytics.config import Settings
from kanalytics.errors import UsageError
from kanalytics.outputs.formats import SIEM_FORMATS, event_converter, finding_converter
from kanalytics.sources import jsontext

if TYPE_CHECKING:
    from kanalytics.archive.layout import Layout
    from kanalytics.catalog.model import Finding
    from kanalytics.outputs.hec import HecStats


def event_documents(
    layout: Layout,
    format: str,
    settings: Settings,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    clusters: Sequence[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The archived Events of [start, end) as `format` documents, in time order per partition."""
    if format not in SIEM_FORMATS:
        raise UsageError(f"unknown event format {format!r}", hint=f"give one of {', '.join(SIEM_FORMATS)}")
    convert = event_converter(format, settings)
    for cluster, event in reader.iter_events(layout, start, end, clusters):
        yield convert(reader.exported(event, "native"), cluster)


def finding_documents(
    findings: Iterable[Finding], format: str, settings: Settings
) -> Iterator[dict[str, Any]]:
    convert = finding_converter(format, settings)
    for finding in findings:
        yield convert(finding)


def write_lines(documents: Iterable[dict[str, Any]], out: IO[bytes]) -> int:
    """One JSON document per line (what `_bulk` helpers, Filebeat and HEC's raw input read); returns how many."""
    count = 0
    for document in documents:
        out.write(jsontext.dumps_bytes(document) + b"\n")
        count += 1
    return count


def send_to_hec(payloads: Iterable[dict[str, Any]], settings: Settings) -> HecStats:
    """Deliver HEC payloads to `[exports.splunk_hec] url` with its token, in batches, with retries."""
    from kanalytics.outputs.hec import HecClient

    return HecClient.from_settings(settings.exports.splunk_hec).send(payloads)
