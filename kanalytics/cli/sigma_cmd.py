"""`kanalytics sigma convert`: Sigma rules for Kubernetes audit logs into catalog queries, one call into
`kanalytics.sigma`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kanalytics.cli import app
from kanalytics.cli.options import JsonOption
from kanalytics.cli.output import echo, number, print_json

sigma_app = typer.Typer(help="Sigma rules (Kubernetes audit) into catalog queries.", no_args_is_help=True)
app.add_typer(sigma_app, name="sigma")


@sigma_app.command("convert")
def convert(
    rules: Annotated[
        list[Path],
        typer.Argument(
            help="Sigma rule files, or folders searched recursively for *.yml and *.yaml.",
            metavar="RULE.yml|DIR...",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Query folder to write into (as `OUT/detections/sigma-TITLE.sql`); list it in `query_paths` "
            "of kanalytics.toml to run the converted rules.",
            show_default=False,
        ),
    ],
    json_: JsonOption = False,
) -> None:
    """Convert Sigma rules with `logsource: product: kubernetes, service: audit` into detection queries.

    Rules that cannot be expressed (other logsources, fields the archive does not have, keywords,
    correlations) are skipped, each with its reason on stderr. Converted rules are starting points: review
    them (docs/sigma.md) before relying on them.

    Exit code 0 when at least one rule was converted and every file could be read, 1 when a file could not
    be read or parsed, or when no rule was converted.
    """
    from kanalytics.sigma import convert_rules

    result = convert_rules(rules, out)
    if json_:
        print_json(result.to_json())
    else:
        for written in result.written:
            echo(f"wrote {written.path} (Sigma rule {written.rule_id or written.title})")
    for skipped in result.skipped:
        echo(f"skipped: {skipped.file}: {skipped.title or skipped.rule_id}: {skipped.reason}", err=True)
    for failed in result.failed:
        echo(f"error: {failed.file}: {failed.reason}", err=True)
    echo(
        f"{number(len(result.written))} converted, {number(len(result.skipped))} skipped, "
        f"{number(len(result.failed))} file(s) not read",
        err=True,
    )
    if result.failed or not result.written:
        if not result.written:
            echo("error: no rule was converted", err=True)
        raise typer.Exit(1)
