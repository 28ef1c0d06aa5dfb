"""Integrity and lifecycle commands: verify, keygen, checkpoint, retention plan/apply, hold add/list/release, compact."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kanalytics.cli import app
from kanalytics.cli.common import open_cli_archive
from kanalytics.cli.options import ArchiveOption, ConfigOption, FromOption, JsonOption, MonthOption, ToOption
from kanalytics.cli.output import echo, number, print_json
from kanalytics.errors import IntegrityError, RetentionError, UsageError

if TYPE_CHECKING:
    from kanalytics.archive.layout import Layout

retention_app = typer.Typer(help="Retention: plan and apply the configured policy.", no_args_is_help=True)
hold_app = typer.Typer(help="Legal holds: periods that no retention run may delete.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")
app.add_typer(hold_app, name="hold")


@app.command()
def verify(
    archive: ArchiveOption,
    config: ConfigOption = None,
    month: MonthOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="Ed25519 public key every manifest must be signed by (default: `public_key_path` of "
            "`[signing]`, or $KANALYTICS_VERIFY_KEY).",
            show_default=False,
        ),
    ] = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            help="SEQ:SHA256 from `kanalytics checkpoint` (or the file holding its note), kept outside the "
            "archive.",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list what is valid.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the manifest chain, signatures and file hashes; exit 0 only when everything holds.

    The chain is always checked whole; --month/--from/--to limit which data files are hashed.
    """
    report = open_cli_archive(archive, config).verify(
        month=month, start=from_, end=to, public_key=public_key, checkpoint=checkpoint
    )
    if as_json:
        print_json(report.to_json())
    else:
        for line in report.lines(verbose):
            echo(line)  # file names come from disk and manifests: a newline in one must not forge a line
    if not report.ok:
        raise IntegrityError(f"verification failed: {len(report.problems)} problem(s)")


@app.command()
def keygen(
    out: Annotated[Path, typer.Option("--out", help="Folder for kanalytics-signing.key (0600) and .pub.")],
) -> None:
    """Create an Ed25519 key pair for signing manifests. Keep the private key outside the archive."""
    from kanalytics.archive import signing

    private_path, public_path = signing.generate_keypair(out)
    fp = signing.fingerprint(signing.load_public_key(public_path))
    typer.echo(f"private key: {private_path} (mode 0600; never copy it into the archive)")
    typer.echo(f"public key:  {public_path} (fingerprint {fp}; give it to whoever verifies)")
    typer.echo(f"sign with:   [signing] private_key_path = {str(private_path)!r}  or  KANALYTICS_SIGNING_KEY")


@app.command()
def checkpoint(archive: ArchiveOption, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Print SEQ:SHA256 of the newest manifest (signed when a key is configured): keep it outside the archive.

    `kanalytics verify --checkpoint SEQ:SHA256` later proves the archive was not rolled back or rewritten.
    """
    point = open_cli_archive(archive, config).checkpoint()
    if as_json:
        print_json(point.to_json())
    else:
        typer.echo(point.text)
        if point.note:
            typer.echo(point.note, nl=False)


@retention_app.command("plan")
def retention_plan(
    archive: ArchiveOption,
    config: ConfigOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Plan as if today were this date (what-if; apply uses today)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List every partition the policy would delete, with its age, size, events and the rule; deletes nothing."""
    plan = open_cli_archive(archive, config).retention_plan(as_of=as_of)
    if as_json:
        print_json(plan.to_json())
    else:
        for line in plan.lines():
            typer.echo(line)


@retention_app.command("apply")
def retention_apply(
    archive: ArchiveOption,
    config: ConfigOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Delete without asking (for cron); the plan is still printed.")
    ] = False,
    batch: Annotated[
        int, typer.Option(help="Partitions per deletion manifest (each batch commits alone).")
    ] = 50,
    as_json: JsonOption = False,
) -> None:
    """Delete exactly what a fresh plan lists, recording each batch in the manifest chain."""
    arch = open_cli_archive(archive, config)
    plan = arch.retention_plan()
    if not as_json:
        for line in plan.lines():
            typer.echo(line)
    if not plan.deletions:
        if as_json:
            print_json({"plan": plan.to_json(), "deleted_partitions": 0})
        return
    if not yes:
        if not sys.stdin.isatty():
            raise RetentionError(
                "refusing to delete without confirmation: no terminal to ask on",
                hint="review `kanalytics retention plan`, then re-run with --yes",
            )
        typer.confirm(f"Delete {len(plan.deletions)} partitions listed above?", abort=True)
    result = arch.retention_apply(approved=plan.key(), batch_size=batch)
    if as_json:
        print_json(result.to_json())
    else:
        typer.echo(
            f"deleted {number(result.deleted_partitions)} partitions ({number(result.deleted_files)} files, "
            f"{number(result.deleted_events)} events); manifests {', '.join(map(str, result.manifests))}"
        )


