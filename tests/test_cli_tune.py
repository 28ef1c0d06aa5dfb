"""`kanalytics tune` as a user runs it: real processes, TOML on stdout or --out, exit codes and messages."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kanalytics import open_archive
from kanalytics.config import Settings, parse_settings
from tests.catalog.test_tune import ALICE, baseline_events
from tests.conftest import REPO

PERIOD = ("--from", "2026-09-01", "--to", "2026-09-06")


def kanalytics(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KANALYTICS_CONFIG", "KANALYTICS_ARCHIVE")}
    return subprocess.run(
        [sys.executable, "-m", "kanalytics", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("cli-tune") / "archive"
    open_archive(root, config=Settings()).ingest_events(baseline_events(), cluster="c1")
    return str(root)


def test_stdout_is_a_configuration_and_out_never_overwrites(archive: str, tmp_path: Path) -> None:
    shown = kanalytics("tune", "-a", archive, *PERIOD)
    assert shown.returncode == 0, shown.stderr
    users = parse_settings(tomllib.loads(shown.stdout)).allowlists.query_lists["falco-disallowed-k8s-user"]
    assert users[0].value == ALICE
    assert users[0].reason == (
        "observed on 5 of 5 days, 13 events (2026-09-01 to 2026-09-05); source addresses: 10.0.0.5"
    )
    assert shown.stderr.startswith("tune: 16 value(s) proposed (14 uncommented), 0 already configured, "
                                   "5 day(s) with events")  # fmt: skip

    out = tmp_path / "proposal.toml"
    written = kanalytics("tune", "-a", archive, *PERIOD, "--out", str(out))
    assert written.returncode == 0 and written.stdout == "" and f"wrote {out}" in written.stderr
    assert out.read_text(encoding="utf-8") == shown.stdout

    out.write_text("# my edits\n", encoding="utf-8")
    again = kanalytics("tune", "-a", archive, *PERIOD, "--out", str(out))
    assert again.returncode == 2
    assert again.stderr == (
        f"error: {out} already exists\n  hint: pass --force to replace it, or choose another --out\n"
    )
    assert out.read_text(encoding="utf-8") == "# my edits\n"
    forced = kanalytics("tune", "-a", archive, *PERIOD, "--out", str(out), "--force")
    assert forced.returncode == 0 and out.read_text(encoding="utf-8") == shown.stdout


def test_never_writes_a_configuration(archive: str, tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('timezone = "UTC"\n', encoding="utf-8")
    for target, extra in ((tmp_path / "kanalytics.toml", []), (config, ["--config", str(config)])):
        refused = kanalytics("tune", "-a", archive, *PERIOD, *extra, "--out", str(target), "--force")
        assert refused.returncode == 2
        assert refused.stderr.startswith(f"error: refusing to write the proposal to {target}: that is a "
                                         "kanalytics configuration, and tune never applies itself")  # fmt: skip
    assert not (tmp_path / "kanalytics.toml").exists()
    assert config.read_text(encoding="utf-8") == 'timezone = "UTC"\n'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-13-01", "--to", "2026-10-01"),
         "error: --from: cannot read '2026-13-01' as a date or timestamp\n"),
        (("--from", "2026-09-06", "--to", "2026-09-01"),
         "error: the period ends (2026-09-01) at or before it starts (2026-09-06)\n"),
        (("--from", "2026-09-01"), "error: a period needs both --from and --to (or --month)\n"),
    ],
)  # fmt: skip
def test_bad_dates_exit_2_with_the_reason(archive: str, args: tuple[str, ...], message: str) -> None:
    result = kanalytics("tune", "-a", archive, *args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(message), result.stderr


def test_an_empty_period_says_so_and_exits_1(archive: str) -> None:
    result = kanalytics("tune", "-a", archive, "--from", "2025-01-01", "--to", "2025-02-01")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(
        f"error: {archive} has no events from 2025-01-01 to 2025-02-01 (exclusive): nothing to propose\n"
    )
    other = kanalytics("tune", "-a", archive, *PERIOD, "--cluster", "nope")
    assert other.returncode == 1 and "has no events of cluster nope from 2026-09-01" in other.stderr


def test_help_names_the_default_period() -> None:
    result = kanalytics("tune", "--help")
    assert result.returncode == 0
    assert "Default period: the 30 days (baseline.days) before the current month." in " ".join(
        result.stdout.replace("│", " ").split()
    )
