"""What each sink type receives for an alert (Falcosidekick-shaped webhook, Alertmanager v2, Slack) and one POST.

Payload builders are pure functions of an Alert; `build_request` adds the address and headers (reading secrets
when they are used), and `send` makes one POST and says how it ended. Text from audit logs is data here: it is
JSON-encoded for webhook and Alertmanager, and escaped for Slack's mrkdwn so that it cannot mention anyone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from kanalytics._version import __version__
from kanalytics.config import AlertSink, read_secret
from kanalytics.outputs.alerts.model import Alert, Outcome, Request
from kanalytics.outputs.http import netloc, read_bounded, retry_after
from kanalytics.sources import jsontext
from kanalytics.textsafe import escape_json_text, visible

# kanalytics severity -> Falco priority. Falco has eight priorities; its own rules use Informational for routine
# activity, Notice and Warning for suspicious changes, Error and Critical for the gravest, and never Alert or
# Emergency. One step per severity keeps the order, so Falcosidekick's `minimumpriority` filters mean the same.
FALCO_PRIORITY: dict[str, str] = {
    "critical": "Critical",
    "high": "Error",
    "medium": "Warning",
    "low": "Notice",
    "info": "Informational",
}
ALERTMANAGER_PATH = "/api/v2/alerts"
# Alertmanager resolves an alert at `endsAt`; kanalytics never sends a "resolved" update, so an alert stays
# firing this long after it was sent (the default dedup window: a repeat within it does not fire again).
ALERTMANAGER_ACTIVE = timedelta(hours=1)
SLACK_TEXT_LIMIT = 3000  # a section's text, a context element, the fallback `text`
SLACK_FIELD_LIMIT = 2000  # one section field
SLACK_HEADER_LIMIT = 150  # a header block's plain_text
SLACK_MAX_FIELDS = 10
RESPONSE_CHARS = 500  # of a response body kept in an Outcome
MAX_BODY_READ = 64 * 1024  # of a response body read at all
MISSING = "<NA>"  # what Falco prints for a field without a value
_LABEL_NAME = re.compile(r"[^A-Za-z0-9_]")
_SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def rfc3339_nanos(ts: datetime) -> str:
    """`ts` in UTC as Falco writes times: RFC 3339 with nine fractional digits."""
    ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + f".{ts.microsecond:06d}000Z"


def _first(alert: Alert) -> dict[str, Any]:
    return alert.findings[0] if alert.findings else {}


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def identity(alert: Alert) -> str | None:
    """Who the alert is about: its dedup identity, else its first finding's user."""
    return _text(alert.dedup.get("user_name")) or _text(_first(alert).get("user_name"))


def _facts(alert: Alert) -> dict[str, str | None]:
    """The who/what/where of the alert's first finding (user, verb, resource, namespace, name, address)."""
    first = _first(alert)
    return {
        "user": identity(alert),
        "verb": _text(first.get("verb")),
        "resource": _text(first.get("resource")),
        "namespace": _text(first.get("namespace")),
        "name": _text(first.get("object_name")),
        "source_ip": _text(first.get("source_ip")),
        "audit_id": _text(first.get("audit_id")),
    }


def output_line(alert: Alert) -> str:
    """One line like Falco's `output`: time, priority, title and the fields, controls made visible."""
    facts = _facts(alert)

    def shown(value: str | None) -> str:
        return MISSING if value is None else visible(value)

    line = (
        f"{rfc3339_nanos(alert.first_ts)}: {FALCO_PRIORITY.get(alert.severity, 'Notice')} {visible(alert.title)} "
        f"(user={shown(facts['user'])} verb={shown(facts['verb'])} resource={shown(facts['resource'])} "
        f"ns={shown(facts['namespace'])} name={shown(facts['name'])} cluster={shown(alert.cluster)})"
    )
    if alert.count > 1:
        line += f" ({alert.count} findings)"
    return line


def webhook_payload(alert: Alert, sink: AlertSink, *, hostname: str) -> dict[str, Any]:
    """Falcosidekick's input (types.FalcoPayload), with output_fields named as Falco's k8saudit plugin names them."""
    facts = _facts(alert)
    fields: dict[str, Any] = {
        "ka.auditid": facts["audit_id"],
        "ka.user.name": facts["user"],
        "ka.verb": facts["verb"],
        "ka.target.resource": facts["resource"],
        "ka.target.namespace": facts["namespace"],
        "ka.target.name": facts["name"],
        # a list field in the plugin; kanalytics keeps the client address (the last of sourceIPs)
        "ka.sourceips": [facts["source_ip"]] if facts["source_ip"] else None,
        "kanalytics.query_id": alert.query_id,
        "kanalytics.severity": alert.severity,
        "kanalytics.area": alert.area,
        "kanalytics.cluster": alert.cluster,
        "kanalytics.count": alert.count,
        "kanalytics.summary": alert.summary,
    }
    tags = ["k8s", alert.area, *alert.mitre, *(f"{k}={v}" for k, v in sorted(sink.labels.items()))]
    return {
        "uuid": alert.id,
        "output": output_line(alert),
        "priority": FALCO_PRIORITY.get(alert.severity, "Notice"),
        "rule": alert.title,
        "time": rfc3339_nanos(alert.first_ts),
        "output_fields": fields,
        "source": "k8s_audit",
        "tags": tags,
        "hostname": hostname,
    }