@hold_app.command("add")
def hold_add(
    archive: ArchiveOption,
    cluster: Annotated[str, typer.Option(help="Cluster the hold applies to.")],
    reason: Annotated[str, typer.Option(help="Why (case number, request).")],
    owner: Annotated[str, typer.Option(help="Who answers for the hold (person or team).")],
    namespace: Annotated[
        str | None,
        typer.Option(help="Namespace concerned; the whole cluster-day is held.", show_default=False),
    ] = None,
    month: MonthOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    config: ConfigOption = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            help="Place the hold even on a cluster or namespace the archive has no events of "
            "(e.g. before its first ingest).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Place a legal hold on the days of a period: retention never deletes them while the hold is active.

    The period is --month, or --from (inclusive) and --to (exclusive) like every command: `--from 2026-10-01
    --to 2026-11-01` holds October (the hold lists its days inclusively: 2026-10-01..2026-10-31).
    """
    from kanalytics.archive.layout import check_cluster_name

    arch = open_cli_archive(archive, config)
    arch.closed_period(month=month, start=from_, end=to)  # a bad period fails before anything is asked
    unseen = _unseen_scope(arch.layout, check_cluster_name(cluster), namespace)
    if unseen is not None and not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                f"{unseen}: refusing to place the hold without confirmation",
                hint="check the name (`kanalytics info` lists the clusters); to hold it anyway, "
                "e.g. before its events arrive, re-run with --yes",
            )
        typer.confirm(f"{unseen}. Place the hold anyway?", abort=True)
    hold = arch.add_hold(
        cluster=cluster, namespace=namespace, month=month, start=from_, end=to, reason=reason, owner=owner
    )
    _print_holds([hold.to_json()], as_json, prefix="placed ")


def _unseen_scope(layout: Layout, cluster: str, namespace: str | None) -> str | None:
    """What a new hold names that the archive holds no events of, or None: a typo would silently hold
    nothing. A cluster counts as seen if it has data or any ingest ever recorded it (retention may have
    deleted its data since)."""
    import difflib

    from kanalytics.archive.manifest import iter_manifests
    from kanalytics.vocabulary import INGEST_OPERATION

    with_data = {p.cluster for p in layout.partitions() if layout.partition_files(p)}
    ingested = {m.details.get("cluster") for m in iter_manifests(layout) if m.operation == INGEST_OPERATION}
    known = sorted(c for c in with_data | ingested if isinstance(c, str))
    if cluster not in known:
        close = difflib.get_close_matches(cluster, known, n=3, cutoff=0.6)
        guess = f" (did you mean {', '.join(close)}?)" if close else ""
        listed = ", ".join(known) or "none yet"
        return (
            f"the archive {layout.root} has no events of cluster {cluster!r}{guess}; its clusters: {listed}"
        )
    if namespace and cluster in with_data and not _namespace_seen(layout, cluster, namespace):
        return f"the archive {layout.root} has no events of namespace {namespace!r} in cluster {cluster!r}"
    return None


def _namespace_seen(layout: Layout, cluster: str, namespace: str) -> bool:
    from kanalytics.archive.api import Store

    found = Store(layout.root).sql(
        "SELECT 1 FROM events WHERE namespace = $namespace LIMIT 1", clusters=[cluster], namespace=namespace
    )
    return found.height > 0


@hold_app.command("list")
def hold_list(
    archive: ArchiveOption,
    include_released: Annotated[bool, typer.Option("--all", help="Also show released holds.")] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List legal holds (active by default)."""
    holds = [h.to_json() for h in open_cli_archive(archive, config).holds(include_released=include_released)]
    _print_holds(holds, as_json)


@hold_app.command("release")
def hold_release(
    archive: ArchiveOption,
    hold_id: Annotated[str, typer.Argument(help="Hold id, e.g. H3.")],
    reason: Annotated[str, typer.Option(help="Why the hold ends.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Release a legal hold; it stays in the record, marked released."""
    hold = open_cli_archive(archive, config).release_hold(hold_id, reason=reason)
    _print_holds([hold.to_json()], as_json, prefix="released ")


def _print_holds(holds: list[dict[str, Any]], as_json: bool, prefix: str = "") -> None:
    if as_json:
        print_json(holds)
        return
    if not holds:
        typer.echo("no legal holds")
    for h in holds:
        scope = f" namespace={h['namespace']}" if h["namespace"] else ""
        state = f"released {h['released_at']} ({h['released_reason']})" if h["released"] else "active"
        typer.echo(
            f"{prefix}{h['id']} cluster={h['cluster']}{scope} {h['start']}..{h['end']} ({h['timezone']}) "
            f"owner={h['owner']} reason={h['reason']!r} placed {h['created_at']}: {state}"
        )


@app.command()
def compact(
    archive: ArchiveOption,
    older_than: Annotated[
        str, typer.Option(help="Only days that ended at least this long ago (2d, 36h).")
    ] = "2d",
    level: Annotated[
        int | None,
        typer.Option(help="zstd level for the new files (default: ingest's; higher for cold data)."),
    ] = None,
    cluster: Annotated[list[str] | None, typer.Option(help="Only these clusters (repeatable).")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Merge each day's small files into few large sorted ones; rows and query results stay the same."""
    result = open_cli_archive(archive, config).compact(older_than=older_than, level=level, clusters=cluster)
    if as_json:
        print_json(result.to_json())
        return
    for item in result.compacted:
        held = f" (under legal hold {', '.join(item.held_by)}: rows unchanged)" if item.held_by else ""
        typer.echo(
            f"{item.partition}: {item.files_before} → {item.files_after} files, {item.rows} rows{held}"
        )
    for skipped in result.skipped:
        typer.echo(f"skipped {skipped['partition']}: {skipped['reason']}", err=True)
    typer.echo(result.summary())


__all__ = ["hold_app", "retention_app"]
