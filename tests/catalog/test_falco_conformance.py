"""Falco parity: every `falco-` query over Falco's own k8s-audit trace files agrees with Falco's legacy tests.

EXPECTED.tsv (next to the traces) records, per file, the rule counts Falco's tests asserted with the default rules,
whether no rule at all may fire, and the outcomes under Falco's override rule files. Each override is expressed as
kanalytics configuration (allowlists.query_lists) or, for `disallow_kactivity.yaml`, by leaving out the queries
tagged `falco-activity` (Falco's `consider_activity_events` macro switches exactly those rules off).

Parity is checked under `profile = "falco"` (Falco's exact semantics); under the default profile the rules whose
meaning depends on an unconfigured list wait for it ("needs-configuration"), which the last test holds.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kanalytics import open_archive
from kanalytics.api import Archive
from kanalytics.archive.ingest import Ingestor
from kanalytics.catalog.loader import Catalog
from kanalytics.catalog.runner import run_catalog
from kanalytics.config import parse_settings
from kanalytics.sources.files import read_inputs

TRACES = Path(__file__).parents[2] / ".." / "shared" / "data" / "k8s-audit" / "falco-traces"
EXPECTED = TRACES / "EXPECTED.tsv"
ACTIVITY_TAG = "falco-activity"
# Falco's override rule files (FALCO_LISTS.md, "Overrides used by Falco's legacy tests") as query_lists entries.
OVERRIDE_LISTS: dict[str, dict[str, list[str]]] = {
    "allow_namespace_foo.yaml": {"falco-create-disallowed-namespace": ["foo"]},
    "allow_user_some-user.yaml": {"falco-disallowed-k8s-user": ["some-user"]},
    "allow_nginx_container.yaml": {"falco-create-disallowed-pod": ["nginx"]},
    "allow_only_apache_container.yaml": {"falco-create-disallowed-pod": ["apache"]},
    "trust_nginx_container.yaml": {
        "falco-create-sensitive-mount-pod": ["nginx"],
        "falco-create-privileged-pod": ["nginx"],
        "falco-create-hostnetwork-pod": ["nginx"],
    },
    "disallow_kactivity.yaml": {},
}
WHOLE_HISTORY = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@dataclass(frozen=True)
class Check:
    """One assertion of Falco's test matrix: under `overrides`, `counts` per rule, or nothing at all if `silent`."""

    file: str
    overrides: tuple[str, ...]
    counts: tuple[tuple[str, int], ...]
    silent: bool

    @property
    def id(self) -> str:
        what = "silent" if self.silent else ",".join(f"{r}={n}" for r, n in self.counts)
        return f"{self.file}[{'+'.join(self.overrides) or 'default'}]:{what}"


def _counts(text: str) -> tuple[tuple[str, int], ...]:
    return tuple((m.group(1).strip(), int(m.group(2))) for m in re.finditer(r"([^;=]+?)=(\d+)", text))


def load_checks() -> list[Check]:
    if not EXPECTED.is_file():
        return []
    checks: list[Check] = []
    with EXPECTED.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            name = row["file"]
            default = row["expected_default_rules(test-asserted)"].strip()
            if default not in ("", "-") and not default.startswith("("):
                checks.append(Check(name, (), _counts(default.split(" (legacy")[0]), silent=False))
            if row["default_ruleset_zero_alerts(test-asserted)"].strip() == "yes":
                checks.append(Check(name, (), (), silent=True))
            overrides = row["expected_with_overrides(test-asserted)"].strip()
            for part in overrides.split(" | ") if overrides not in ("", "-") else []:
                match = re.fullmatch(r"(.+?) \[with (.+)\]", part.strip())
                assert match, f"cannot read override outcome {part!r} of {name}"
                outcome, files = match.group(1), tuple(match.group(2).split(","))
                silent = outcome == "NO alerts at all"
                checks.append(Check(name, files, () if silent else _counts(outcome), silent=silent))
    return checks


CHECKS = load_checks()


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Archive]:
    """One archive per trace file (created on first use), so rules only ever see that file's events."""
    cache: dict[str, Archive] = {}
    root = tmp_path_factory.mktemp("falco-traces")

    class _Lazy(dict[str, Archive]):
        def __missing__(self, name: str) -> Archive:
            archive = open_archive(root / name)
            # One process: a trace holds a handful of events, so a worker pool would only add start-up time.
            Ingestor(archive.layout, cluster="falco", workers=1).run(read_inputs([str(TRACES / name)]))
            cache[name] = archive
            self[name] = archive
            return archive

    return _Lazy()


def settings_for(overrides: tuple[str, ...], profile: str = "falco") -> Any:
    query_lists: dict[str, list[dict[str, str]]] = {}
    for name in overrides:
        assert name in OVERRIDE_LISTS, f"override {name} has no kanalytics equivalent in this test"
        for query_id, values in OVERRIDE_LISTS[name].items():
            query_lists.setdefault(query_id, []).extend(
                {"value": v, "reason": f"Falco test override {name}"} for v in values
            )
    return parse_settings(
        {"profile": profile, "allowlists": {"query_lists": query_lists}}, origin="falco overrides"
    )


