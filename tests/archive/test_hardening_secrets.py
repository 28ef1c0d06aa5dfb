"""No Secret value, token or credential of the input is stored anywhere under the archive (quarantine included).

A corpus plants a unique marker in every shape a credential reaches an audit log in (raw and base64-encoded),
ingests it, then scans every byte under the archive root: Parquet columns read back as text, quarantine files
decompressed (and their base64 records decoded), manifests and anything else as raw bytes.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import zstandard

import kanalytics
from kanalytics.archive.quarantine import read_quarantine
from kanalytics.archive.redact import REDACTED, redact_event, redact_uri
from kanalytics.archive.scrub import scrub_lexical
from tests.conftest import make_event

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SECRET_REF = {"resource": "secrets", "namespace": "default", "name": "db", "apiVersion": "v1"}


class Corpus:
    """Markers planted in events and raw lines; each marker is scanned for raw and base64-encoded."""

    def __init__(self) -> None:
        self.markers: dict[str, str] = {}  # marker -> the shape it was planted in
        self.events: list[dict[str, Any]] = []
        self.bad_lines: list[bytes] = []

    def mark(self, shape: str) -> str:
        marker = "kx" + secrets.token_hex(10)
        self.markers[marker] = shape
        return marker

    def b64(self, shape: str) -> str:
        return base64.b64encode(self.mark(shape).encode()).decode()

    def secret(self, shape: str, **extra: Any) -> dict[str, Any]:
        return {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "db", "namespace": "default"},
            "type": "Opaque",
            "data": {"password": self.b64(shape + " data"), "user": self.b64(shape + " data")},
            "stringData": {"token": self.mark(shape + " stringData")},
            **extra,
        }

    def event(self, **fields: Any) -> None:
        self.events.append(make_event(level="RequestResponse", **fields))


def build_corpus() -> Corpus:
    c = Corpus()
    # Secret bodies: create/update (request and response), SecretList, generic List, Table, watch events
    c.event(
        verb="create", objectRef=SECRET_REF, requestObject=c.secret("create"), responseObject=c.secret("resp")
    )
    c.event(verb="update", objectRef=SECRET_REF, requestObject=c.secret("update"))
    items = [{k: v for k, v in c.secret(f"list item {n}").items() if k != "kind"} for n in range(3)]
    c.event(verb="list", objectRef=SECRET_REF, responseObject={"kind": "SecretList", "items": items})
    c.event(
        verb="list",
        objectRef={"resource": "configmaps", "apiVersion": "v1"},
        responseObject={"kind": "List", "apiVersion": "v1", "items": [c.secret("generic List")]},
    )
    c.event(
        verb="list",
        requestURI="/api/v1/namespaces/default/secrets?includeObject=Object",
        objectRef=SECRET_REF,
        responseObject={
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "columnDefinitions": [{"name": "Name", "type": "string"}, {"name": "Data", "type": "string"}],
            "rows": [
                {"cells": ["db", 2], "object": c.secret("table row")},
                {"cells": ["kindless", 1], "object": {"data": {"k": c.b64("table kindless")}}},
            ],
        },
    )
    c.event(verb="watch", objectRef=SECRET_REF, responseObject={"type": "ADDED", "object": c.secret("watch")})
    c.event(
        verb="watch",
        objectRef={"resource": "pods", "apiVersion": "v1"},
        responseObject=[{"type": "MODIFIED", "object": c.secret("watch list")}],
    )
    # the last-applied annotation carries the whole Secret again
    applied = json.dumps(c.secret("last-applied")) + "\n"
    annotated = c.secret("annotated")
    annotated["metadata"]["annotations"] = {LAST_APPLIED: applied}
    c.event(verb="create", objectRef=SECRET_REF, requestObject=annotated)
    # patches of a Secret: JSON patch, merge patch, strategic merge patch, apply patch (JSON and YAML text)
    c.event(
        verb="patch",
        objectRef=SECRET_REF,
        requestObject=[
            {"op": "replace", "path": "/data/password", "value": c.b64("json patch /data/x")},
            {"op": "test", "path": "/stringData/token", "value": c.mark("json patch test op")},
            {"op": "add", "path": "/data", "value": {"k": c.b64("json patch /data")}},
            {
                "op": "replace",
                "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
                "value": json.dumps(c.secret("json patch last-applied")),
            },
            {
                "op": "add",
                "path": "/metadata/annotations",
                "value": {LAST_APPLIED: json.dumps(c.secret("anns"))},
            },
            {"op": "replace", "path": "", "value": c.secret("json patch whole object")},
        ],
    )
    c.event(verb="patch", objectRef=SECRET_REF, requestObject={"data": {"k": c.b64("merge"), "gone": None}})
    c.event(
        verb="patch",
        objectRef=SECRET_REF,
        requestObject={"stringData": {"k": c.mark("strategic")}, "$retainKeys": ["stringData"]},
    )
    c.event(verb="patch", objectRef=SECRET_REF, requestObject={"apiVersion": "v1", **c.secret("apply json")})
    yaml_body = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
        f"data:\n  password: {c.b64('apply yaml')}\nstringData:\n  config: |\n    user: admin\n"
        f"    pass: {c.mark('apply yaml block')}\n"
    )
    c.event(verb="patch", objectRef=SECRET_REF, requestObject=yaml_body)
    c.event(
        verb="patch", objectRef=SECRET_REF, requestObject="data: {k: " + c.mark("apply flow yaml") + "}\n"
    )
    c.event(
        verb="patch",
        objectRef=SECRET_REF,
        requestObject=f"kind: Secret\ndata:\n  a: &x {c.mark('yaml with alias')}\n  b: *x\n",
    )
    # a mutating webhook's patch of a Secret, recorded in the event's annotations
    webhook = {
        "configuration": "inject",
        "webhook": "inject.example.com",
        "patch": [{"op": "add", "path": "/data/injected", "value": c.b64("webhook patch")}],
        "patchType": "JSONPatch",
    }
    annotations = {
        "authorization.k8s.io/decision": "allow",
        "patch.webhook.admission.k8s.io/round_0_index_0": "",
    }
    annotations["patch.webhook.admission.k8s.io/round_0_index_0"] = json.dumps(webhook)
    c.event(verb="create", objectRef=SECRET_REF, requestObject={"kind": "Secret"}, annotations=annotations)
    # tokens: TokenReview, TokenRequest (serviceaccounts/token), bearer tokens and JWTs anywhere
    review = {"kind": "TokenReview", "spec": {"token": c.mark("tokenreview")}}
    c.event(
        verb="create",
        objectRef={"resource": "tokenreviews", "apiGroup": "authentication.k8s.io", "apiVersion": "v1"},
        requestObject=review,
        responseObject={**review, "spec": {"token": c.mark("tokenreview response")}, "status": {}},
    )
    c.event(
        verb="create",
        objectRef={
            "resource": "serviceaccounts",
            "subresource": "token",
            "namespace": "default",
            "name": "app",
        },
        requestObject={"kind": "TokenRequest", "spec": {"audiences": ["api"], "expirationSeconds": 3600}},
        responseObject={
            "kind": "TokenRequest",
            "spec": {"audiences": ["api"]},
            "status": {"token": c.mark("tokenrequest"), "expirationTimestamp": "2026-10-01T13:00:00Z"},
        },
    )
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0." + c.mark("jwt in a configmap")
    c.event(
        verb="create",
        objectRef={"resource": "configmaps", "namespace": "default", "apiVersion": "v1"},
        requestObject={"kind": "ConfigMap", "data": {"kubeconfig": f"users:\n- user:\n    token: {jwt}\n"}},
        responseStatus={"code": 401, "message": "Authorization: Bearer " + c.mark("bearer in message")},
        debugHeaders={"Authorization": "Basic " + c.b64("unknown top-level field")},
    )
    # credentials in requestURI query strings, exec and proxy URIs, any case, URL-encoded
    for uri in (
        "/api/v1/namespaces/default/services/http:web:80/proxy/login?token={}",
        "/api/v1/namespaces/default/pods/web:8080/proxy/cb?state=1&access_token={}&x=2",
        "/api/v1/namespaces/default/services/web/proxy/?ID_TOKEN={}",
        "/api/v1/namespaces/default/services/web/proxy/?%61ccess%5Ftoken={}",
        "/api/v1/namespaces/default/services/web/proxy/?client_secret={}&refresh_token={}&password={}",
        "/api/v1/namespaces/default/pods/web/exec?command=curl&command=-H&command=Authorization%3A+Bearer+{}",
        "/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=mysql+--password%3D{}",
        "/api/v1/namespaces/default/services/web/proxy/?next=https%3A%2F%2Fu%3A{}%40db.example%2F",
    ):
        marks = [c.mark("uri " + uri) for _ in range(uri.count("{}"))]
        c.event(verb="get", requestURI=uri.format(*marks), objectRef={"resource": "services"})
    # quarantined lines: parse failures, not-an-event documents, non-UTF-8, a Secret list on one line
    whole = make_event(level="RequestResponse", objectRef=SECRET_REF, requestObject=c.secret("truncated"))
    text = json.dumps(whole)
    cut = text.index('"stringData": {"token": "') + len('"stringData": {"token": "') + 22
    c.bad_lines.append(
        text[:cut].encode()
    )  # cut inside a value: the marker is whole, its closing quote is not
    missing = {k: v for k, v in make_event(objectRef=SECRET_REF).items() if k != "auditID"}
    c.bad_lines.append(json.dumps({**missing, "requestObject": c.secret("not an event")}).encode())
    c.bad_lines.append(json.dumps(c.secret("bare secret, not an event")).encode())
    garbled = make_event(objectRef=SECRET_REF, requestObject=annotated | {"data": {"k": c.b64("garbled")}})
    c.bad_lines.append(json.dumps(garbled).encode() + b"}}garbage")
    c.bad_lines.append(
        b'{"requestURI": "/x?token='
        + c.mark("not utf-8").encode()
        + b'", "\xff\xfe": "Bearer '
        + c.mark("not utf-8 bearer").encode()
        + b'", "kind": "Secret", "data": {"k": "'
        + c.b64("not utf-8 data").encode()
        + b'"}'
    )
    c.bad_lines.append(
        b'{"kind":"TokenReview","spec":{"token":"' + c.mark("broken tokenreview").encode() + b'"}, oops}'
    )
    listed = {"kind": "SecretList", "items": [{"data": {"k": c.b64(f"listed {n}")}} for n in range(200)]}
    c.bad_lines.append(json.dumps(make_event(objectRef=SECRET_REF, responseObject=listed))[:-1].encode())
    return c


def scan_archive(root: Path) -> bytes:
    """Every byte under `root`, with Parquet columns as text and quarantine files decompressed and decoded."""
    parts: list[bytes] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        parts.append(data)
        if path.name.endswith(".parquet"):
            table = pq.read_table(path)
            for column in table.column_names:
                parts.append(repr(table[column].to_pylist()).encode())
        elif path.name.endswith(".zst"):
            parts.append(zstandard.ZstdDecompressor().stream_reader(data).read())
            for record in read_quarantine(path):
                if "raw_base64" in record:
                    parts.append(base64.b64decode(record["raw_base64"]))
    return b"\n".join(parts)


def found_markers(corpus: Corpus, blob: bytes) -> set[str]:
    found = set()
    for marker in corpus.markers:
        if marker.encode() in blob or base64.b64encode(marker.encode()) in blob:
            found.add(marker)
    return found


def ingest_corpus(tmp_path: Path, corpus: Corpus, *, redact: bool) -> tuple[Any, Path]:
    lines = [json.dumps(e).encode() for e in corpus.events] + corpus.bad_lines
    source = tmp_path / "audit.log"
    source.write_bytes(b"\n".join(lines) + b"\n")
    root = tmp_path / ("redacted" if redact else "plain")
    summary = kanalytics.open_archive(root).ingest([source], redact=redact)
    return summary, root


def test_no_planted_secret_reaches_the_archive(tmp_path: Path) -> None:
    corpus = build_corpus()
    summary, root = ingest_corpus(tmp_path, corpus, redact=True)
    assert (summary.archived, summary.quarantined) == (len(corpus.events), len(corpus.bad_lines))
    leaked = found_markers(corpus, scan_archive(root))
    assert {corpus.markers[m] for m in leaked} == set()
    assert summary.redacted == len(corpus.events)


def test_without_redaction_every_planted_secret_is_kept(tmp_path: Path) -> None:
    """The scan can fail: with --no-redact the same corpus leaves every marker in the archive."""
    corpus = build_corpus()
    assert len(corpus.markers) > 250
    _, root = ingest_corpus(tmp_path, corpus, redact=False)
    missing = set(corpus.markers) - found_markers(corpus, scan_archive(root))
    assert {corpus.markers[m] for m in missing} == set()


def test_keys_structure_and_non_secrets_are_kept(tmp_path: Path) -> None:
    legacy = {"authentication.k8s.io/legacy-token": "system:serviceaccount:default:app"}
    events = [
        make_event(
            level="RequestResponse",
            verb="create",
            objectRef=SECRET_REF,
            requestObject={
                "kind": "Secret",
                "metadata": {"name": "db"},
                "type": "Opaque",
                "data": {"pw": "eA=="},
            },
        ),
        make_event(
            level="Request",
            verb="create",
            objectRef={"resource": "configmaps", "namespace": "default"},
            requestObject={
                "kind": "ConfigMap",
                "data": {"db": "host=db.internal", "mode": "invalid bearer token"},
            },
            user={
                "username": "alice",
                "extra": {"authentication.kubernetes.io/credential-id": ["JTI=abc-123"]},
            },
            annotations=legacy,
        ),
        make_event(
            requestURI="/api/v1/namespaces/kube-system/pods/p/exec?command=cat&command="
            "%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken&container=c",
            objectRef={"resource": "pods", "subresource": "exec", "namespace": "kube-system", "name": "p"},
            requestObject={"spec": {"automountServiceAccountToken": False, "serviceAccountName": "token"}},
        ),
    ]
    expected = json.loads(json.dumps(events))
    archive = kanalytics.open_archive(tmp_path / "a")
    summary = archive.ingest_events(events)
    assert summary.redacted == 1
    stored = archive.sql(
        "SELECT request_object, request_uri, user_extra, annotations FROM events ORDER BY audit_id"
    )
    secret, configmap, exec_ = stored.rows()
    assert json.loads(secret[0]) == {**expected[0]["requestObject"], "data": {"pw": REDACTED}}
    assert json.loads(configmap[0]) == expected[1]["requestObject"]  # ConfigMap values are not redacted
    assert json.loads(configmap[2]) == expected[1]["user"]["extra"]  # an id, not a credential
    assert json.loads(configmap[3]) == legacy
    assert exec_[1] == expected[2]["requestURI"] and json.loads(exec_[0]) == expected[2]["requestObject"]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/x?token=abc&limit=5", f"/x?token={REDACTED}&limit=5"),
        ("/x?%61ccess%5Ftoken=abc", f"/x?%61ccess%5Ftoken={REDACTED}"),
        (
            "/x?X-Amz-Signature=abc&X-Amz-Security-Token=def",
            f"/x?X-Amz-Signature={REDACTED}&X-Amz-Security-Token={REDACTED}",
        ),
        (
            "/p/exec?command=curl&command=-H&command=Authorization%3A+Bearer+abc1",
            f"/p/exec?command=curl&command=-H&command=Authorization%3A+Bearer+{REDACTED}",
        ),
        (
            "/api/v1/namespaces/default/pods?limit=500&resourceVersion=0",
            "/api/v1/namespaces/default/pods?limit=500&resourceVersion=0",
        ),
        (
            "/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Fservice-account-token",
            "/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Fservice-account-token",
        ),
    ],
)
def test_request_uri_credentials(uri: str, expected: str) -> None:
    assert redact_uri(uri) == expected


def test_redaction_is_idempotent_and_counts_once() -> None:
    corpus = build_corpus()
    for event in corpus.events:
        assert redact_event(event) is True
        snapshot = json.dumps(event)
        assert redact_event(event) is False, snapshot
        assert json.dumps(event) == snapshot


def test_quarantine_records_say_what_was_removed(tmp_path: Path) -> None:
    secret = {"kind": "Secret", "data": {"password": "aHVudGVyMg=="}}
    event = make_event(objectRef=SECRET_REF, requestObject=secret)
    unparsed = json.dumps(event)[:-3]
    not_an_event = json.dumps({k: v for k, v in event.items() if k != "stage"})
    source = tmp_path / "bad.log"
    source.write_text(json.dumps(make_event()) + "\n" + unparsed + "\n" + not_an_event + "\n")
    archive = kanalytics.open_archive(tmp_path / "a")
    summary = archive.ingest([source])
    assert (summary.archived, summary.quarantined) == (1, 2)
    first, second = read_quarantine(tmp_path / "a" / summary.quarantine_file)
    offset = unparsed.index("aHVudGVyMg==")
    assert first["redaction"] == {"method": "lexical", "spans": 1}
    head, placeholder = first["raw"][:offset], first["raw"][offset:].split('"')[0]
    assert head == unparsed[:offset]  # everything before the value is kept as it was
    assert re.fullmatch(rf"\[REDACTED by kanalytics: 12 bytes at {offset}, #[0-9a-f]{{8}}\]", placeholder)
    assert first["raw"][offset + len(placeholder) :] == unparsed[offset + 12 :]
    assert second["redaction"] == {"method": "parsed"}
    assert json.loads(second["raw"])["requestObject"] == {"kind": "Secret", "data": {"password": REDACTED}}
    assert "missing required field(s) stage" in second["reason"]


def test_quarantine_keeps_raw_bytes_without_redaction(tmp_path: Path) -> None:
    line = json.dumps(make_event(objectRef=SECRET_REF, requestObject={"data": {"k": "djE="}}))[:-3]
    source = tmp_path / "bad.log"
    source.write_text(json.dumps(make_event()) + "\n" + line + "\n")
    archive = kanalytics.open_archive(tmp_path / "a")
    summary = archive.ingest([source], redact=False)
    (record,) = read_quarantine(tmp_path / "a" / summary.quarantine_file)
    assert record["raw"] == line and "redaction" not in record


def test_same_value_same_hash_within_a_quarantine_file(tmp_path: Path) -> None:
    line = '{"kind":"Secret","data":{"a":"c2FtZQ==","b":"c2FtZQ==","c":"b3RoZXI="}'  # unterminated
    source = tmp_path / "bad.log"
    source.write_text(json.dumps(make_event()) + "\n" + line + "\n")
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    (record,) = read_quarantine(tmp_path / "a" / summary.quarantine_file)
    hashes = [part.split("#")[1][:8] for part in record["raw"].split("[REDACTED")[1:]]
    assert hashes[0] == hashes[1] != hashes[2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"data":{"k":"v1","n":null,"o":{"x":"}"}},"z":1', '{"data":{"k":"#","n":null,"o":#},"z":1'),
        ('"a":"{\\"data\\":{\\"k\\":\\"v\\\\\\"1\\"}}"', '"a":"{\\"data\\":{\\"k\\":\\"#\\"}}"'),
        ("data:\n  k: v1\n  c: |\n    line\nkind: Secret", "data:\n  k: #\n  c: #\n    #\nkind: Secret"),
        ("invalid bearer token; Bearer abc.DEF-1", "invalid bearer token; Bearer #"),
        ("--password=x1 token: true https://u:p1@h/", "--password=# token: true https://u:#@h/"),
    ],
)
def test_lexical_rules(text: str, expected: str) -> None:
    assert scrub_lexical(text, assume_secret=False, mark=lambda _s, _at: "#")[0] == expected
