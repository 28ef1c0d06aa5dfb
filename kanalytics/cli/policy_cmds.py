"""Audit policy commands: `policy check|suggest`, each one call into `kanalytics.catalog.policy`."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kanalytics.cli import app
from kanalytics.cli.options import ConfigOption
from kanalytics.cli.output import echo, number, print_json

if TYPE_CHECKING:
    from kanalytics.catalog.policy import PolicyCheck

policy_app = typer.Typer(
    help="Check a kube-apiserver audit policy against the catalog, or print the recommended one.",
    no_args_is_help=True,
)
app.add_typer(policy_app, name="policy")

REASONS_SHOWN = 3  # per blind query in the table; --format json lists them all


class PolicyFormat(StrEnum):
    table = "table"
    json = "json"


@policy_app.command("check")
def check(
    policy_file: Annotated[
        Path, typer.Argument(help="An audit.k8s.io/v1 Policy YAML (the file --audit-policy-file names).")
    ],
    fmt: Annotated[
        PolicyFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = PolicyFormat.table,
    config: ConfigOption = None,
) -> None:
    """For each catalog query, whether POLICY_FILE logs what it reads (level, resources, verbs, stages); which
    resources would have Secret or token bodies written to the API server's own log; and the volume by level
    on a synthetic cluster's request mix.

    Exit code 0 when every query is covered, 1 when some queries would be blind, 2 when the policy is invalid
    (the message names the line and key).
    """
    from kanalytics.catalog.loader import load_catalog
    from kanalytics.catalog.policy import check_policy, load_policy
    from kanalytics.config import load_settings

    policy = load_policy(policy_file)
    result = check_policy(policy, load_catalog(settings=load_settings(config)))
    if fmt == PolicyFormat.json:
        print_json(result.to_json())
    else:
        _print_check(result)
    if not result.covered:
        raise typer.Exit(1)


@policy_app.command("suggest")
def suggest() -> None:
    """Print the recommended audit policy: every catalog query covered at the least volume (Metadata for
    most, Request for the bodies detections read, never a Secret body, None for system noise). Save it and
    pass it to kube-apiserver with --audit-policy-file."""
    from kanalytics.catalog.policy import recommended_policy_text

    sys.stdout.write(recommended_policy_text())


def _print_check(result: PolicyCheck) -> None:
    covered = result.queries - len(result.blind)
    echo(f"policy {result.source}: {covered} of {result.queries} queries covered, {len(result.blind)} blind")
    for blind in result.blind:
        echo(f"  blind  {blind.query_id} (needs {blind.needs_level})")
        for reason in blind.reasons[:REASONS_SHOWN]:
            echo(f"           {reason}")
        if len(blind.reasons) > REASONS_SHOWN:
            echo(f"           ... {len(blind.reasons) - REASONS_SHOWN} more (--format json lists them)")
    echo("")
    if result.leaks:
        echo(
            "secret material written to the API server's own audit log (the archive redacts it, those files do not):"
        )
        for leak in result.leaks:
            echo(f"  {leak.resource} at {leak.level} or above, {leak.rule}: {leak.what}; "
                 f"by {', '.join(leak.identities)}")  # fmt: skip
    else:
        echo("no Secret or token bodies are written to the API server's own audit log")
    echo("")
    echo("volume per million API requests:")
    for line in result.volume:
        echo(f"  {line.level:<16} {number(line.events):>12} events  {number(line.bytes / 1e6):>10} MB")
    echo(f"  ({result.volume_note})")
    for note in result.notes:
        echo(f"note: {note}")