def _label_name(name: str) -> str:
    """A valid Prometheus label name ([A-Za-z_][A-Za-z0-9_]*) for a configured label key."""
    cleaned = _LABEL_NAME.sub("_", name)
    return cleaned if cleaned[:1].isalpha() or cleaned[:1] == "_" else "_" + cleaned


def alertmanager_payload(
    alert: Alert, sink: AlertSink, *, link: str | None, sent_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Alertmanager v2 `postableAlerts` (one alert). Labels identify it; sink labels never replace them.

    `endsAt` is ALERTMANAGER_ACTIVE after the later of the alert's creation and `sent_at`, so that a delivery
    that succeeds late (after retries) still arrives firing."""
    labels: dict[str, str] = {_label_name(k): str(v) for k, v in sink.labels.items()}
    who = identity(alert)
    labels.update(
        {
            "alertname": alert.query_id,
            "rule": alert.title,
            "severity": alert.severity,
            "area": alert.area,
            **({"cluster": alert.cluster} if alert.cluster else {}),
            **({"identity": who} if who else {}),
        }
    )
    annotations = {"summary": alert.summary, "description": alert.description, "count": str(alert.count)}
    if alert.runbook:
        annotations["runbook"] = alert.runbook
    sent = max(alert.created_at, sent_at or alert.created_at)
    record: dict[str, Any] = {
        "labels": labels,
        "annotations": annotations,
        "startsAt": rfc3339_nanos(alert.first_ts),
        "endsAt": rfc3339_nanos(sent + ALERTMANAGER_ACTIVE),
    }
    generator = alert.link or link
    if generator:
        record["generatorURL"] = generator
    return [record]


def mrkdwn(text: str) -> str:
    """`text` as Slack mrkdwn shows it literally: `&`, `<`, `>` escaped (so `<!channel>` mentions nobody), control
    and bidi characters made visible."""
    return visible(text).translate(_SLACK_ESCAPES)


def clip(text: str, limit: int, *, escape: bool = True) -> str:
    """`text` (escaped for mrkdwn unless `escape` is false) in at most `limit` characters; when it does not fit,
    it is cut at the end and says how many characters of the original were cut. Never cuts an escape apart."""
    shown = mrkdwn(text) if escape else text
    if len(shown) <= limit:
        return shown
    source = visible(text) if escape else text
    budget = limit - len(f"… ({len(source)} characters cut)")
    kept, used = 0, 0
    for char in source:
        width = len(char.translate(_SLACK_ESCAPES)) if escape else 1
        if used + width > budget:
            break
        kept, used = kept + 1, used + width
    head = source[:kept].translate(_SLACK_ESCAPES) if escape else source[:kept]
    return f"{head}… ({len(source) - kept} characters cut)"


def _mrkdwn_text(text: str, limit: int = SLACK_TEXT_LIMIT) -> dict[str, Any]:
    # verbatim: Slack does not link-ify names or parse mentions in it (the escaping already keeps `<!...>` out)
    return {"type": "mrkdwn", "text": text[:limit], "verbatim": True}


def _field(label: str, value: str | None) -> dict[str, Any]:
    return _mrkdwn_text(
        f"*{label}*\n" + clip(value or "-", SLACK_FIELD_LIMIT - len(label) - 3), SLACK_FIELD_LIMIT
    )


def _link(url: str) -> str:
    """A configured URL inside Slack's `<url|label>`: the characters that would end the link percent-encoded."""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def slack_payload(alert: Alert, sink: AlertSink, *, link: str | None) -> dict[str, Any]:
    """An incoming-webhook message: a header (severity, title), a section (summary; who, what, where, when) and a
    context line (query, cluster, count, runbook, link). Every text fits Slack's limits."""
    facts = _facts(alert)
    what = " ".join(v for v in (facts["verb"], facts["resource"]) if v) or None
    where = "/".join(v for v in (facts["namespace"], facts["name"]) if v) or None
    when = rfc3339_nanos(alert.first_ts)
    if alert.count > 1:
        when += f" … {rfc3339_nanos(alert.last_ts)}"
    fields = [
        _field("Who", facts["user"]),
        _field("What", what),
        _field("Where", where),
        _field("When", when),
        _field("Cluster", alert.cluster),
        _field("Source IP", facts["source_ip"]),
    ][:SLACK_MAX_FIELDS]
    context = [
        f"query `{mrkdwn(alert.query_id)}`",
        f"cluster {mrkdwn(alert.cluster or '-')}",
        f"{alert.count} finding{'s' if alert.count != 1 else ''}",
    ]
    if alert.runbook:
        context.append("runbook: `" + clip(alert.runbook.replace("`", "'"), SLACK_TEXT_LIMIT - 11) + "`")
    target = alert.link or link
    if target:
        context.append(f"<{_link(target)}|open>")
    header = visible(f"{alert.severity.upper()}: {alert.title}")
    if len(header) > SLACK_HEADER_LIMIT:
        header = header[: SLACK_HEADER_LIMIT - 1] + "…"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}},
        {"type": "section", "text": _mrkdwn_text(clip(alert.summary, SLACK_TEXT_LIMIT)), "fields": fields},
        {"type": "context", "elements": [_mrkdwn_text(text) for text in context]},
    ]
    fallback = clip(f"[{alert.severity}] {alert.title}: {alert.summary}", SLACK_TEXT_LIMIT)
    return {"text": fallback, "blocks": blocks}


