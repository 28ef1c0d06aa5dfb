"""Redaction at ingest: Secret values and TokenReview tokens never reach the archive.

Keys are kept (so "which keys of which Secret changed" stays answerable); values become `REDACTED`.
Covers Secret and SecretList bodies, JSON-patch and merge-patch fragments, and the
`kubectl.kubernetes.io/last-applied-configuration` annotation, which carries the whole Secret again.
"""

from __future__ import annotations

import json
from typing import Any

REDACTED = "[REDACTED by kanalytics]"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_SECRET_FIELDS = ("data", "stringData")


def redact_event(event: dict[str, Any]) -> bool:
    """Redact `event`'s bodies in place; return True when anything was replaced."""
    ref = event.get("objectRef")
    resource = ref.get("resource") if isinstance(ref, dict) else None
    changed = False
    for key in ("requestObject", "responseObject"):
        body = event.get(key)
        if body is None:
            continue
        if resource == "tokenreviews":
            changed |= _redact_token_review(body)
        if resource == "secrets":
            changed |= _redact_secret_body(body, assume_secret=True)
        else:
            changed |= _redact_secret_body(body, assume_secret=False)
    return changed


def _redact_values(mapping: dict[str, Any]) -> bool:
    changed = False
    for field in _SECRET_FIELDS:
        values = mapping.get(field)
        if isinstance(values, dict):
            for k, v in values.items():
                if v != REDACTED:
                    values[k] = REDACTED
                    changed = True
        elif values is not None and field in mapping and values != REDACTED:
            mapping[field] = REDACTED
            changed = True
    return changed


def _redact_secret_body(body: Any, *, assume_secret: bool) -> bool:
    """Redact a Secret, a list of Secrets, a patch of a Secret, or Secrets nested in a generic List."""
    if isinstance(body, list):
        # A JSON patch against a Secret: [{"op": "add", "path": "/data/x", "value": ...}]
        if not assume_secret:
            return False
        changed = False
        for op in body:
            if isinstance(op, dict) and isinstance(op.get("path"), str):
                path = op["path"]
                if path.startswith(("/data", "/stringData")) and "value" in op:
                    value = op["value"]
                    if isinstance(value, dict):
                        op["value"] = {k: REDACTED for k in value}
                    else:
                        op["value"] = REDACTED
                    changed = True
                elif path == "/metadata/annotations" and isinstance(op.get("value"), dict):
                    changed |= _redact_last_applied(op["value"])
        return changed
    if not isinstance(body, dict):
        return False
    changed = False
    kind = body.get("kind")
    if kind == "Secret" or (assume_secret and kind in (None, "Secret")):
        changed |= _redact_values(body)
        metadata = body.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("annotations"), dict):
            changed |= _redact_last_applied(metadata["annotations"])
    items = body.get("items")
    if isinstance(items, list):
        list_of_secrets = assume_secret or kind == "SecretList"
        for item in items:
            if isinstance(item, dict) and (list_of_secrets or item.get("kind") == "Secret"):
                changed |= _redact_secret_body(item, assume_secret=True)
    return changed


def _redact_last_applied(annotations: dict[str, Any]) -> bool:
    text = annotations.get(_LAST_APPLIED)
    if not isinstance(text, str) or text == REDACTED:
        return False
    try:
        applied = json.loads(text)
    except ValueError:
        annotations[_LAST_APPLIED] = REDACTED
        return True
    if isinstance(applied, dict) and _redact_values(applied):
        annotations[_LAST_APPLIED] = json.dumps(applied, separators=(",", ":"))
        return True
    return False


def _redact_token_review(body: Any) -> bool:
    spec = body.get("spec") if isinstance(body, dict) else None
    if isinstance(spec, dict) and "token" in spec and spec["token"] != REDACTED:
        spec["token"] = REDACTED
        return True
    return False
