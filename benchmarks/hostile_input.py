"""Hostile-input benchmark: peak RSS and time of ingest for inputs built to exhaust memory.

Cases (each generated in a temporary folder with streaming writes, then ingested in a fresh process):
  long-first-line  1.1 GiB JSON Lines whose first line is 5 MB (was: read whole, or lost whole over 1 GiB)
  gz-3g-line       a .gz holding one 3 GB line without a newline (was: 6 GB RSS, then SIGSEGV)
  gz-1g-line       the same with 1 GB of content (was: 4 GB peak)
Prints, per case: input size, read/archived/quarantined, seconds, peak RSS of the ingest process and of
its worker processes.

    .venv/bin/python benchmarks/hostile_input.py [--only long-first-line] [--scale 0.1]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

_INGEST = """
import json, resource, sys, time
import kanalytics
t = time.perf_counter()
summary = kanalytics.open_archive(sys.argv[1]).ingest([sys.argv[2]], cluster="bench")
seconds = time.perf_counter() - t
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so it would report the benchmark's own peak.
own = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "read": summary.read, "archived": summary.archived,
                  "quarantined": summary.quarantined, "rss_kb": own, "worker_rss_kb": workers}))
"""
_MIB = 1 << 20


def _event(n: int, blob: str = "") -> bytes:
    event = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Request" if blob else "Metadata",
        "auditID": str(uuid.UUID(int=n + 1)),
        "stage": "ResponseComplete",
        "requestURI": f"/api/v1/namespaces/team-{n % 50}/configmaps/settings-{n % 997}",
        "verb": "update",
        "user": {"username": f"user-{n % 300}@example.com", "groups": ["system:authenticated", "devs"]},
        "sourceIPs": [f"10.0.{n % 250}.{n % 200}"],
        "userAgent": "kubectl/v1.30.1 (linux/amd64) kubernetes/abc1234",
        "objectRef": {"resource": "configmaps", "namespace": f"team-{n % 50}", "name": f"settings-{n % 997}"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": f"2026-10-{1 + n % 28:02d}T12:{n % 60:02d}:00.000000Z",
        "stageTimestamp": f"2026-10-{1 + n % 28:02d}T12:{n % 60:02d}:00.004000Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC"},
    }
    if blob:
        event["requestObject"] = {"kind": "ConfigMap", "data": {"big": blob}}
    return json.dumps(event).encode() + b"\n"


def long_first_line(folder: Path, scale: float) -> Path:
    path = folder / "audit.log"
    target = int(1.1 * 1024 * _MIB * scale)
    with open(path, "wb", buffering=8 * _MIB) as out:
        out.write(_event(0, blob="x" * 5_000_000))
        written, n = 0, 1
        while written < target:
            line = _event(n)
            out.write(line)
            written += len(line)
            n += 1
    return path


def gz_line(size: int) -> Callable[[Path, float], Path]:
    def build(folder: Path, scale: float) -> Path:
        path = folder / "one-line.log.gz"
        total = int(size * scale)
        piece = b'{"kind":"Event","auditID":"' + b"a" * (8 * _MIB)
        with gzip.open(path, "wb", compresslevel=1) as out:
            for _ in range(total // len(piece)):
                out.write(piece)
        return path

    return build


CASES: dict[str, Callable[[Path, float], Path]] = {
    "long-first-line": long_first_line,
    "gz-3g-line": gz_line(3 * 1000 * _MIB),
    "gz-1g-line": gz_line(1000 * _MIB),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=sorted(CASES), action="append", help="run only these cases")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every input size (quick checks)")
    args = parser.parse_args()
    print(
        f"{'case':<16} {'input':>10} {'content':>10} {'read':>9} {'archived':>9} {'quar.':>6} "
        f"{'seconds':>8} {'peak RSS':>9} {'workers':>8}"
    )
    for name in args.only or list(CASES):
        with tempfile.TemporaryDirectory(prefix=f"kanalytics-hostile-{name}-") as tmp:
            folder = Path(tmp)
            started = time.perf_counter()
            source = CASES[name](folder, args.scale)
            built = time.perf_counter() - started
            content = _content_bytes(source)
            result = subprocess.run(
                [sys.executable, "-c", _INGEST, str(folder / "archive"), str(source)],
                capture_output=True,
                check=True,
            )
            figures = json.loads(result.stdout)
            print(
                f"{name:<16} {source.stat().st_size / _MIB:>8.0f}MB {content / _MIB:>8.0f}MB "
                f"{figures['read']:>9} {figures['archived']:>9} {figures['quarantined']:>6} "
                f"{figures['seconds']:>8.1f} {figures['rss_kb'] / 1024:>7.0f}MB "
                f"{figures['worker_rss_kb'] / 1024:>6.0f}MB   (input built in {built:.0f} s)"
            )


def _content_bytes(path: Path) -> int:
    if path.suffix != ".gz":
        return path.stat().st_size
    total = 0
    with gzip.open(path, "rb") as packed:
        while chunk := packed.read(16 * _MIB):
            total += len(chunk)
    return total


if __name__ == "__main__":
    main()