def _address(sink: AlertSink) -> str:
    if sink.url is not None:
        url = sink.url
    else:
        assert sink.url_secret is not None  # AlertSink holds exactly one of them
        url = read_secret(sink.url_secret, f"sink {sink.name!r} URL")
    if sink.type == "alertmanager" and not url.rstrip("/").endswith(ALERTMANAGER_PATH):
        url = url.rstrip("/") + ALERTMANAGER_PATH
    return url


def build_request(
    alert: Alert, sink: AlertSink, *, hostname: str, link: str | None, sent_at: datetime | None = None
) -> Request:
    """The POST `sink` makes of `alert`. Raises ConfigError (naming the sink, never the value) when a secret
    cannot be read."""
    body: Any
    if sink.type == "webhook":
        body = webhook_payload(alert, sink, hostname=hostname)
    elif sink.type == "alertmanager":
        body = alertmanager_payload(alert, sink, link=link, sent_at=sent_at)
    else:
        body = slack_payload(alert, sink, link=link)
    headers = {"Content-Type": "application/json", "User-Agent": f"kanalytics/{__version__}"}
    if sink.token is not None:
        headers["Authorization"] = "Bearer " + read_secret(sink.token, f"sink {sink.name!r} token")
    encoded = escape_json_text(jsontext.dumps(body)).encode("utf-8")
    return Request(url=_address(sink), body=encoded, headers=headers)


def clean_response(text: str, limit: int = RESPONSE_CHARS) -> str:
    """The start of a response body for a record: control characters removed, at most `limit` characters."""
    kept = "".join(ch for ch in text[: limit * 2] if ch.isprintable() or ch == " ")
    return kept[:limit]


def _scrub(message: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "<redacted>")
    return message


def _network_failure(request: Request, exc: Exception) -> Outcome:
    """A retry naming the host and the kind of failure; the URL's path and query and the headers are secrets."""
    parts = urlsplit(request.url)
    secrets = [request.url, parts.query, parts.path if len(parts.path) > 1 else ""]
    authorization = request.headers.get("Authorization", "")
    secrets += [authorization, authorization.split(" ", 1)[-1]]  # "Bearer <token>" and the token
    detail = clean_response(_scrub(str(exc), sorted(set(secrets), key=len, reverse=True)), 200)
    reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return Outcome("retry", None, f"{reason} (POST to {netloc(request.url)})")


def send(client: httpx.Client, request: Request, *, timeout: float) -> Outcome:
    """POST `request` once, without following redirects: 2xx delivered; 429, 5xx and network errors retry (after
    Retry-After when given); any other status is dead. Reads at most MAX_BODY_READ bytes of the response."""
    deadline = time.monotonic() + timeout
    try:
        with client.stream(
            "POST",
            request.url,
            content=request.body,
            headers=request.headers,
            timeout=timeout,
            follow_redirects=False,
        ) as response:
            status = response.status_code
            body = clean_response(read_bounded(response, MAX_BODY_READ, deadline).decode("utf-8", "replace"))
            wait = retry_after(response.headers.get("retry-after"))
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return _network_failure(request, exc)
    text = f"HTTP {status}: {body}" if body else f"HTTP {status}"
    if 200 <= status < 300:
        return Outcome("delivered", status, text)
    if status == 429 or status >= 500:
        return Outcome("retry", status, text, wait)
    return Outcome("dead", status, text)