@pytest.mark.skipif(
    not TRACES.is_dir(), reason=f"Falco trace files not available at {TRACES} (outside the repo)"
)
@pytest.mark.parametrize("check", CHECKS, ids=[c.id for c in CHECKS])
def test_falco_parity(check: Check, catalog: Catalog, archives: dict[str, Archive]) -> None:
    falco_queries = {q.id: q for q in catalog.queries.values() if q.id.startswith("falco-")}
    if "disallow_kactivity.yaml" in check.overrides:
        falco_queries = {k: q for k, q in falco_queries.items() if ACTIVITY_TAG not in q.header.tags}
    by_rule = {
        ref.removeprefix("falco:"): qid
        for qid, q in falco_queries.items()
        for ref in q.header.references
        if ref.startswith("falco:")
    }
    # A "no alerts at all" check needs every rule; a count check asserts only the rules it names, so only
    # their queries run (the other queries' rows were never looked at).
    wanted = (
        sorted(falco_queries)
        if check.silent
        else sorted({by_rule[r] for r, _ in check.counts if r in by_rule})
    )
    run = run_catalog(
        archives[check.file],
        *WHOLE_HISTORY,
        settings=settings_for(check.overrides),
        catalog=catalog,
        query_ids=wanted,
    )
    errors = {qid: r.reason for qid, r in run.results.items() if r.status == "error"}
    fired = {qid: r.rows for qid, r in run.results.items() if r.rows}
    if check.silent:
        assert not fired and not errors, f"expected no alerts, got {fired} {errors}"
    for rule, count in check.counts:
        assert rule in by_rule, f"no falco- query references falco:{rule}"
        qid = by_rule[rule]
        assert run.results[qid].status == "ok", f"{qid}: {run.results[qid].reason}"
        assert run.results[qid].rows == count, (
            f"{rule} ({qid}): {run.results[qid].rows} rows, Falco expects {count}"
        )


def test_every_default_rule_has_a_query(catalog: Catalog) -> None:
    """Every rule Falco's tests name has a falco- query referencing it (the parity checks cannot pass vacuously)."""
    if not CHECKS:
        pytest.skip(f"Falco trace files not available at {TRACES} (outside the repo)")
    referenced = {ref.removeprefix("falco:") for q in catalog.queries.values() for ref in q.header.references}
    missing = sorted({rule for c in CHECKS for rule, _ in c.counts} - referenced)
    assert not missing, f"no query references: {missing}"


@pytest.mark.skipif(
    not TRACES.is_dir(), reason=f"Falco trace files not available at {TRACES} (outside the repo)"
)
def test_default_profile_without_lists_waits_for_configuration(
    catalog: Catalog, archives: dict[str, Archive]
) -> None:
    """The traces that fire the list-dependent rules under Falco's profile: under the default profile with no
    lists those rules do not run, each says which list it needs; the rules native queries replace do not run
    either (superseded), and every other rule fires as under Falco."""
    gated = sorted(
        q.id for q in catalog.queries.values() if q.id.startswith("falco-") and q.header.needs_config
    )
    assert gated == [
        "falco-create-disallowed-namespace",
        "falco-create-disallowed-pod",
        "falco-disallowed-k8s-user",
        "falco-pod-created-in-kube-namespace",
    ]
    by_rule = {
        ref.removeprefix("falco:"): q.id
        for q in catalog.queries.values()
        for ref in q.header.references
        if q.id.startswith("falco-") and ref.startswith("falco:")
    }
    # Every trace a count check names, with no lists at all (the overrides' lists would lift the gate).
    wanted_by_file: dict[str, set[str]] = {}
    for check in CHECKS:
        wanted_by_file.setdefault(check.file, set()).update(
            by_rule[r] for r, _ in check.counts if r in by_rule
        )
    fired_gated = set()
    for file, ids in sorted(wanted_by_file.items()):
        wanted = sorted(ids)
        falco = run_catalog(archives[file], *WHOLE_HISTORY, settings=settings_for((), "falco"),
                            catalog=catalog, query_ids=wanted)  # fmt: skip
        default = run_catalog(archives[file], *WHOLE_HISTORY, settings=settings_for((), "default"),
                              catalog=catalog, query_ids=wanted)  # fmt: skip
        for qid in wanted:
            if catalog.get(qid).header.superseded_by:
                result = default.results[qid]
                assert (result.status, result.rows) == ("superseded", 0), (file, qid)
                continue
            if qid in gated:
                result = default.results[qid]
                assert (result.status, result.rows) == ("needs-configuration", 0), (file, qid)
                assert result.reason.startswith(f"needs allowlists.query_lists.{qid} ("), result.reason
                assert 'or set profile = "falco" for Falco\'s built-in list' in result.reason
                fired_gated |= {qid} if falco.results[qid].rows else set()
            else:
                assert default.results[qid].status == "ok", (file, qid, default.results[qid].reason)
                assert default.results[qid].rows == falco.results[qid].rows, (file, qid)
    # Under Falco's profile the traces fire three of the gated rules (falco-create-disallowed-pod is inert
    # without a list), so the gate above is what kept them quiet.
    assert fired_gated == {
        "falco-create-disallowed-namespace",
        "falco-disallowed-k8s-user",
        "falco-pod-created-in-kube-namespace",
    }
