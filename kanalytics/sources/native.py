"""Native audit shapes: a bare Event, an EventList (what the webhook backend POSTs), or a JSON array of them."""

from __future__ import annotations

from typing import Any


def unwrap(document: Any) -> list[Any] | None:
    """The Events inside a native document, or None when the shape is not native (left to other readers)."""
    if isinstance(document, list):
        events: list[Any] = []
        for item in document:
            inner = unwrap(item)
            events.extend(inner if inner is not None else [item])
        return events
    if isinstance(document, dict):
        if document.get("kind") == "EventList" and isinstance(document.get("items"), list):
            return list(document["items"])
        # A bare Event (with or without kind/apiVersion); validity is judged later, per event.
        return [document]
    return None
