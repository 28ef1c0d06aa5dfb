"""The `kanalytics` command: a thin Typer layer over the library, with the one error boundary.

Each command module registers its commands on `app`; heavy libraries (duckdb, polars, pyarrow) are imported
inside the commands so that `--help` stays instant.
"""

from __future__ import annotations

import sys
import warnings

import typer

from kanalytics.errors import KanalyticsError, StorageError

app = typer.Typer(
    name="kanalytics",
    help="Archive, query, verify and report on Kubernetes audit logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode="markdown",  # "[signing]" in help stays text; paragraphs reflow
)


def _version(value: bool) -> None:
    if value:
        from kanalytics import __version__

        typer.echo(f"kanalytics {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Archive, query, verify and report on Kubernetes audit logs."""
    warnings.showwarning = _warning_line


# Command modules register themselves on import; keep this list the only place that wires them.
from kanalytics.cli import (  # noqa: E402,F401
    alerts_cmd,
    archive_cmds,
    catalog_cmds,
    incidents_cmd,
    policy_cmds,
    report_cmds,
    retention_cmds,
    serve_cmd,
    sigma_cmd,
    synth_cmd,
    triage_cmd,
    tune_cmd,
)


def main() -> None:
    """Entry point: run the app and turn library errors into one line on stderr and a non-zero exit."""
    from kanalytics.config import debug_enabled

    debug = debug_enabled()
    warnings.showwarning = _warning_line
    try:
        app()  # standalone mode: usage errors print themselves with the usage line and exit 2
    except KanalyticsError as exc:
        if debug:
            raise
        from kanalytics.cli.output import error_text

        typer.echo(error_text(exc), err=True)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # the boundary: anything unexpected is a bug, reported without locals
        if debug:
            raise
        # A full disk, a read-only mount or a refused permission is the machine's state, not a bug.
        if (storage := StorageError.from_os_error(exc, _write_target(sys.argv[1:]))) is not None:
            from kanalytics.cli.output import error_text

            typer.echo(error_text(storage), err=True)
            sys.exit(storage.exit_code)
        from kanalytics.textsafe import visible

        typer.echo(
            f"error: unexpected {type(exc).__name__}: {visible(str(exc))}\n"
            "  hint: this is a bug in kanalytics; re-run with KANALYTICS_DEBUG=1 for the traceback",
            err=True,
        )
        sys.exit(70)


def _warning_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    """Library warnings (nothing matched, a listing cut at its limit) as one `warning:` line on stderr."""
    from kanalytics.cli.output import echo

    echo(f"warning: {message}", err=True)


# Options naming where a command writes, most specific first: the output, else the archive.
_WRITE_TARGETS = (("--out", "-o"), ("--archive", "-a"))


def _write_target(argv: list[str]) -> str | None:
    """Where the failed command was told to write (`--out`, else `--archive`/$KANALYTICS_ARCHIVE): named when
    the OS error carries no path of its own, as errors from pyarrow and from plain writes do not."""
    for names in _WRITE_TARGETS:
        for index, arg in enumerate(argv):
            value = argv[index + 1] if arg in names and index + 1 < len(argv) else None
            if arg.startswith(f"{names[0]}="):
                value = arg.split("=", 1)[1]
            if value is not None:
                return "standard output" if value == "-" else value
    from kanalytics.config import archive_from_environment

    return archive_from_environment()
