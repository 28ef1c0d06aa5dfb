"""Archive size benchmark: where the bytes go, per column, against gzip -6 and zstd -19 --long of the JSONL.

Two kinds of traffic, N events each:
  synthetic     the project's synthetic month (`kanalytics.synth`): names and identities repeat, as in a
                real cluster's background traffic;
  random-names  an independent generator (written from the audit.k8s.io/v1 Event format and the real samples
                in ../shared/data/k8s-audit/, not from synth): random pod/secret/configmap names, a random UUID
                auditID per request, request-unique resourceVersion/uid/creationTimestamp in bodies, realistic
                user agents and source IPs. Nothing repeats that a real cluster would not repeat either, so
                this is the pessimistic case for a columnar archive.
Each is ingested into a fresh archive with kanalytics; the script prints per column the compressed bytes (from
the Parquet footers, summed over row groups and files) and its share, the total archive bytes, and the ratios
to `gzip -6` and to `zstd -19 --long` (the zstd binary, else the zstandard package) of the same JSONL.

    .venv/bin/python benchmarks/archive_size.py --events 1000000
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

_WORDS = [
    "api",
    "web",
    "worker",
    "cache",
    "redis",
    "kafka",
    "billing",
    "auth",
    "checkout",
    "search",
    "ingest",
    "frontend",
    "payments",
    "metrics",
    "gateway",
    "orders",
    "users",
    "inventory",
    "notifier",
    "scheduler",
    "reporter",
]
_NAMESPACES = ["default", "kube-system", "prod", "staging", "payments", "data", "monitoring", "ci"]
_VERSION = "v1.29.4"
_AGENTS = [
    f"kubectl/{_VERSION} (linux/amd64) kubernetes/9a91e2a",
    f"kubectl/{_VERSION} (darwin/arm64) kubernetes/9a91e2a",
    f"kube-controller-manager/{_VERSION} (linux/amd64) kubernetes/9a91e2a/system:serviceaccount:kube-system:"
    "replicaset-controller",
    f"kube-scheduler/{_VERSION} (linux/amd64) kubernetes/9a91e2a/scheduler",
    f"kubelet/{_VERSION} (linux/amd64) kubernetes/9a91e2a",
    "argocd-application-controller/v0.0.0 (linux/amd64) kubernetes/$Format",
    "Go-http-client/2.0",
    "helm/v3.14.2 (linux/amd64)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
]
_RESOURCES = [
    ("pods", "", "v1"),
    ("secrets", "", "v1"),
    ("configmaps", "", "v1"),
    ("deployments", "apps", "v1"),
]
_VERBS = ["get", "get", "list", "watch", "create", "update", "patch", "delete"]
_ALNUM = "bcdfghjklmnpqrstvwxz2456789"


def _rand_name(rng: random.Random) -> str:
    suffix = "".join(rng.choice(_ALNUM) for _ in range(5))
    return f"{rng.choice(_WORDS)}-{rng.getrandbits(40):010x}-{suffix}"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _identities(rng: random.Random) -> list[tuple[dict[str, object], str, str]]:
    """(user, user agent, source IP): service accounts, nodes and humans, each with a usual client and address."""
    out = []
    for index in range(300):
        namespace = rng.choice(_NAMESPACES)
        kind = index % 3
        if kind == 0:
            user = {
                "username": f"system:serviceaccount:{namespace}:{_rand_name(rng)}",
                "uid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "groups": [
                    "system:serviceaccounts",
                    f"system:serviceaccounts:{namespace}",
                    "system:authenticated",
                ],
            }
        elif kind == 1:
            user = {"username": f"system:node:ip-10-0-{rng.randrange(256)}-{rng.randrange(256)}.ec2.internal",
                    "groups": ["system:nodes", "system:authenticated"]}  # fmt: skip
        else:
            user = {
                "username": f"{rng.choice(_WORDS)}{index}@example.com",
                "groups": ["dev", "system:authenticated"],
            }
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        out.append((user, rng.choice(_AGENTS), ip))
    return out


def _body(
    rng: random.Random, resource: str, namespace: str, name: str, moment: datetime
) -> dict[str, object]:
    """A request-unique object: server-assigned uid, resourceVersion and creationTimestamp."""
    kind = {"pods": "Pod", "secrets": "Secret", "configmaps": "ConfigMap", "deployments": "Deployment"}[
        resource
    ]
    body: dict[str, object] = {
        "kind": kind,
        "apiVersion": "apps/v1" if resource == "deployments" else "v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "resourceVersion": str(rng.randrange(10**6, 10**9)),
            "creationTimestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "labels": {"app": name.split("-")[0], "pod-template-hash": f"{rng.getrandbits(36):09x}"},
        },
    }
    if resource == "configmaps":
        body["data"] = {"config.yaml": f"replicas: {rng.randrange(1, 9)}\nseed: {rng.getrandbits(32)}\n"}
    elif resource == "secrets":
        body["data"] = {"token": "".join(rng.choice(_ALNUM) for _ in range(24))}
        body["type"] = "Opaque"
    elif resource == "pods":
        body["spec"] = {
            "containers": [
                {"name": "main", "image": f"registry.example.com/{name.split('-')[0]}:{rng.randrange(99)}"}
            ],
            "nodeName": f"ip-10-0-{rng.randrange(256)}-{rng.randrange(256)}.ec2.internal",
        }
    return body


def random_names(out: Path, events: int, seed: int = 1) -> int:
    """Write about `events` Events (one or two stages per request) with random names and IDs; return the count."""
    rng = random.Random(seed)
    people = _identities(rng)
    moment = datetime(2026, 10, 1, tzinfo=UTC)
    step = timedelta(days=30) / max(events, 1)
    written = 0
    with out.open("w") as sink:
        while written < events:
            user, agent, ip = rng.choice(people)
            resource, group, version = rng.choice(_RESOURCES)
            verb = rng.choice(_VERBS)
            namespace = rng.choice(_NAMESPACES)
            name = _rand_name(rng)
            path = f"/api/{version}" if not group else f"/apis/{group}/{version}"
            uri = f"{path}/namespaces/{namespace}/{resource}"
            if verb in ("get", "update", "patch", "delete"):
                uri += f"/{name}"
            elif verb in ("list", "watch"):
                uri += f"?resourceVersion={rng.randrange(10**6, 10**9)}&timeout=7m{rng.randrange(60)}s"
                uri += "&watch=true" if verb == "watch" else ""
            moment += step * rng.uniform(0.5, 1.5)
            done = moment + timedelta(microseconds=rng.randrange(300, 90_000))
            code, denied = (403, True) if rng.random() < 0.02 else (200 if verb != "create" else 201, False)
            object_ref: dict[str, object] = {
                "resource": resource,
                "namespace": namespace,
                "apiVersion": version,
            }
            if group:
                object_ref["apiGroup"] = group
            if verb not in ("list", "watch", "create"):
                object_ref["name"] = name
            reason = (
                f'RBAC: allowed by ClusterRoleBinding "{rng.choice(_WORDS)}" of ClusterRole "edit" to User '
                f'"{user["username"]}"'
                if not denied
                else ""
            )
            event: dict[str, object] = {
                "kind": "Event",
                "apiVersion": "audit.k8s.io/v1",
                "level": "Metadata",
                "auditID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "stage": "ResponseComplete",
                "requestURI": uri,
                "verb": verb,
                "user": user,
                "sourceIPs": [ip],
                "userAgent": agent,
                "objectRef": object_ref,
                "responseStatus": {"metadata": {}, "code": code},
                "requestReceivedTimestamp": _stamp(moment),
                "stageTimestamp": _stamp(done),
                "annotations": {
                    "authorization.k8s.io/decision": "forbid" if denied else "allow",
                    "authorization.k8s.io/reason": reason,
                },
            }
            if verb in ("create", "update", "patch") and not denied:
                event["level"] = "RequestResponse" if resource != "secrets" else "Metadata"
                if event["level"] == "RequestResponse":
                    event["requestObject"] = _body(rng, resource, namespace, name, moment)
                    event["responseObject"] = _body(rng, resource, namespace, name, moment)
            stages = [event]
            if rng.random() < 0.5:  # the RequestReceived stage of the same request
                first = {k: v for k, v in event.items() if k not in ("responseStatus", "responseObject")}
                first["stage"] = "RequestReceived"
                first["stageTimestamp"] = _stamp(moment)
                stages.insert(0, first)
            for item in stages:
                sink.write(json.dumps(item, separators=(",", ":")) + "\n")
                written += 1
    return written


def synthetic(out: Path, events: int) -> int:
    from kanalytics.synth import generate

    generate(out, start=date(2026, 10, 1), days=30, events=events, seed=0, cluster="bench")
    with out.open("rb") as handle:
        return sum(1 for _ in handle)


def gzip_bytes(path: Path) -> int:
    """gzip -6 of the whole file as one stream (what `gzip -6 file` writes, less the name in the header)."""
    buffer = io.BytesIO()
    with (
        path.open("rb") as source,
        gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as sink,
    ):
        while chunk := source.read(1 << 24):
            sink.write(chunk)
    return buffer.tell()


def zstd_bytes(path: Path) -> tuple[int, str]:
    """zstd -19 --long of the file; the binary when present (two threads), else the zstandard package."""
    binary = shutil.which("zstd")
    if binary:
        proc = subprocess.run(
            [binary, "-19", "--long", "-T2", "-c", "-q", str(path)], capture_output=True, check=True
        )
        return len(proc.stdout), "zstd -19 --long -T2"
    import zstandard

    params = zstandard.ZstdCompressionParameters.from_level(19, enable_ldm=True, window_log=27)
    with path.open("rb") as source:
        data = zstandard.ZstdCompressor(compression_params=params).compress(source.read())
    return len(data), "zstandard level 19 + ldm"


def column_bytes(root: Path) -> dict[str, int]:
    """Compressed bytes per top-level column, summed over every row group of every events file."""
    sizes: dict[str, int] = defaultdict(int)
    for path in sorted(root.rglob("*.parquet")):
        if "_" in path.relative_to(root).parts[0][:1]:
            continue  # _state, _quarantine, ...
        meta = pq.ParquetFile(path).metadata
        for group in range(meta.num_row_groups):
            row_group = meta.row_group(group)
            for col in range(row_group.num_columns):
                chunk = row_group.column(col)
                sizes[chunk.path_in_schema.split(".")[0]] += chunk.total_compressed_size
    return dict(sizes)


def measure(kind: str, source: Path, work: Path) -> dict[str, object]:
    from kanalytics.archive.api import Store

    archive = work / f"archive-{kind}"
    started = time.perf_counter()
    summary = Store(str(archive)).ingest([str(source)], cluster="bench")
    ingest_s = time.perf_counter() - started
    files = [p for p in archive.rglob("*.parquet") if not p.relative_to(archive).parts[0].startswith("_")]
    total = sum(p.stat().st_size for p in files)
    gz = gzip_bytes(source)
    zs, how = zstd_bytes(source)
    return {
        "kind": kind,
        "events": summary.archived,
        "jsonl": source.stat().st_size,
        "archive": total,
        "gzip": gz,
        "zstd": zs,
        "zstd_how": how,
        "columns": column_bytes(archive),
        "ingest_s": ingest_s,
    }


def report(result: dict[str, object]) -> None:
    columns: dict[str, int] = result["columns"]  # type: ignore[assignment]
    archive = int(result["archive"])  # type: ignore[call-overload]
    gz, zs = int(result["gzip"]), int(result["zstd"])  # type: ignore[call-overload]
    print(f"\n== {result['kind']}: {result['events']:,} events, JSONL {int(result['jsonl']) / 1e6:.1f} MB")  # type: ignore[call-overload]
    stored = sum(columns.values())
    for name, size in sorted(columns.items(), key=lambda item: -item[1]):
        print(f"  {name:<20} {size / 1e6:9.2f} MB  {size / stored:6.1%}")
    print(
        f"  {'(column chunks)':<20} {stored / 1e6:9.2f} MB; files {archive / 1e6:.2f} MB (footers included)"
    )
    print(f"  gzip -6 {gz / 1e6:.2f} MB -> archive/gzip {archive / gz:.3f}x")
    print(f"  {result['zstd_how']} {zs / 1e6:.2f} MB -> archive/zstd {archive / zs:.3f}x")
    print(f"  ingest {result['ingest_s']:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--kind", choices=["both", "synthetic", "random-names"], default="both")
    parser.add_argument("--work", type=Path, help="keep inputs and archives here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kanalytics-size-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for kind in ("synthetic", "random-names"):
            if args.kind not in ("both", kind):
                continue
            source = work / f"{kind}.jsonl"
            if not source.exists():
                (synthetic if kind == "synthetic" else random_names)(source, args.events)
            shutil.rmtree(work / f"archive-{kind}", ignore_errors=True)
            result = measure(kind, source, work)
            report(result)
            results.append(result)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
