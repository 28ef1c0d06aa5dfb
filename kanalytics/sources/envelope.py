"""The shared result of unwrapping a managed-cloud envelope (EKS, AKS, GKE) into audit Events.

Each envelope module exposes `FORMAT`, `detect(document) -> bool` (judged from content, never a file name)
and `unwrap(document) -> Iterator[Unwrapped]`; line-oriented shapes add `detect_line` / `unwrap_line`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kanalytics.sources import jsontext

RAW_LIMIT = 64 * 1024  # bytes of a record kept for quarantine: enough to show what arrived, never a batch
NAME_LIMIT = 200  # characters of an input-supplied name (stream, category) quoted in a reason

# The archive's own rule (archive/layout.py check_cluster_name); repeated here because sources sit below archive.
_CLUSTER_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
_NOT_CLUSTER_CHAR = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(slots=True, frozen=True)
class Unwrapped:
    """One record of an envelope, judged: exactly one of event, skipped, problem is set."""

    event: dict[str, Any] | None = None  # an audit Event (native shape) to archive
    skipped: str | None = None  # deliberately not archived, with the reason
    problem: str | None = None  # to quarantine, with a reason naming the envelope
    raw: bytes | None = None  # the record's bytes for quarantine (set with problem), at most RAW_LIMIT
    cluster: str | None = None  # the cluster the envelope names, if any, already a valid cluster name


def bounded(raw: bytes | str) -> bytes:
    """The record's bytes cut to RAW_LIMIT, for quarantine."""
    data = raw[: RAW_LIMIT * 4].encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return data[:RAW_LIMIT]


def raw_json(value: Any) -> bytes:
    """A parsed record as bounded JSON bytes, for quarantine."""
    try:
        return bounded(jsontext.dumps_bytes(value))
    except (TypeError, ValueError):  # cannot happen for parsed JSON; keep quarantine working regardless
        return bounded(repr(value))


def clip(text: object) -> str:
    """An input-supplied name or message, short enough to quote in a reason."""
    shown = text if isinstance(text, str) else repr(text)
    return shown if len(shown) <= NAME_LIMIT else shown[:NAME_LIMIT] + "…"


def kind_of(value: Any) -> str:
    """The JSON type of a parsed value, for reasons ("a JSON array")."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def cluster_name(name: str) -> str | None:
    """`name` as a valid archive cluster name (characters outside letters, digits, . _ - become '-'), or None."""
    if _CLUSTER_NAME.match(name):
        return name
    cleaned = _NOT_CLUSTER_CHAR.sub("-", name).lstrip("._-")[:100]
    return cleaned if _CLUSTER_NAME.match(cleaned) else None


def inner_event(text: bytes, what: str, cluster: str | None) -> Unwrapped:
    """The audit Event an envelope carries as JSON text (`what` names the field for the reasons, e.g.
    "EKS CloudWatch message"): the Event, or a problem keeping the text's bounded bytes."""
    try:
        event = jsontext.loads(text)
    except (ValueError, RecursionError) as exc:
        return Unwrapped(problem=f"{what} is not JSON: {clip(str(exc))}", raw=bounded(text), cluster=cluster)
    if not isinstance(event, dict):
        return Unwrapped(
            problem=f"{what} is a JSON {kind_of(event)}, not an audit Event",
            raw=bounded(text),
            cluster=cluster,
        )
    return Unwrapped(event=event, cluster=cluster)
