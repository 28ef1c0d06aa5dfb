"""`kanalytics tune`: propose allow-lists from a baseline period, as TOML for a person to review."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kanalytics.cli import app
from kanalytics.cli.common import open_cli_archive
from kanalytics.cli.options import ArchiveOption, ClusterFilterOption, ConfigOption, FromOption, ToOption
from kanalytics.cli.output import echo, number


@app.command()
def tune(
    archive: ArchiveOption,
    from_: FromOption = None,
    to: ToOption = None,
    cluster: ClusterFilterOption = None,
    config: ConfigOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the proposal to this file instead of standard output ('-': standard output). An "
            "existing file is kept unless --force; a kanalytics.toml is never written.",
            show_default=False,
        ),
    ] = None,
    min_days: Annotated[
        int | None,
        typer.Option(
            "--min-days",
            min=1,
            help="Write a value seen on fewer days than this commented out (default: baseline.min_days "
            "of the configuration, 3).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out file.")] = False,
) -> None:
    """Propose allow-lists (a configuration section) from a baseline period, for you to review and commit.

    Default period: the 30 days (`baseline.days`) before the current month. Proposes the users, image
    repositories and namespaces of the Falco rules that wait for a list, trusted registries, the public
    addresses in-cluster identities call from (trusted_networks) and the service accounts that write
    workloads or RBAC on most days (automation_users), each with its reason ("observed on 28 of 30 days,
    14,210 events"). Values already in the configuration are skipped; rare ones are commented out. The output
    is TOML to review: kanalytics never applies it.
    """
    arch = open_cli_archive(archive, config)
    target = out if out is not None and str(out) != "-" else None
    result = arch.tune(start=from_, end=to, clusters=cluster, min_days=min_days, out=target, force=force)
    if target is None:
        sys.stdout.write(result.text)
    confident = sum(e.confident for p in result.lists for e in p.entries)
    echo(
        f"tune: {number(result.proposed)} value(s) proposed ({number(confident)} uncommented), "
        f"{number(result.skipped)} already configured, {result.days_with_events} day(s) with events, "
        f"{result.seconds:.1f} s" + (f"; wrote {target}" if target is not None else ""),
        err=True,
    )
