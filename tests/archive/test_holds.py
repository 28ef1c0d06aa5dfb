"""Legal holds: recorded in the chain, replayed into a list, protecting whole partitions, released on record."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanalytics.archive.holds import add_hold, list_holds, release_hold
from kanalytics.archive.layout import Partition
from kanalytics.archive.manifest import iter_manifests
from kanalytics.archive.retention import plan_retention
from kanalytics.archive.verify import verify_archive
from kanalytics.errors import RetentionError, UsageError
from tests.archive.retention_fixtures import build_archive, days, settings


def test_holds_are_manifests_and_replay_into_the_list(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 2))
    h1 = add_hold(
        archive.layout,
        cluster="c1",
        start=date(2025, 1, 1),
        end=date(2025, 1, 1),
        reason="case 7",
        owner="legal",
    )
    h2 = add_hold(
        archive.layout, cluster="c1", namespace="payments", start=date(2025, 1, 2), end=date(2025, 1, 2),
        reason="audit", owner="sec",
    )  # fmt: skip
    assert (h1.id, h2.id) == ("H1", "H2")
    released = release_hold(archive.layout, "h1", reason="case closed", released_by="bob")
    assert released.released and released.released_reason == "case closed" and released.released_by == "bob"
    assert [m.operation for m in iter_manifests(archive.layout)] == [
        "ingest",
        "hold-add",
        "hold-add",
        "hold-release",
    ]
    holds = list_holds(archive.layout)
    assert [(h.id, h.active) for h in holds] == [("H1", False), ("H2", True)]
    assert verify_archive(archive.layout).ok
    # A new hold after a release still gets a fresh id.
    assert (
        add_hold(
            archive.layout, cluster="c1", start=date(2025, 1, 1), end=date(2025, 1, 1), reason="r", owner="o"
        ).id
        == "H3"
    )


def test_hold_validation(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)])
    with pytest.raises(UsageError, match="non-empty reason"):
        add_hold(
            archive.layout, cluster="c1", start=date(2025, 1, 1), end=date(2025, 1, 1), reason=" ", owner="o"
        )
    with pytest.raises(UsageError, match="ends"):
        add_hold(
            archive.layout, cluster="c1", start=date(2025, 1, 2), end=date(2025, 1, 1), reason="r", owner="o"
        )
    with pytest.raises(UsageError, match="no legal hold H9"):
        release_hold(archive.layout, "H9", reason="x")
    add_hold(
        archive.layout, cluster="c1", start=date(2025, 1, 1), end=date(2025, 1, 1), reason="r", owner="o"
    )
    release_hold(archive.layout, "H1", reason="done")
    with pytest.raises(RetentionError, match="already released"):
        release_hold(archive.layout, "H1", reason="again")


def test_local_day_hold_covers_every_utc_date_it_touches(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)])
    hold = add_hold(
        archive.layout, cluster="c1", start=date(2025, 1, 10), end=date(2025, 1, 10), reason="r", owner="o",
        timezone="Pacific/Auckland",
    )  # fmt: skip
    # 2025-01-10 in Auckland (UTC+13) runs from 2025-01-09T11:00Z to 2025-01-10T10:59Z.
    assert hold.utc_dates() == (date(2025, 1, 9), date(2025, 1, 10))
    assert hold.covers(Partition("c1", date(2025, 1, 9)))
    assert not hold.covers(Partition("c1", date(2025, 1, 11)))
    assert not hold.covers(Partition("c2", date(2025, 1, 10)))


def test_namespace_hold_protects_the_whole_partition_and_says_so(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 3))
    add_hold(
        archive.layout, cluster="c1", namespace="payments", start=date(2025, 1, 2), end=date(2025, 1, 2),
        reason="r", owner="o",
    )  # fmt: skip
    plan = plan_retention(archive.layout, settings(keep_days=10), today=date(2025, 3, 1))
    actions = {p.date: (p.action, p.reason) for p in plan.partitions}
    assert actions["2025-01-02"] == ("held", "held by H1 (namespace payments)")
    assert actions["2025-01-01"][0] == actions["2025-01-03"][0] == "delete"


def test_cli_hold_add_list_release(tmp_path: Path) -> None:
    from kanalytics.cli import app

    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)])
    runner = CliRunner()
    base = ["--archive", str(archive.root)]
    added = runner.invoke(
        app,
        ["hold", "add", *base, "--cluster", "c1", "--namespace", "payments", "--from", "2025-01-01",
         "--to", "2025-02-01", "--reason", "case 42", "--owner", "legal@example.com",
         "--yes"],  # the archive has no events of namespace payments: confirm the hold anyway
        standalone_mode=False,
    )  # fmt: skip
    assert added.exception is None, added.output
    assert added.output.startswith("placed H1 cluster=c1 namespace=payments 2025-01-01..2025-01-31 (UTC)")
    listed = runner.invoke(app, ["hold", "list", *base], standalone_mode=False)
    assert listed.output.startswith("H1 cluster=c1")
    released = runner.invoke(
        app, ["hold", "release", *base, "H1", "--reason", "closed"], standalone_mode=False
    )
    assert "released" in released.output
    assert runner.invoke(app, ["hold", "list", *base], standalone_mode=False).output == "no legal holds\n"
    everything = runner.invoke(app, ["hold", "list", *base, "--all"], standalone_mode=False).output
    assert "(closed)" in everything
