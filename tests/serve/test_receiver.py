"""`kanalytics serve` as a real subprocess: acknowledgement, archive contents, auth, limits, gzip, metrics."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import kanalytics
from kanalytics.archive.layout import Layout
from kanalytics.archive.quarantine import read_quarantine
from tests.serve.conftest import TOKEN, archived, event_list, events

QUICK = ("--flush-seconds", "3600", "--flush-events", "1000000")  # flush only on SIGTERM


def quarantine_records(archive: Path) -> list[dict[str, Any]]:
    folder = Layout(archive).quarantine
    return [r for path in sorted(folder.glob("*.jsonl*")) for r in read_quarantine(path)]


def test_batches_are_acknowledged_and_archived_once_on_sigterm(receiver_factory: Any) -> None:
    receiver = receiver_factory(*QUICK)
    first, second, single = events(40), events(30), events(1)[0]
    assert receiver.post(event_list(first)).json() == {"events": 40, "quarantined": 0}
    assert receiver.post(json.dumps(second).encode(), path="/").status_code == 200  # array, on /
    assert receiver.post(json.dumps(single).encode()).status_code == 200  # a bare Event
    assert receiver.post(event_list(first)).status_code == 200  # the API server's retry of a batch
    spool = receiver.archive / "_state" / "spool"
    assert [p.suffix for p in spool.iterdir()] == [".spool"]  # acknowledged = on disk, nothing archived yet
    assert receiver.stop() == 0
    want = sorted(e["auditID"] for e in [*first, *second, single])
    assert archived(receiver.archive) == want  # the retry was deduplicated
    assert list(spool.iterdir()) == []  # segments deleted once their manifest committed
    assert '"msg":"flushed"' in receiver.log() and '"duplicates":40' in receiver.log()


def test_the_time_trigger_flushes_while_serving(receiver_factory: Any) -> None:
    receiver = receiver_factory("--flush-seconds", "0.5")
    batch = events(25)
    assert receiver.post(event_list(batch)).status_code == 200
    deadline = time.monotonic() + 20
    while receiver.metric("kanalytics_events_archived_total") < 25 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert receiver.metric("kanalytics_events_archived_total") == 25
    assert archived(receiver.archive) == sorted(e["auditID"] for e in batch)
    assert receiver.metric("kanalytics_spool_bytes") == 0
    assert receiver.metric("kanalytics_last_flush_success_timestamp_seconds") > time.time() - 60


def test_the_size_trigger_flushes_at_flush_events(receiver_factory: Any) -> None:
    receiver = receiver_factory("--flush-seconds", "3600", "--flush-events", "50")
    assert receiver.post(event_list(events(30))).status_code == 200
    time.sleep(1.5)
    assert receiver.metric("kanalytics_events_archived_total") == 0  # under the trigger
    assert receiver.post(event_list(events(30))).status_code == 200
    deadline = time.monotonic() + 20
    while receiver.metric("kanalytics_events_archived_total") < 60 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert receiver.metric("kanalytics_events_archived_total") == 60


def test_missing_token_is_401_and_a_wrong_one_403_and_nothing_is_spooled(receiver_factory: Any) -> None:
    receiver = receiver_factory(*QUICK)
    missing = receiver.post(event_list(events(2)), token=None)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer realm="kanalytics"'
    assert receiver.post(event_list(events(2)), token=TOKEN + "x").status_code == 403
    assert receiver.post(event_list(events(2)), token=None, Authorization="Basic dTpw").status_code == 401
    assert receiver.metric('kanalytics_requests_rejected_total{reason="unauthorized"}') == 2
    assert receiver.metric('kanalytics_requests_rejected_total{reason="forbidden"}') == 1
    assert receiver.metric("kanalytics_spool_bytes") == 0
    assert receiver.stop() == 0
    assert not (receiver.archive / "_manifests").exists()


def test_bodies_over_the_limit_get_413_also_when_gzip_inflates_past_it(receiver_factory: Any) -> None:
    receiver = receiver_factory("--max-body-bytes", "4096", *QUICK)
    big = event_list(events(40))
    assert len(big) > 4096
    response = receiver.post(big)
    assert response.status_code == 413 and "--max-body-bytes" in response.json()["error"]
    bomb = gzip.compress(b"[" + b" " * 100_000 + b"]")
    assert len(bomb) < 4096
    assert receiver.post(bomb, **{"Content-Encoding": "gzip"}).status_code == 413
    assert receiver.post(event_list(events(3))).status_code == 200  # the server is still fine
    assert receiver.metric('kanalytics_requests_rejected_total{reason="too_large"}') == 2


def test_413_is_answered_from_content_length_without_reading_the_body(receiver_factory: Any) -> None:
    receiver = receiver_factory("--max-body-bytes", "4096", *QUICK)
    import socket

    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        sock.sendall(
            b"POST /audit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
            + b"\r\nContent-Length: 100000000\r\n\r\n"
        )  # fmt: skip
        assert sock.recv(64).startswith(b"HTTP/1.1 413 ")  # answered with none of the 100 MB sent


def test_malformed_json_is_400_and_quarantined_capped(receiver_factory: Any) -> None:
    receiver = receiver_factory(*QUICK)
    junk = b'{"kind":"EventList","items":[' + b"x" * 200_000
    response = receiver.post(junk)
    assert response.status_code == 400
    assert response.json()["error"].startswith("the body is not valid JSON: ")
    assert receiver.post(b'"just a string"').status_code == 400
    assert receiver.post(event_list(events(2))).status_code == 200
    assert receiver.stop() == 0
    records = quarantine_records(receiver.archive)
    assert [r["reason"].split(":")[0] for r in records] == ["webhook request", "webhook request"]
    assert "not valid JSON" in records[0]["reason"]
    assert "not an audit EventList, Event or array of Events" in records[1]["reason"]
    assert 0 < len(records[0]["raw"]) <= 64 * 1024  # capped, not the 200 kB body
    assert kanalytics.open_archive(receiver.archive).info().events == 2


def test_an_event_over_the_event_limit_is_quarantined_with_the_reason(receiver_factory: Any) -> None:
    receiver = receiver_factory("--max-event-bytes", "2000", *QUICK)
    small, large = events(2), events(1)[0]
    large["annotations"] = {"big": "y" * 5000}
    assert receiver.post(event_list([*small, large])).json() == {"events": 2, "quarantined": 1}
    assert receiver.stop() == 0
    assert archived(receiver.archive) == sorted(e["auditID"] for e in small)
    [record] = quarantine_records(receiver.archive)
    assert (
        record["reason"].startswith("event of ") and "over the event limit of 2000 bytes" in record["reason"]
    )


def test_gzip_bodies_are_accepted(receiver_factory: Any) -> None:
    receiver = receiver_factory(*QUICK)
    batch = events(50)
    assert receiver.post(gzip.compress(event_list(batch)), **{"Content-Encoding": "gzip"}).status_code == 200
    assert receiver.post(b"not gzip", **{"Content-Encoding": "gzip"}).status_code == 400
    assert receiver.post(b"[]", **{"Content-Encoding": "br"}).status_code == 400
    assert receiver.stop() == 0
    assert archived(receiver.archive) == sorted(e["auditID"] for e in batch)


def test_over_the_high_water_mark_the_answer_is_503_with_retry_after(receiver_factory: Any) -> None:
    receiver = receiver_factory("--spool-high-water", "100", *QUICK)
    kept = events(5)
    assert receiver.post(event_list(kept)).status_code == 200
    started = time.perf_counter()
    refused = receiver.post(event_list(events(5)))
    assert refused.status_code == 503 and refused.headers["retry-after"] == "10"
    assert time.perf_counter() - started < 2
    with receiver.client() as client:
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
    assert receiver.stop() == 0
    assert archived(receiver.archive) == sorted(e["auditID"] for e in kept)


def test_metrics_count_what_happened(receiver_factory: Any) -> None:
    receiver = receiver_factory(*QUICK)
    batch = events(7)
    assert receiver.post(event_list(batch)).status_code == 200
    assert receiver.post(event_list(batch)).status_code == 200
    assert receiver.post(b"{", token=TOKEN).status_code == 400
    with receiver.client() as client:
        response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'kanalytics_http_requests_total{code="200",endpoint="/audit"} 2.0' in text
    assert 'kanalytics_http_requests_total{code="400",endpoint="/audit"} 1.0' in text
    assert "kanalytics_events_received_total 14.0" in text
    assert 'kanalytics_http_request_size_bytes_count{endpoint="/audit"} 3.0' in text
    assert 'kanalytics_http_request_duration_seconds_count{endpoint="/audit"} 3.0' in text
    assert 'kanalytics_build_info{version="' in text
    assert "kanalytics_spool_oldest_age_seconds" in text and "kanalytics_flush_duration_seconds" in text
    assert "_created" not in text


def test_health_and_unknown_paths(receiver_factory: Any) -> None:
    receiver = receiver_factory(*QUICK)
    with receiver.client() as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        assert client.get("/readyz").json() == {"ready": True, "problems": []}
        assert client.get("/nope").status_code == 404
        assert client.get("/audit").status_code == 405


def test_plain_http_on_a_non_loopback_address_is_refused(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "kanalytics", "serve", "--archive", str(tmp_path / "a"), "--listen"]
    result = subprocess.run([*command, "0.0.0.0:0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "refusing plain HTTP on 0.0.0.0" in result.stderr and "--insecure" in result.stderr
    assert not (tmp_path / "a").exists()


def test_a_spool_that_cannot_be_written_answers_500_and_acknowledges_nothing(receiver_factory: Any) -> None:
    receiver = receiver_factory(*QUICK)
    spool = receiver.archive / "_state" / "spool"
    spool.rmdir()
    spool.write_text("not a directory")  # every append now fails, as on a full or broken disk
    response = receiver.post(event_list(events(3)))
    assert response.status_code == 500 and response.json()["error"].startswith("cannot write the spool: ")
    assert receiver.metric("kanalytics_events_received_total") == 0
    assert '"msg":"cannot spool the batch"' in receiver.log()
