"""TLS, client certificates (mTLS) and the Kinesis Data Firehose endpoint, against a real server."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

import kanalytics
from kanalytics.sources import eks, jsontext
from tests.serve.certs import make_certs
from tests.serve.conftest import TOKEN, archived, event_list, events

FIXTURES = Path(__file__).parents[1] / "sources" / "fixtures"
QUICK = ("--flush-seconds", "3600", "--flush-events", "1000000")


def test_tls_with_a_generated_certificate(receiver_factory: Any, tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    tls = ("--tls-cert", str(certs["server_cert"]), "--tls-key", str(certs["server_key"]))
    receiver = receiver_factory(
        *tls, *QUICK, scheme="https", client={"verify": ssl.create_default_context(cafile=str(certs["ca"]))}
    )
    batch = events(10)
    assert receiver.post(event_list(batch)).status_code == 200
    with pytest.raises(httpx.TransportError):  # plain HTTP to the TLS port gets no answer
        httpx.get(f"http://127.0.0.1:{receiver.port}/healthz", timeout=5)
    with pytest.raises(httpx.ConnectError):  # and a client that does not trust the CA refuses it
        httpx.get(f"{receiver.url}/healthz", timeout=5)
    assert receiver.stop() == 0
    assert archived(receiver.archive) == sorted(e["auditID"] for e in batch)


def test_mtls_requires_a_client_certificate_signed_by_the_client_ca(
    receiver_factory: Any, tmp_path: Path
) -> None:
    certs = make_certs(tmp_path)
    trust = ssl.create_default_context(cafile=str(certs["ca"]))
    with_cert = ssl.create_default_context(cafile=str(certs["ca"]))
    with_cert.load_cert_chain(str(certs["client_cert"]), str(certs["client_key"]))
    receiver = receiver_factory(
        "--tls-cert", str(certs["server_cert"]), "--tls-key", str(certs["server_key"]),
        "--client-ca", str(certs["ca"]), *QUICK, scheme="https", client={"verify": with_cert},
    )  # fmt: skip
    assert receiver.post(event_list(events(3))).status_code == 200
    with pytest.raises(httpx.TransportError):  # TLS 1.3 reports the missing certificate on first read
        httpx.get(f"{receiver.url}/healthz", verify=trust, timeout=5)


def firehose_body() -> tuple[bytes, int]:
    text = (FIXTURES / "eks-firehose.json").read_bytes()
    count = sum(1 for item in eks.unwrap(jsontext.loads(text)) if item.event is not None)
    return text, count


def test_firehose_delivery_is_archived_once_per_request_id(receiver_factory: Any, tmp_path: Path) -> None:
    receiver = receiver_factory(*QUICK)
    body, count = firehose_body()
    assert count > 0
    headers = {"X-Amz-Firehose-Access-Key": TOKEN, "X-Amz-Firehose-Request-Id": "req-1"}
    first = receiver.post(body, token=None, path="/firehose", **headers)
    assert first.status_code == 200
    answer = first.json()
    assert answer["requestId"] == "req-1" and isinstance(answer["timestamp"], int)
    assert receiver.post(body, token=None, path="/firehose", **headers).status_code == 200  # a retry
    assert receiver.metric("kanalytics_events_received_total") == count  # the retry was not spooled again
    assert receiver.stop() == 0
    archive = kanalytics.open_archive(receiver.archive)
    assert archive.info().events == count and archive.info().clusters == ["prod-eu-1"]


def test_firehose_access_key_is_checked(receiver_factory: Any) -> None:
    receiver = receiver_factory(*QUICK)
    body, _ = firehose_body()
    missing = receiver.post(body, token=None, path="/firehose", **{"X-Amz-Firehose-Request-Id": "r"})
    assert missing.status_code == 401 and missing.json()["requestId"] == "r"
    assert "X-Amz-Firehose-Access-Key" in missing.json()["errorMessage"]
    wrong = {"X-Amz-Firehose-Access-Key": "nope", "X-Amz-Firehose-Request-Id": "r"}
    assert receiver.post(body, token=None, path="/firehose", **wrong).status_code == 403
    assert receiver.metric("kanalytics_spool_bytes") == 0
