"""These tests are about the archive layer (files, manifests, counts); evaluation at commit would add findings
files to every ingest, so it is off here (tests/catalog/test_evaluation_*.py and tests/test_evaluation_at_commit.py
cover it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _no_evaluation_at_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANALYTICS_EVALUATE_ON_COMMIT", "0")


# -- an S3-compatible server on loopback (moto's server mode), for tests/archive/test_s3*.py ------------------
class RequestLog:
    """Every request the moto server answered, as (method, path, query): what S3 calls the archive made,
    whichever client sent them (boto3 or pyarrow)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []

    def clear(self) -> None:
        self.requests.clear()

    def lists(self, bucket: str) -> list[str]:
        """The `prefix=` of every LIST of `bucket` (ListObjects / ListObjectsV2)."""
        from urllib.parse import parse_qs

        found = []
        for method, path, query in self.requests:
            params = parse_qs(query)
            if (
                method == "GET"
                and path.strip("/") == bucket
                and ("list-type" in params or "prefix" in params)
            ):
                found.append(params.get("prefix", [""])[0])
        return found


@pytest.fixture(scope="module")
def s3_server() -> Iterator[tuple[str, RequestLog]]:
    """A moto S3 server on 127.0.0.1 (a free port), stopped after the module; (endpoint URL, request log)."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    log = RequestLog()

    class CountingServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)

            def counted(environ: dict[str, Any], start_response: Any) -> Any:
                log.requests.append(
                    (environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
                )
                return app(environ, start_response)

            self._server = make_server(
                self._ip_address, self._port, counted, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    server = CountingServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}", log
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3_env(
    s3_server: tuple[str, RequestLog], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RequestLog]:
    """The standard AWS environment pointing at the loopback server (for the module), a fresh read cache,
    and the request log."""
    endpoint, log = s3_server
    home = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "no-aws-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "no-aws-credentials"))
        monkeypatch.setenv("KANALYTICS_S3_CACHE", str(home / "s3-cache"))
        monkeypatch.setenv("KANALYTICS_EVALUATE_ON_COMMIT", "0")
        log.clear()
        yield log


def make_bucket(name: str) -> None:
    import boto3

    boto3.client("s3").create_bucket(Bucket=name)
