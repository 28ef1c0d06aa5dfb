"""Request templates: one precomputed request shape (who, what, where, how long) that emits Events fast."""

from __future__ import annotations

import random
from typing import Any

import orjson

from kanalytics.synth.cluster import User, make_uuid
from kanalytics.synth.events import (
    CREATED,
    OK,
    event,
    fmt_ts,
    object_ref,
    policy_level,
    resource_path,
)

# (requestReceived µs, stage rank, serialised line): sorting these tuples sorts the output by time.
Line = tuple[int, int, bytes]
# (path, objectRef or None, requestObject, responseObject)
Variant = tuple[str, dict[str, str] | None, Any, Any]

_dumps = orjson.dumps


class Template:
    """A request shape; `emit` turns it into one Event (two for a watch) at a given instant."""

    __slots__ = (
        "annotations", "code_status", "ips", "kind", "lat_lo", "lat_span", "level", "uas", "user", "variants", "verb",
    )  # fmt: skip

    def __init__(
        self,
        *,
        user: User,
        ips: list[list[str]],
        uas: list[str],
        verb: str,
        variants: list[Variant],
        annotations: dict[str, str],
        level: str,
        status: dict[str, Any] = OK,
        kind: str = "plain",
        latency_ms: tuple[float, float] = (1.0, 8.0),
    ) -> None:
        self.user, self.ips, self.uas, self.verb = user, ips, uas, verb
        self.variants, self.annotations, self.level, self.code_status = variants, annotations, level, status
        self.kind = kind  # plain | list | watch
        self.lat_lo = int(latency_ms[0] * 1000)
        self.lat_span = int((latency_ms[1] - latency_ms[0]) * 1000)

    @property
    def events_per_request(self) -> int:
        return 2 if self.kind == "watch" else 1

    def emit(self, rng: random.Random, t: int, out: list[Line]) -> None:
        rnd = rng.random
        variants = self.variants
        path, ref, req, resp = variants[int(rnd() * len(variants))] if len(variants) > 1 else variants[0]
        ips = self.ips[int(rnd() * len(self.ips))] if len(self.ips) > 1 else self.ips[0]
        ua = self.uas[int(rnd() * len(self.uas))] if len(self.uas) > 1 else self.uas[0]
        # a long-tailed latency: most requests are fast, a few take several times the typical span
        latency = self.lat_lo + int(rnd() ** 3 * self.lat_span)
        kind = self.kind
        rv = 100_000_000 + t // 40_000 % 3_000_000_000  # grows with time, about 25 per second
        if kind == "watch":
            timeout = 300 + int(rnd() * 300)
            uri = (
                f"{path}?allowWatchBookmarks=true&resourceVersion={rv}"
                f"&timeout={timeout // 60}m{timeout % 60}s&timeoutSeconds={timeout}&watch=true"
            )
        elif kind == "list":
            uri = f"{path}?limit=500&resourceVersion=0" if rnd() < 0.7 else f"{path}?limit=500"
        else:
            uri = path
        ev = event(
            level=self.level,
            audit_id=make_uuid(rng),
            stage="ResponseStarted" if kind == "watch" else "ResponseComplete",
            uri=uri,
            verb=self.verb,
            user=self.user,
            ips=ips,
            ua=ua,
            ref=ref,
            status=self.code_status,
            t_req=t,
            t_stage=t + latency,
            annotations=self.annotations,
            request_object=req,
            response_object=resp,
        )
        out.append((t, 0, _dumps(ev)))
        if kind == "watch":
            # the API server logs the end of a watch under the same auditID when the timeout expires
            ev["stage"] = "ResponseComplete"
            ev["stageTimestamp"] = fmt_ts(t + timeout * 1_000_000 + latency)
            out.append((t, 1, _dumps(ev)))


def resource_variants(
    resource: str,
    targets: list[tuple[str, str]],
    *,
    group: str = "",
    version: str = "v1",
    sub: str = "",
    bodies: dict[tuple[str, str], tuple[Any, Any]] | None = None,
) -> list[Variant]:
    """Variants for (namespace, name) targets; an empty name addresses the collection."""
    out: list[Variant] = []
    for namespace, name in targets:
        path = resource_path(resource, namespace, name, group, version)
        if sub:
            path += f"/{sub}"
        req, resp = (bodies or {}).get((namespace, name), (None, None))
        out.append((path, object_ref(resource, namespace, name, group, version, sub), req, resp))
    return out


def request(
    user: User,
    ips: list[str] | list[list[str]],
    ua: str | list[str],
    verb: str,
    resource: str,
    targets: list[tuple[str, str]],
    annotations: dict[str, str],
    *,
    group: str = "",
    version: str = "v1",
    sub: str = "",
    bodies: dict[tuple[str, str], tuple[Any, Any]] | None = None,
    status: dict[str, Any] | None = None,
    latency_ms: tuple[float, float] | None = None,
) -> Template:
    """The common case: a resource request whose level follows the audit policy."""
    ip_sets: list[list[str]] = [ips] if ips and isinstance(ips[0], str) else ips  # type: ignore[assignment]
    uas = [ua] if isinstance(ua, str) else ua
    kind = "watch" if verb == "watch" else "list" if verb == "list" else "plain"
    if status is None:
        status = CREATED if verb == "create" else OK
    if latency_ms is None:
        latency_ms = {"watch": (0.5, 3.0), "list": (3.0, 60.0)}.get(kind, (1.0, 8.0))
        if verb in ("create", "update", "patch", "delete"):
            latency_ms = (4.0, 30.0)
    variants = resource_variants(resource, targets, group=group, version=version, sub=sub, bodies=bodies)
    return Template(
        user=user,
        ips=ip_sets,
        uas=uas,
        verb=verb,
        variants=variants,
        annotations=annotations,
        level=policy_level(verb, group, resource, sub),
        status=status,
        kind=kind,
        latency_ms=latency_ms,
    )


def non_resource(
    user: User, ips: list[str], ua: str | list[str], paths: list[str], annotations: dict[str, str]
) -> Template:
    """Discovery and version requests: verb get, no objectRef."""
    return Template(
        user=user,
        ips=[ips],
        uas=[ua] if isinstance(ua, str) else ua,
        verb="get",
        variants=[(p, None, None, None) for p in paths],
        annotations=annotations,
        level="Metadata",
        latency_ms=(0.3, 3.0),
    )
