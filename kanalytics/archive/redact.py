"""Redaction at ingest: no Secret value, token or credential of the input reaches the archive.

Structural rules, where the parsed event says what a value is: Secret `data`/`stringData` values (in Secret,
SecretList, List, Table and watch-event bodies, merge/strategic/apply patches, JSON-patch operations, the
`kubectl.kubernetes.io/last-applied-configuration` annotation and admission-webhook patch annotations), the
string value of any credential-named key (`token`, `password`, `clientSecret`, ...: TokenReview `spec.token`,
TokenRequest `status.token`), and credential query parameters of `requestURI`. Then the lexical rules of
`scrub.py` on every string of an event that mentions a credential. Keys are kept, values become `MARK`.
The scope, with examples, is docs/redaction.md.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import yaml

from kanalytics.archive.scrub import (
    MARK,
    credential_hints,
    is_credential_key,
    is_credential_param,
    scrub_lexical,
    scrub_text,
    uri_may_hold_credentials,
)
from kanalytics.sources import jsontext

REDACTED = MARK
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_SECRET_FIELDS = ("data", "stringData")
_BODIES = ("requestObject", "responseObject")
_PLAIN_FIELDS = frozenset(
    {
        "kind",
        "apiVersion",
        "level",
        "auditID",
        "stage",
        "verb",
        "requestURI",
        "sourceIPs",
        "annotations",
        "user",
    }
    | {"requestReceivedTimestamp", "stageTimestamp"}
)
_MAX_YAML_BYTES = 8 << 20
_YAML_ALIAS = re.compile(r"(?:^|[\s:,\[{-])[&*][^\s,\[\]{}]")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Cheap columnar tests for "redaction might change this event" (RE2 syntax, on the ASCII-lowercased JSON line
# as written; `archive/columnar.py` sends matching events to `redact_event`). Each is a superset of what
# `redact_event` acts on: `MAY_REDACT_LINE` of `scrub.credential_hints` on the whole line (JSON whitespace
# allowed around `:`; `\u` and `\/` escapes are excluded by the caller) plus a Secret's objectRef, and
# `MAY_REDACT_URI` of `scrub.uri_may_hold_credentials` on the parsed requestURI.
_WS = r"[ \t\r\n]*"
_LINE_CONTEXT = r"[a-z]*(?:\\+\"|\\*')?(?:[ \t]|\\t)*[:=]"
MAY_REDACT_LINE = "|".join(
    [
        "eyj",
        "bearer",
        "basic",
        "://",
        '"secrets"',
        "(?:authorization|token|passw|passph|secret|key|signature|credential)" + _LINE_CONTEXT,
        f'(?:authorization|token|passw[a-z]*|passphrase|secret|(?:api|private|secret|access)[-_. ]?key|key[-_. ]?data)"{_WS}:{_WS}"',
        rf'kind\\*"{_WS}:{_WS}\\*"secret',
    ]
)
MAY_REDACT_URI = r"%|token|pass|secret|key|sig|auth|credential|eyj|bearer|basic|://"


def redact_event(event: dict[str, Any], *, assume_secret: bool = False) -> bool:
    """Redact `event` in place; return True when anything was replaced.

    `assume_secret` treats every body as a Secret's (used for quarantined input that mentions Secrets).
    """
    ref = event.get("objectRef")
    resource = ref.get("resource") if isinstance(ref, dict) else None
    secret_bodies = assume_secret or resource == "secrets"
    changed = False
    uri = event.get("requestURI")
    if isinstance(uri, str):
        clean = redact_uri(uri)
        if clean != uri:
            event["requestURI"] = clean
            changed = True
    text, structure = _mentions(event)
    if not (secret_bodies or text or structure):
        return changed
    for key, value in event.items():
        if key == "requestURI":
            continue
        if key in _BODIES:
            new, touched = _redact_body(value, secret_bodies, text)
        else:
            if key == "annotations" and secret_bodies and isinstance(value, dict):
                changed |= _redact_webhook_patches(value)
            new, touched = _walk(value, assume_secret, text)
        if touched:
            event[key] = new
            changed = True
    return changed


def redact_document(document: Any, *, assume_secret: bool = False) -> bool:
    """Redact any parsed JSON in place (an Event, an EventList, an array, or none of these)."""
    if isinstance(document, list):
        changed = False
        for item in document:
            changed |= redact_document(item, assume_secret=assume_secret)
        return changed
    if isinstance(document, dict):
        items = document.get("items")
        if document.get("kind") == "EventList" and isinstance(items, list):
            changed = redact_document(items, assume_secret=assume_secret)
            rest = {k: v for k, v in document.items() if k != "items"}
            if _walk(rest, assume_secret)[1]:
                document.update(rest)
                changed = True
            return changed
        changed = redact_event(document, assume_secret=assume_secret)
        # Not necessarily an event (a bare Secret, `kind: 0`, ...): walked as a body as well.
        return _walk(document, assume_secret)[1] or changed
    return False


def redact_uri(uri: str) -> str:
    """`uri` with credential query parameters and credential-shaped text (also URL-encoded) replaced."""
    if not uri_may_hold_credentials(uri):
        return uri
    path, question, query = uri.partition("?")
    clean = scrub_text(path)
    if not question:
        return clean
    params = query.split("&")
    for index, param in enumerate(params):
        name, equals, value = param.partition("=")
        if not equals or not value or value.startswith(MARK):
            continue
        if is_credential_param(unquote_plus(name)):
            params[index] = f"{name}={MARK}"
            continue
        decoded = unquote_plus(value) if ("%" in value or "+" in value) else value
        scrubbed = scrub_text(decoded)
        if scrubbed != decoded:
            encoded = MARK.join(quote_plus(part, safe="") for part in scrubbed.split(MARK))
            params[index] = f"{name}={encoded}"
    return clean + "?" + "&".join(params)


def _mentions(event: dict[str, Any]) -> tuple[bool, bool]:
    """(some string may hold a credential by shape, some object may be a Secret or a credential key)."""
    # Only values that can hold a credential: not the fields every event has (typed, or handled apart like
    # requestURI), nor annotation and user.extra keys ("authorization.k8s.io/decision", ".../credential-id").
    parts: list[Any] = [value for key, value in event.items() if key not in _PLAIN_FIELDS]
    annotations, user = event.get("annotations"), event.get("user")
    parts.append(list(annotations.values()) if isinstance(annotations, dict) else annotations)
    if isinstance(user, dict):
        parts.extend(v for k, v in user.items() if k != "extra")
        extra = user.get("extra")
        parts.append(list(extra.values()) if isinstance(extra, dict) else extra)
    else:
        parts.append(user)
    try:
        blob = jsontext.dumps_bytes(parts)
    except (TypeError, ValueError, RecursionError):  # not serialisable as is: look everywhere
        return True, True
    return credential_hints(blob)


def _redact_body(body: Any, secret: bool, text: bool) -> tuple[Any, bool]:
    if isinstance(body, str) and secret:
        return _redact_yaml(body)
    return _walk(body, secret, text)


def _walk(root: Any, secret: bool, text: bool = True) -> tuple[Any, bool]:
    """Redact a JSON value (iteratively: depth is the input's choice); strings are replaced, so return it.

    `text` False skips the lexical rules on strings (the caller knows no string can match them).
    """
    box = [root]
    stack: list[tuple[Any, Any, bool]] = [(box, 0, secret)]
    changed = False
    while stack:
        parent, key, in_secret = stack.pop()
        value = parent[key]
        if isinstance(value, str):
            if not text:
                continue
            clean = scrub_text(value)
            if clean is not value:
                parent[key] = clean
                changed = True
        elif isinstance(value, dict):
            kind = value.get("kind")
            is_secret = in_secret or kind == "Secret"
            items_secret = in_secret or kind == "SecretList"
            for k, v in value.items():
                if is_secret and k in _SECRET_FIELDS:
                    new, touched = _redact_values(v)
                elif k == _LAST_APPLIED and isinstance(v, str):
                    new, touched = _redact_embedded(v, is_secret)
                elif isinstance(v, str) and isinstance(k, str) and is_credential_key(k):
                    new, touched = (MARK, True) if v and v != MARK else (v, False)
                else:
                    stack.append((value, k, in_secret or (k == "items" and items_secret)))
                    continue
                if touched:
                    value[k] = new
                    changed = True
        elif isinstance(value, list):
            if in_secret:
                changed |= _redact_json_patch(value)
            stack.extend((value, index, in_secret) for index in range(len(value)))
    return box[0], changed


def _redact_values(values: Any) -> tuple[Any, bool]:
    """A Secret's `data`/`stringData`: every non-null value becomes MARK, keys stay."""
    if isinstance(values, dict):
        changed = False
        for key, value in values.items():
            if value is not None and value != MARK:
                values[key] = MARK
                changed = True
        return values, changed
    if values is None or values == MARK:
        return values, False
    return MARK, True


def _redact_json_patch(ops: list[Any]) -> bool:
    """JSON-patch operations against a Secret: values written under /data, /stringData or last-applied."""
    changed = False
    for op in ops:
        if not (isinstance(op, dict) and isinstance(op.get("path"), str) and "value" in op):
            continue
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in op["path"].split("/")[1:]]
        value = op["value"]
        if tokens and tokens[0] in _SECRET_FIELDS and len(tokens) == 1:
            new, touched = _redact_values(value)
        elif tokens and tokens[0] in _SECRET_FIELDS:
            new, touched = (MARK, True) if value is not None and value != MARK else (value, False)
        elif tokens and tokens[-1] == _LAST_APPLIED and isinstance(value, str):
            new, touched = _redact_embedded(value, True)
        else:
            continue  # the walk goes on into the value in Secret mode (a whole Secret, metadata, ...)
        if touched:
            op["value"] = new
            changed = True
    return changed


