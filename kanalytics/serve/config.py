"""What `kanalytics serve` is told: listen address, TLS, credentials, limits and flush triggers."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from kanalytics.errors import UsageError

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8443
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    token_file: Path | None = None
    firehose_key_file: Path | None = None
    insecure: bool = False
    spool: Path | None = None  # default: <archive>/_state/spool
    max_body_bytes: int = 12 * MIB
    max_event_bytes: int = 1 * MIB
    spool_high_water_bytes: int = 1024 * MIB
    retry_after_seconds: int = 10
    max_concurrent: int = 32  # requests in flight (memory: about this many bodies); uvicorn answers 503 above
    flush_events: int = 50_000
    flush_seconds: float = 30.0
    cluster: str | None = None
    redact: bool = True
    log_level: str = "info"

    def check(self) -> None:
        """Refuse settings that would be unsafe or cannot work, saying which flag to change."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise UsageError("--tls-cert and --tls-key go together", hint="give both, or neither")
        if self.client_ca is not None and self.tls_cert is None:
            raise UsageError("--client-ca needs TLS", hint="give --tls-cert and --tls-key as well")
        if self.tls_cert is None and not self.insecure and not is_loopback(self.host):
            raise UsageError(
                f"refusing plain HTTP on {self.host}: audit events and the bearer token would cross the "
                "network unencrypted",
                hint="give --tls-cert/--tls-key, listen on 127.0.0.1, or pass --insecure behind a TLS proxy",
            )
        for name, value in (
            ("--max-body-bytes", self.max_body_bytes), ("--max-event-bytes", self.max_event_bytes),
            ("--spool-high-water", self.spool_high_water_bytes), ("--flush-events", self.flush_events),
        ):  # fmt: skip
            if value <= 0:
                raise UsageError(f"{name} must be positive, got {value}")
        if self.flush_seconds <= 0:
            raise UsageError(f"--flush-seconds must be positive, got {self.flush_seconds}")
        for path in (self.tls_cert, self.tls_key, self.client_ca, self.token_file, self.firehose_key_file):
            if path is not None and not path.is_file():
                raise UsageError(f"{path}: no such file", hint="check the path given to the flag")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 in brackets) into its parts."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise UsageError(f"--listen {value!r}: expected HOST:PORT", hint="e.g. 127.0.0.1:8443 or [::]:8443")
    return host.strip("[]"), int(port)


def read_secret(path: Path | None, flag: str) -> bytes | None:
    """The token in `path` (surrounding whitespace removed); an empty file is an error, not "no auth"."""
    if path is None:
        return None
    token = path.read_bytes().strip()
    if not token:
        raise UsageError(f"{flag} {path} is empty", hint="write the token into the file")
    return token
