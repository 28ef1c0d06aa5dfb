"""The injected multi-step intrusion (`ci-token-takeover`): its shape, its timing and that it moves nothing else."""

from __future__ import annotations

import hashlib
import io
import json
import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from kanalytics.archive.rows import event_to_row
from kanalytics.config import Settings
from kanalytics.synth import SCENARIOS, generate
from kanalytics.synth.incidents import TAKEOVER_IP, TAKEOVER_UA, ci_token_takeover
from kanalytics.synth.plan import make_plan

NAME = "ci-token-takeover"
DEPLOYER = "system:serviceaccount:ci:deployer"
NEW_SA = "system:serviceaccount:kube-system:kube-controller"
SA_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]
WINDOW = date(2026, 10, 1)
# SHA-256 of the events file the twelve earlier scenarios produced before this one existed (seed 7): the new
# scenario has its own RNG, so with it switched off not one byte of the background or the others moves.
BEFORE = {
    "5 days, 40k": "9a51996fcfc26e1ed4508a9100b8b0b20719628182646a1031a7c6f8660bd8c4",
    "16 days, 48k, window": "798f4e2bdad6e21f067a8c471764c567d35f647b8203d2328e8f3db45cc1d2ff",
}


class Run:
    def __init__(self, out: Path, truth: Path) -> None:
        self.events = [orjson.loads(line) for line in out.read_bytes().splitlines()]
        self.truth = json.loads(truth.read_text())
        self.entry = next(e for e in self.truth["incidents"] if e["scenario"] == NAME)
        ids = set(self.entry["audit_ids"])
        self.mine = [e for e in self.events if e["auditID"] in ids]
        self.background = [e for e in self.events if e["auditID"] not in ids]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("intrusion")
    out, truth = tmp / "takeover.jsonl", tmp / "takeover.truth.json"
    generate(out, start=date(2026, 9, 24), days=14, events=42_000, seed=3, truth=truth,
             incident_window_start=WINDOW)  # fmt: skip
    return Run(out, truth)


@pytest.mark.parametrize(
    ("label", "kwargs"),
    [
        ("5 days, 40k", {"start": date(2026, 10, 1), "days": 5, "events": 40_000}),
        ("16 days, 48k, window", {"start": date(2026, 9, 20), "days": 16, "events": 48_000,
                                  "incident_window_start": WINDOW}),
    ],
)  # fmt: skip
def test_switching_it_off_gives_the_bytes_of_before(
    tmp_path: Path, label: str, kwargs: dict[str, Any]
) -> None:
    out = tmp_path / "old.jsonl"
    generate(out, seed=7, scenarios=[s for s in SCENARIOS if s != NAME], **kwargs)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == BEFORE[label]


def test_truth_names_the_scenario_identities_address_and_steps(run: Run) -> None:
    e = run.entry
    assert (e["technique"], e["identity"], e["identities"], e["source_ips"]) == (
        "T1098.006",
        DEPLOYER,
        [DEPLOYER, NEW_SA],
        [TAKEOVER_IP],
    )
    assert [(s["tactic"], s["technique"]) for s in e["steps"]] == [
        ("discovery", "T1613"),
        ("credential-access", "T1552.007"),
        ("privilege-escalation", "T1098.006"),
        ("persistence", "T1610"),
        ("defense-evasion", "T1070"),
    ]
    assert sum(s["events"] for s in e["steps"]) == e["events"] == len(run.mine)
    assert [i for s in e["steps"] for i in s["audit_ids"]] == e["audit_ids"]
    assert [s["start"] for s in e["steps"]] == sorted(s["start"] for s in e["steps"])
    assert e["start"] == e["steps"][0]["start"] >= "2026-10-01" and e["end"] == e["steps"][-1]["end"]
    minutes = (datetime.fromisoformat(e["end"]) - datetime.fromisoformat(e["start"])).total_seconds() / 60
    assert 30 <= minutes <= 90
    # the other entries say who they are the same way
    assert all(
        other["identities"] == [other["identity"]] for other in run.truth["incidents"] if other is not e
    )