def _redact_embedded(text: str, secret: bool) -> tuple[str, bool]:
    """JSON held in a string (last-applied configuration): parsed, redacted, serialised again."""
    try:
        inner = jsontext.loads(text.encode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        clean, count = scrub_lexical(text, assume_secret=secret or "secret" in text.lower())
        return clean, count > 0
    inner, changed = _walk(inner, secret)
    if not changed:
        return text, False
    tail = "\n" if text.endswith("\n") else ""
    return jsontext.dumps(inner) + tail, True


def _redact_webhook_patches(annotations: dict[str, Any]) -> bool:
    """`patch.webhook.admission.k8s.io/round_N_index_M` and any other JSON annotation of a Secret's event."""
    changed = False
    for key, value in annotations.items():
        if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
            clean, touched = _redact_embedded(value, True)
            if touched:
                annotations[key] = clean
                changed = True
    return changed


def _redact_yaml(text: str) -> tuple[str, bool]:
    """A Secret's body given as text (an apply patch in YAML): parsed when plain YAML, else scrubbed lexically."""
    document: Any = None
    # Aliases could multiply the walk; MARK left by the lexical rules would read as a YAML list.
    if len(text) <= _MAX_YAML_BYTES and MARK not in text and not _YAML_ALIAS.search(text):
        try:
            document = yaml.load(text, Loader=_Loader)  # a safe loader (C when available)
        except (yaml.YAMLError, ValueError, RecursionError):
            document = None
    if isinstance(document, dict | list):
        document, changed = _walk(document, True)
        if not changed:
            return text, False
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True), True
    clean, count = scrub_lexical(text, assume_secret=True)
    return clean, count > 0
