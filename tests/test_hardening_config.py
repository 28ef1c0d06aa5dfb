"""Strict configuration and identifiers, and operator conditions (disk full, read-only) as one-line errors.

The CLI is driven in-process through `kanalytics.cli.main` (the one error boundary) with `sys.argv` patched,
so exit codes and stderr are exactly what a user sees. A full disk and a read-only mount are simulated by
making `os.fsync` / `os.open` raise the OSError the kernel would (tests run as root: chmod stops nothing).
"""

from __future__ import annotations

import errno
import gc
import io
import json
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import kanalytics
from kanalytics.archive.holds import list_holds
from kanalytics.archive.layout import Partition, check_cluster_name
from kanalytics.archive.manifest import iter_manifests
from kanalytics.catalog.loader import load_catalog
from kanalytics.catalog.runner import check_query_lists
from kanalytics.cli import main
from kanalytics.config import load_settings, parse_settings
from kanalytics.errors import ConfigError, StorageError, UsageError
from tests.conftest import make_event

OLD = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=100)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("KANALYTICS_ARCHIVE", "KANALYTICS_CONFIG", "KANALYTICS_DEBUG", "KANALYTICS_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray ./kanalytics.toml


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run `kanalytics ARGS` through main(): (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["kanalytics", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    out, err = capsys.readouterr()
    code = caught.value.code
    return (code if isinstance(code, int) else (0 if code is None else 1)), out, err


def events_file(path: Path, count: int = 3, *, bad_lines: int = 0) -> Path:
    lines = [json.dumps(make_event(OLD + timedelta(seconds=i))) for i in range(count)]
    path.write_text("\n".join(lines + ["not json"] * bad_lines) + "\n", encoding="utf-8")
    return path


def all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def tmp_files(root: Path) -> list[str]:
    return [f for f in all_files(root) if Path(f).name.endswith(".tmp")]


# -- identifiers ---------------------------------------------------------------------------------------------

BAD_CLUSTERS = ["evil\n", "a/b", "..", "", "x" * 101, "prod-é", "ｐｒｏｄ", "-lead", "a b", "ok\r"]


@pytest.mark.parametrize("name", BAD_CLUSTERS)
def test_bad_cluster_names_are_refused_before_any_write(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "a"
    source = events_file(tmp_path / "in.jsonl")
    code, _, err = cli(monkeypatch, capsys, "ingest", str(source), "-a", str(archive), "--cluster", name)
    assert code == 2
    lines = err.splitlines()
    assert lines[0].startswith("error: invalid cluster name '") and lines[1].startswith("  hint: use letters")
    assert len(lines) == 2  # one message and its hint, no traceback
    assert not archive.exists()  # refused before the lock, the layout or a temporary file

    code, _, err = cli(monkeypatch, capsys, "hold", "add", "-a", str(archive), "--cluster", name, "--yes",
                       "--from", "2026-01-01", "--to", "2026-01-02", "--reason", "r", "--owner", "o")  # fmt: skip
    assert code == 2 and "invalid cluster name" in err
    assert not archive.exists()


def test_cluster_name_check_anchors_at_the_very_end() -> None:
    # `$` matches before a trailing newline: "evil\n" used to pass and make every later query fail (exit 70).
    for name in ("evil\n", "prod\n", "a" * 100 + "\n"):
        with pytest.raises(UsageError, match="invalid cluster name"):
            check_cluster_name(name)
    assert check_cluster_name("a" * 100) == "a" * 100
    assert check_cluster_name("prod-eu.1_b") == "prod-eu.1_b"
    # The same anchoring for partition directories: a trailing newline is not a partition.
    assert Partition.from_relpath("events/cluster=c/date=2026-10-01\n") is None
    assert Partition.from_relpath("events/cluster=c/date=2026-10-01") == Partition("c", date(2026, 10, 1))


def test_evil_cluster_no_longer_breaks_queries_over_all_clusters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "a"
    source = events_file(tmp_path / "in.jsonl")
    assert cli(monkeypatch, capsys, "ingest", str(source), "-a", str(archive), "--cluster", "good")[0] == 0
    assert cli(monkeypatch, capsys, "ingest", str(source), "-a", str(archive), "--cluster", "evil\n")[0] == 2
    code, out, err = cli(monkeypatch, capsys, "sql", "SELECT cluster, count(*) AS n FROM events GROUP BY 1",
                         "-a", str(archive), "-f", "json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == [{"cluster": "good", "n": 3}]


# -- strict configuration --------------------------------------------------------------------------------------

TYPE_MISTAKES = [
    ("[retention]\nkeep_days = true\n", "retention.keep_days: expected an integer, got a boolean (true)"),
    ('[retention]\nkeep_days = "30"\n', 'retention.keep_days: expected an integer, got a string ("30")'),
    ("[retention]\nkeep_days = 30.0\n", "retention.keep_days: expected an integer, got a float (30.0)"),
    ('[retention]\nfloor_days = "365"\n', 'retention.floor_days: expected an integer, got a string ("365")'),
    (
        '[[retention.per_cluster]]\ncluster = "c1"\nkeep_days = false\n',
        "retention.per_cluster.0.keep_days: expected an integer, got a boolean (false)",
    ),
    (
        "[[retention.per_cluster]]\ncluster = 7\nkeep_days = 3\n",
        "retention.per_cluster.0.cluster: expected a string, got an integer (7)",
    ),
    (
        '[report]\npdf_rows_per_finding = "20"\n',
        'report.pdf_rows_per_finding: expected an integer, got a string ("20")',
    ),
    ("[report]\norganisation = true\n", "report.organisation: expected a string, got a boolean (true)"),
    ("timezone = 1\n", "timezone: expected a string, got an integer (1)"),
    ("query_paths = [1]\n", "query_paths.0: expected a string, got an integer (1)"),
    (
        '[[allowlists.admin_users]]\nvalue = 5\nreason = "r"\n',
        "allowlists.admin_users.0.value: expected a string, got an integer (5)",
    ),
    ("[signing]\nprivate_key_path = false\n", "signing.private_key_path: expected a string, got a boolean"),
    ('retention = "30d"\n', 'retention: expected a table, got a string ("30d")'),
]


@pytest.mark.parametrize(("text", "problem"), TYPE_MISTAKES)
def test_wrong_types_are_errors_naming_file_key_and_type(text: str, problem: str, tmp_path: Path) -> None:
    path = tmp_path / "kanalytics.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: invalid configuration: ")
    assert problem in str(caught.value)
    assert caught.value.exit_code == 2


def test_correct_types_still_load(tmp_path: Path) -> None:
    settings = parse_settings(
        {
            "retention": {
                "keep_days": 30,
                "floor_days": 7,
                "per_cluster": [{"cluster": "c", "keep_days": 9}],
            },
            "report": {"pdf_rows_per_finding": 5},
        }
    )
    assert (settings.retention.keep_days, settings.retention.per_cluster[0].keep_days) == (30, 9)
    assert settings.report.pdf_rows_per_finding == 5


@pytest.mark.parametrize("value", ["true", '"1"', "1.0"])
def test_cli_retention_with_a_mistyped_keep_days_exits_2_and_deletes_nothing(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "a"
    kanalytics.open_archive(archive).ingest_events(
        [make_event(OLD - timedelta(days=d)) for d in range(5)], cluster="c1"
    )
    before = all_files(archive)
    config = tmp_path / "k.toml"
    config.write_text(f"[retention]\nkeep_days = {value}\n", encoding="utf-8")
    for command in (["retention", "plan"], ["retention", "apply", "--yes"]):
        code, out, err = cli(monkeypatch, capsys, *command, "-a", str(archive), "--config", str(config))
        assert code == 2, (command, out, err)
        assert err.startswith(
            f"error: {config}: invalid configuration: retention.keep_days: expected an integer"
        )
        assert out == ""
    assert all_files(archive) == before
    # the ingest and its evaluation at commit, nothing since
    assert [m.operation for m in iter_manifests(kanalytics.open_archive(archive).layout)] == [
        "ingest",
        "evaluate",
    ]


# -- query_lists ---------------------------------------------------------------------------------------------


def _query_list_settings(query_id: str, origin: str = "k.toml") -> Any:
    raw = {"allowlists": {"query_lists": {query_id: [{"value": "alice", "reason": "r"}]}}}
    return parse_settings(raw, origin=origin)


def test_unknown_query_list_id_is_an_error_with_close_matches() -> None:
    catalog = load_catalog()
    with pytest.raises(ConfigError) as caught:
        check_query_lists(catalog, _query_list_settings("falco-disalowed-k8s-user"))
    message = str(caught.value)
    assert message.startswith(
        "k.toml: allowlists.query_lists: unknown query id 'falco-disalowed-k8s-user' "
        "(did you mean: falco-disallowed-k8s-user"
    )
    assert "kanalytics query list" in message
    assert caught.value.exit_code == 2


def test_query_list_for_a_query_that_reads_no_list_is_an_error() -> None:
    catalog = load_catalog()
    metric = next(q for q in catalog.by_kind("metric") if "allow_query_list" not in q.sql)
    with pytest.raises(
        ConfigError, match=rf"allowlists.query_lists.{metric.id}: query '{metric.id}' does not"
    ):
        check_query_lists(catalog, _query_list_settings(metric.id))


def test_query_lists_of_the_shipped_configurations_are_valid() -> None:
    catalog = load_catalog()
    check_query_lists(catalog, _query_list_settings("falco-disallowed-k8s-user"))
    demo = Path(kanalytics.__file__).parent / "report" / "demo_config.toml"
    check_query_lists(catalog, load_settings(demo))


def test_cli_findings_with_an_unknown_query_list_id_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "a"
    kanalytics.open_archive(archive).ingest_events([make_event(OLD)], cluster="c1")
    config = tmp_path / "k.toml"
    config.write_text(
        '[[allowlists.query_lists.no-such-query]]\nvalue = "x"\nreason = "r"\n', encoding="utf-8"
    )
    day = OLD.date()
    code, out, err = cli(monkeypatch, capsys, "findings", "-a", str(archive), "--config", str(config),
                         "--from", day.isoformat(), "--to", (day + timedelta(days=1)).isoformat())  # fmt: skip
    assert code == 2, err
    assert err.startswith(f"error: {config}: allowlists.query_lists: unknown query id 'no-such-query'")
    # `query list` itself still works with that configuration, so the hint can be followed.
    code, out, err = cli(monkeypatch, capsys, "query", "list", "--config", str(config))
    assert code == 0 and "falco-disallowed-k8s-user" in out


# -- holds on what the archive has never seen -------------------------------------------------------------------


def _hold(archive: Path, cluster: str, *extra: str) -> list[str]:
    return ["hold", "add", "-a", str(archive), "--cluster", cluster, "--from", "2026-01-01", "--to",
            "2026-02-01", "--reason", "case 7", "--owner", "legal", *extra]  # fmt: skip


def _hold_archive(tmp_path: Path) -> Path:
    archive = tmp_path / "a"
    events = [make_event(OLD, objectRef={"resource": "pods", "namespace": "payments", "apiVersion": "v1"})]
    kanalytics.open_archive(archive).ingest_events(events, cluster="prod-eu")
    return archive


def test_hold_on_an_unseen_cluster_needs_yes_without_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = _hold_archive(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a TTY
    code, _, err = cli(monkeypatch, capsys, *_hold(archive, "prod-ue"))
    assert code == 2
    assert err == (
        f"error: the archive {archive} has no events of cluster 'prod-ue' (did you mean prod-eu?); its clusters: "
        "prod-eu: refusing to place the hold without confirmation\n"
        "  hint: check the name (`kanalytics info` lists the clusters); to hold it anyway, e.g. before its "
        "events arrive, re-run with --yes\n"
    )
    assert list_holds(kanalytics.open_archive(archive).layout) == []

    code, _, err = cli(monkeypatch, capsys, *_hold(archive, "prod-ue", "--yes"))
    assert code == 0, err
    assert [h.cluster for h in list_holds(kanalytics.open_archive(archive).layout)] == ["prod-ue"]


def test_hold_on_a_known_cluster_and_namespace_needs_no_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = _hold_archive(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, out, err = cli(monkeypatch, capsys, *_hold(archive, "prod-eu", "--namespace", "payments"))
    assert code == 0, err
    assert out.startswith("placed H1 cluster=prod-eu namespace=payments 2026-01-01..2026-01-31")
    code, out, err = cli(monkeypatch, capsys, *_hold(archive, "prod-eu", "--namespace", "paymnets"))
    assert code == 2
    assert err.startswith(
        f"error: the archive {archive} has no events of namespace 'paymnets' in cluster 'prod-eu'"
    )
    assert len(list_holds(kanalytics.open_archive(archive).layout)) == 1


def test_hold_on_an_empty_archive_asks_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    archive = tmp_path / "new"
    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    code, out, err = cli(monkeypatch, capsys, *_hold(archive, "c1"))
    assert (code, err) == (1, "Aborted.\n") and "Place the hold anyway? [y/N]" in out
    assert not (archive / "_manifests").exists()
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    code, out, err = cli(monkeypatch, capsys, *_hold(archive, "c1"))
    assert code == 0, err
    assert [h.cluster for h in list_holds(kanalytics.open_archive(archive).layout)] == ["c1"]


def test_a_cluster_whose_data_retention_deleted_still_counts_as_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = _hold_archive(tmp_path)
    config = tmp_path / "k.toml"
    config.write_text("[retention]\nkeep_days = 1\n", encoding="utf-8")
    assert (
        cli(monkeypatch, capsys, "retention", "apply", "--yes", "-a", str(archive), "-c", str(config))[0] == 0
    )
    assert kanalytics.open_archive(archive).info().files == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = cli(monkeypatch, capsys, *_hold(archive, "prod-eu"))
    assert code == 0, err


# -- operator conditions: disk full, read-only, permissions ----------------------------------------------------


def _fail_fsync_of(monkeypatch: pytest.MonkeyPatch, marker: str, code: int = errno.ENOSPC) -> list[str]:
    """Make fsync of any file whose path contains `marker` fail as a full disk does; returns what failed."""
    real = os.fsync
    failed: list[str] = []

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        if marker in target:
            failed.append(target)
            raise OSError(code, os.strerror(code))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return failed


@pytest.mark.parametrize("marker", [".parquet.tmp", ".jsonl.zst.tmp", "/_manifests/"])
def test_disk_full_during_ingest_is_one_line_exit_1_and_leaves_no_temporary_files(
    marker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "a"
    source = events_file(tmp_path / "in.jsonl", bad_lines=1)  # data and quarantine files both get written
    failed = _fail_fsync_of(monkeypatch, marker)
    code, _, err = cli(monkeypatch, capsys, "ingest", str(source), "-a", str(archive), "--cluster", "c1")
    assert failed, "the simulated failure was not reached"
    assert code == 1
    assert err == (
        f"error: cannot write {archive}: No space left on device\n"
        "  hint: free space on that file system (df -h), then re-run\n"
    )
    assert tmp_files(archive) == []
    assert list(iter_manifests(kanalytics.open_archive(archive).layout)) == []
    monkeypatch.undo()  # space freed: the same ingest now succeeds
    monkeypatch.chdir(tmp_path)
    assert cli(monkeypatch, capsys, "ingest", str(source), "-a", str(archive), "--cluster", "c1")[0] == 3


def test_pyarrow_disk_full_error_names_the_plain_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kanalytics.archive import ingest

    real = ingest.parquet_writer

    class FullWriter:
        def __init__(self, path: Any) -> None:
            self.inner = real(path)

        def write_table(self, *args: Any, **kwargs: Any) -> None:
            raise OSError(
                errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device"
            )

    monkeypatch.setattr(ingest, "parquet_writer", FullWriter)
    archive = tmp_path / "a"
    code, _, err = cli(monkeypatch, capsys, "ingest", str(events_file(tmp_path / "in.jsonl")), "--archive",
                       str(archive))  # fmt: skip
    assert code == 1 and err.startswith(f"error: cannot write {archive}: No space left on device\n")
    assert tmp_files(archive) == []


def test_disk_full_while_compacting_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "a"
    for offset in (0, 60):  # two ingests: two files in one old partition, something to compact
        kanalytics.open_archive(archive).ingest_events(
            [make_event(OLD + timedelta(seconds=offset))], cluster="c"
        )
    before = all_files(archive)
    _fail_fsync_of(monkeypatch, "/_manifests/")
    code, _, err = cli(monkeypatch, capsys, "compact", "-a", str(archive))
    assert code == 1 and err.startswith(f"error: cannot write {archive}: No space left on device")
    assert all_files(archive) == before


@pytest.mark.parametrize(
    ("code", "message", "hint"),
    [
        (errno.EROFS, "cannot write {lock}: Read-only file system", "mounted read-only"),
        (errno.EACCES, "cannot access {lock}: Permission denied", "owner and permissions"),
        (errno.EDQUOT, "cannot write {lock}: Disk quota exceeded", "quota"),
    ],
)
def test_read_only_or_refused_archive_names_the_path(
    code: int,
    message: str,
    hint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kanalytics.archive import lock

    archive = tmp_path / "a"
    kanalytics.open_archive(archive).ingest_events([make_event(OLD)], cluster="c1")
    before = all_files(archive)

    def refuse(path: Any, *args: Any, **kwargs: Any) -> int:
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(lock.os, "open", refuse)  # what opening the lock for writing does on such a mount
    lock_path = archive / "_state" / "writer.lock"
    for args in (
        ["ingest", str(events_file(tmp_path / "in.jsonl")), "-a", str(archive), "--cluster", "c1"],
        _hold(archive, "c1", "--yes"),
    ):
        exit_code, _, err = cli(monkeypatch, capsys, *args)
        assert exit_code == 1
        lines = err.splitlines()
        assert lines[0] == "error: " + message.format(lock=lock_path)
        assert hint in lines[1] and len(lines) == 2 and "Traceback" not in err
    assert all_files(archive) == before


def test_debug_still_shows_the_traceback_and_other_os_errors_stay_bugs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kanalytics.archive import lock

    archive = tmp_path / "a"
    kanalytics.open_archive(archive).ingest_events([make_event(OLD)], cluster="c1")
    monkeypatch.setattr(lock.os, "open", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EBADF, "bad")))
    code, _, err = cli(monkeypatch, capsys, *_hold(archive, "c1"))
    assert code == 70 and "this is a bug" in err

    monkeypatch.setenv("KANALYTICS_DEBUG", "1")
    monkeypatch.setattr(sys, "argv", ["kanalytics", *_hold(archive, "c1")])
    monkeypatch.setattr(lock.os, "open", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(OSError, match="full"):
        main()


def test_storage_error_from_a_wrapped_os_error() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/srv/a/x.tmp")
        except OSError as inner:
            raise RuntimeError("writer failed") from inner
    except RuntimeError as outer:
        storage = StorageError.from_os_error(outer, "/fallback")
    assert storage is not None and storage.exit_code == 1
    assert storage.message == "cannot write /srv/a/x.tmp: No space left on device"
    assert StorageError.from_os_error(ValueError("x")) is None
    fallback = StorageError.from_os_error(OSError(errno.EROFS, "ro"), "/srv/a")
    assert fallback is not None and fallback.message == "cannot write /srv/a: Read-only file system"


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Any:
    """A real 64 KiB tmpfs (needs root and mount rights; skipped otherwise): a disk that really fills up."""
    import subprocess

    mount = tmp_path / "mnt"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "none", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        gc.collect()
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def test_a_really_full_and_then_read_only_disk(
    small_tmpfs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess

    archive = small_tmpfs / "a"
    big = tmp_path / "big.jsonl"
    padding = "/api/v1/namespaces/default/pods/" + "x" * 200
    lines = [
        json.dumps(make_event(OLD + timedelta(seconds=i), requestURI=f"{padding}{i}")) for i in range(10_000)
    ]
    # 9 MB of input for 64 KiB: its 8-byte content checksums alone (80 KB, random) cannot fit.
    big.write_text("\n".join([*lines, "not json"]) + "\n", encoding="utf-8")
    code, _, err = cli(monkeypatch, capsys, "ingest", str(big), "-a", str(archive), "--cluster", "c1")
    assert (code, err.splitlines()[0]) == (1, f"error: cannot write {archive}: No space left on device")
    # Nothing but the lock files: no data, no quarantine, no manifest, no temporary file.
    assert [f for f in all_files(archive) if not f.startswith("_state/")] == []

    gc.collect()  # the failed run's traceback (frames, open writers) must not keep the mount busy
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    code, _, err = cli(monkeypatch, capsys, *_hold(archive, "c1", "--yes"))
    assert code == 1
    assert err.splitlines()[0] == f"error: cannot write {archive}/_state/writer.lock: Read-only file system"


def test_the_path_named_when_the_os_error_has_none() -> None:
    from kanalytics.cli import _write_target

    assert _write_target(["report", "-a", "/srv/a", "--out", "/srv/r"]) == "/srv/r"  # where it writes
    assert _write_target(["export", "--archive=/srv/a", "-o", "-"]) == "standard output"
    assert _write_target(["ingest", "x.jsonl", "--archive=/srv/a"]) == "/srv/a"
    assert _write_target(["info"]) is None
