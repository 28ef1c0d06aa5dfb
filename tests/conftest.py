"""Shared test helpers: where the third-party samples are, and a factory for valid audit Events."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "k8s-audit"

_counter = itertools.count()


@pytest.fixture(scope="module")
def no_fsync() -> Iterator[None]:
    """Skip fsync in a module that builds throw-away archives in tmp (durability is tests/archive's subject):
    building them becomes CPU-bound; what gets written and read is unchanged. Use it with
    `pytestmark = pytest.mark.usefixtures("no_fsync")`."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "fsync", lambda fd: None)
        yield


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data/k8s-audit, or skip the test with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"third-party samples not available at {path} (they live in ../shared, outside the repo)")
    return path


def make_event(ts: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid audit.k8s.io/v1 Event; keyword arguments replace top-level keys."""
    n = next(_counter)
    ts = ts or datetime(2026, 10, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=n)
    event: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": str(uuid.UUID(int=n + 1)),
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods",
        "verb": "list",
        "user": {"username": "alice@example.com", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.5"],
        "userAgent": "kubectl/v1.30.1 (linux/amd64) kubernetes/abc",
        "objectRef": {"resource": "pods", "namespace": "default", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "stageTimestamp": (ts + timedelta(milliseconds=3)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
    }
    event.update(overrides)
    return event


@pytest.fixture
def event_factory() -> Any:
    return make_event


# Two small stories the report and CLI tests share: what each finds is stated in its docstring.
STOLEN_SA = "system:serviceaccount:payments:payments-api"


def stolen_token(t0: datetime) -> list[dict[str, Any]]:
    """A service account's token used from a public address: one high and one low finding."""
    sa = {"username": STOLEN_SA, "groups": ["system:serviceaccounts", "system:authenticated"]}
    review = {"resource": "selfsubjectrulesreviews", "apiGroup": "authorization.k8s.io", "apiVersion": "v1"}
    return [
        make_event(t0, user=sa, sourceIPs=["45.155.205.233"], verb="list", requestURI="/api/v1/namespaces/payments/pods",
                   objectRef={"resource": "pods", "namespace": "payments", "apiVersion": "v1"}),
        make_event(t0 + timedelta(seconds=5), user=sa, sourceIPs=["45.155.205.233"], verb="create", objectRef=review,
                   requestURI="/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                   responseStatus={"metadata": {}, "code": 201}),
    ]  # fmt: skip


def secrets_listed(t: datetime) -> list[dict[str, Any]]:
    """A person listing every secret of the cluster: one high finding."""
    return [
        make_event(t, user={"username": "eve@acme.example", "groups": ["system:authenticated"]}, verb="list",
                   requestURI="/api/v1/secrets", sourceIPs=["10.0.0.9"], objectRef={"resource": "secrets", "apiVersion": "v1"})
    ]  # fmt: skip
