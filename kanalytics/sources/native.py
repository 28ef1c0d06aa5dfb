"""Native audit shapes: a bare Event, an EventList (what the webhook backend POSTs), or a JSON array of them."""

from __future__ import annotations

from typing import Any


def unwrap(document: Any) -> list[Any] | None:
    """The Events inside a native document, or None when the shape is not native (left to other readers).

    An array holds Events or EventLists; anything else in it (an array inside the array, a number) is passed
    on as is, to be quarantined as not an Event. Never recursive: nesting depth is the input's to choose.
    """
    if isinstance(document, list):
        events: list[Any] = []
        for item in document:
            inner = _unwrap_object(item) if isinstance(item, dict) else None
            events.extend(inner if inner is not None else [item])
        return events
    if isinstance(document, dict):
        return _unwrap_object(document)
    return None


def _unwrap_object(document: dict[str, Any]) -> list[Any]:
    if document.get("kind") == "EventList" and isinstance(document.get("items"), list):
        return list(document["items"])
    # A bare Event (with or without kind/apiVersion); validity is judged later, per event.
    return [document]