def test_timing_is_seed_determined_and_always_30_to_90_minutes() -> None:
    lo = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp()) * 1_000_000
    hi = lo + 31 * 24 * 3_600_000_000
    starts = set()
    for seed in range(12):
        plan = make_plan(start=date(2026, 9, 1), days=61, background=200_000, seed=seed, cluster_name="demo")
        first = ci_token_takeover(plan, random.Random(f"incident:{seed}:{NAME}"), lo, hi).truth()
        again = ci_token_takeover(plan, random.Random(f"incident:{seed}:{NAME}"), lo, hi).truth()
        assert first == again
        span = datetime.fromisoformat(first["end"]) - datetime.fromisoformat(first["start"])
        assert 30 * 60 <= span.total_seconds() <= 90 * 60, (seed, span)
        assert first["start"] >= "2026-10-01" and first["end"] < "2026-11-01"
        starts.add(first["start"])
    assert len(starts) == 12


def test_every_step_is_what_the_api_server_would_log(run: Run) -> None:
    bg_deployer = next(e for e in run.background if e["user"]["username"] == DEPLOYER)
    by_user: dict[str, list[dict[str, Any]]] = {}
    for ev in run.mine:
        event_to_row(ev)  # the archive takes it as it is
        by_user.setdefault(ev["user"]["username"], []).append(ev)
        assert ev["stage"] == "ResponseComplete" and ev["responseStatus"]["code"] in (200, 201)
        assert ev["annotations"]["authorization.k8s.io/decision"] == "allow"
        assert ev["annotations"]["authorization.k8s.io/reason"].startswith(
            "RBAC: allowed by ClusterRoleBinding "
        )
        ref = ev.get("objectRef", {})
        writes = ev["verb"] in ("create", "delete", "deletecollection")
        body_level = writes and ref.get("resource") in ("pods", "serviceaccounts", "clusterrolebindings",
                                                        "daemonsets") and ref.get("subresource") != "binding"  # fmt: skip
        assert ev["level"] == ("RequestResponse" if body_level else "Metadata"), ev["requestURI"]
        assert ("requestObject" in ev and "responseObject" in ev) == body_level, ev["requestURI"]
    assert set(by_user) == {DEPLOYER, NEW_SA, "system:serviceaccount:kube-system:daemon-set-controller",
                            "system:kube-scheduler"}  # fmt: skip
    for who in (DEPLOYER, NEW_SA):
        assert {(e["sourceIPs"][0], e["userAgent"]) for e in by_user[who]} == {(TAKEOVER_IP, TAKEOVER_UA)}
    # the stolen credential is the background's own deployer token (same uid, groups and JTI)
    assert all(e["user"] == bg_deployer["user"] for e in by_user[DEPLOYER])
    new = by_user[NEW_SA][0]["user"]
    assert new["groups"] == SA_GROUPS and all(e["user"] == new for e in by_user[NEW_SA])
    assert all(e["annotations"]["authorization.k8s.io/reason"] == 'RBAC: allowed by ClusterRoleBinding '
               '"kube-controller" of ClusterRole "cluster-admin" to ServiceAccount "kube-controller/kube-system"'
               for e in by_user[NEW_SA] if "objectRef" in e)  # fmt: skip
    # neither the address nor the client was ever seen before
    assert not any(TAKEOVER_IP in e["sourceIPs"] or e["userAgent"] == TAKEOVER_UA for e in run.background)

    def one(verb: str, resource: str, sub: str = "") -> dict[str, Any]:
        (hit,) = [e for e in run.mine if e["verb"] == verb and e.get("objectRef", {}).get("resource") == resource
                  and e["objectRef"].get("subresource", "") == sub and e["user"]["username"] in (DEPLOYER, NEW_SA)]  # fmt: skip
        return hit

    steps = {s["tactic"]: set(s["audit_ids"]) for s in run.entry["steps"]}
    recon = [e for e in run.mine if e["auditID"] in steps["discovery"]]
    assert {e["requestURI"] for e in recon} >= {"/api/v1/namespaces?limit=500", "/api/v1/pods?limit=500",
                                                "/api/v1/nodes?limit=500",
                                                "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"}  # fmt: skip
    secrets = [e for e in run.mine if e["auditID"] in steps["credential-access"]]
    assert secrets[0]["verb"] == "list" and {e["verb"] for e in secrets[1:]} == {"get"}
    assert all(e["objectRef"] | {"name": ""} == {"resource": "secrets", "namespace": "kube-system", "name": "",
               "apiVersion": "v1"} for e in secrets)  # fmt: skip
    sa = one("create", "serviceaccounts")
    assert (
        sa["responseObject"]["metadata"]["name"] == "kube-controller" and sa["user"]["username"] == DEPLOYER
    )
    assert sa["responseObject"]["metadata"]["uid"] == new["uid"]
    crb = one("create", "clusterrolebindings")["requestObject"]
    assert crb["roleRef"]["name"] == "cluster-admin"
    assert crb["subjects"] == [
        {"kind": "ServiceAccount", "name": "kube-controller", "namespace": "kube-system"}
    ]
    token = one("create", "serviceaccounts", "token")
    assert token["requestURI"] == "/api/v1/namespaces/kube-system/serviceaccounts/kube-controller/token"
    jwt = token["responseObject"]["status"]["token"]
    claims = json.loads(_b64(jwt.split(".")[1]))
    assert claims["sub"] == NEW_SA and new["extra"]["authentication.kubernetes.io/credential-id"] == [
        f"JTI={claims['jti']}"
    ]
    ds = one("create", "daemonsets")
    assert ds["user"]["username"] == NEW_SA and ds["objectRef"]["namespace"] == "kube-system"
    pod = ds["requestObject"]["spec"]["template"]["spec"]
    assert (
        pod["hostPID"] is True
        and {"name": "host-root", "hostPath": {"path": "/", "type": ""}} in pod["volumes"]
    )
    assert pod["containers"][0]["securityContext"]["privileged"] is True
    assert pod["containers"][0]["image"] == "docker.io/kuberntesio/kube-controller:1.0.1"
    # the controller rolls it out on every node, admitted by the namespace's privileged PSA level
    pods = by_user["system:serviceaccount:kube-system:daemon-set-controller"]
    assert len(pods) == len(by_user["system:kube-scheduler"]) == 6
    assert all(
        p["annotations"]["pod-security.kubernetes.io/enforce-policy"] == "privileged:latest" for p in pods
    )
    assert all(p["sourceIPs"] == ["10.0.0.10"] and p["requestReceivedTimestamp"] > ds["stageTimestamp"]
               for p in pods)  # fmt: skip
    evasion = [e for e in run.mine if e["auditID"] in steps["defense-evasion"]]
    assert [(e["verb"], e["requestURI"], e["user"]["username"]) for e in evasion] == [
        ("deletecollection", "/api/v1/namespaces/kube-system/events", NEW_SA),
        ("deletecollection", "/apis/events.k8s.io/v1/namespaces/kube-system/events", NEW_SA),
    ]


def test_the_stolen_token_is_redacted_at_ingest(run: Run, tmp_path: Path) -> None:
    from kanalytics import open_archive

    src = tmp_path / "mine.jsonl"
    src.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in run.mine))
    archive = open_archive(tmp_path / "archive", config=Settings())
    summary = archive.ingest([src], cluster="demo")
    assert (summary.archived, summary.quarantined) == (len(run.mine), 0)
    token = next(e for e in run.mine if e.get("objectRef", {}).get("subresource") == "token")
    signature = token["responseObject"]["status"]["token"].split(".")[2]
    buffer = io.BytesIO()
    assert archive.export(buffer, start="2026-10-01", end="2026-11-01") == len(run.mine)
    exported = [orjson.loads(line) for line in buffer.getvalue().splitlines()]
    back = next(e for e in exported if e["auditID"] == token["auditID"])
    assert back["responseObject"]["status"]["token"] != token["responseObject"]["status"]["token"]
    assert signature[:40] not in buffer.getvalue().decode()


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
