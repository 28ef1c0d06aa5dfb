"""`kanalytics alerts list|retry`: the archive's alert outbox, seen and re-queued through kanalytics.outputs.alerts."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from kanalytics.cli import app
from kanalytics.cli.common import open_cli_archive
from kanalytics.cli.options import (
    ArchiveOption,
    ConfigOption,
    FormatOption,
    JsonOption,
    OutputFormat,
)
from kanalytics.cli.output import check_format, echo, number, print_frame, print_json

if TYPE_CHECKING:
    from kanalytics.outputs.alerts.listing import DeliveryListing
    from kanalytics.outputs.alerts.outbox import Delivery

alerts_app = typer.Typer(
    help="Alerts: the outbox of deliveries to sinks, and re-sending.", no_args_is_help=True
)
app.add_typer(alerts_app, name="alerts")

TABLE_COLUMNS = ("alert", "created", "sink", "state", "attempts", "severity", "query", "cluster", "identity",
                 "count", "last_response")  # fmt: skip
SHORT_ID = 8


class DeliveryState(StrEnum):
    pending = "pending"
    retrying = "retrying"
    delivered = "delivered"
    dead = "dead"


SinkOption = Annotated[
    str | None, typer.Option("--sink", help="Only deliveries to this sink (its `name`).", show_default=False)
]


@alerts_app.command("list")
def alerts_list(
    archive: ArchiveOption,
    state: Annotated[
        DeliveryState | None,
        typer.Option(
            "--state", help="Only deliveries in this state.", case_sensitive=False, show_default=False
        ),
    ] = None,
    sink: SinkOption = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many deliveries, newest first.")] = 100,
    fmt: FormatOption = OutputFormat.table,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List alert deliveries, newest alert first, with the counts per sink and state on stderr.

    A "dead" delivery is the dead-letter record: the sink refused it (a 4xx) or it kept failing past the
    sink's `give_up_hours`; its last status and response are shown. `kanalytics alerts retry` sends it again.
    """
    shape = check_format(OutputFormat.json if as_json else fmt)
    listing = open_cli_archive(archive, config).alerting.deliveries(
        state=state.value if state else None, sink=sink, limit=max(0, limit)
    )
    if shape == "json":
        print_json(listing.to_json())
    else:
        _print_table(listing.deliveries, fmt)
    echo(_summary(listing), err=True)


@alerts_app.command("retry")
def alerts_retry(
    archive: ArchiveOption,
    alert_ids: Annotated[
        list[str] | None,
        typer.Argument(help="Alert ids (or their first 8 characters, as `alerts list` shows). Default: all."),
    ] = None,
    sink: SinkOption = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Also deliveries still being retried, not only dead ones.")
    ] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Put dead deliveries (with --all-failed, retrying ones too) back in the queue and send them now.

    One delivery pass of at most 30 s follows; what still fails is retried with backoff by `kanalytics serve`
    or the next pass. Exit code 1 when no delivery matched, or when one of them failed again.
    """
    import dataclasses

    arch = open_cli_archive(archive, config)
    queued = arch.alerting.retry(alert_ids=alert_ids or (), sink=sink, all_failed=all_failed)
    which = "dead or retrying" if all_failed else "dead"
    if not queued:
        if as_json:
            print_json({"queued": 0})
        echo(f"no {which} deliveries matched: `kanalytics alerts list --state dead` lists them", err=True)
        raise typer.Exit(1)
    stats = arch.alerting.deliver(seconds=30.0)
    if as_json:
        print_json({"queued": queued, "delivery": dataclasses.asdict(stats) if stats else None})
    else:
        echo(f"{number(queued)} {which} deliveries back to pending")
        if stats is not None:
            echo(
                f"delivery: {number(stats.delivered)} delivered, {number(stats.retrying)} to retry, "
                f"{number(stats.dead)} failed"
            )
    if stats is not None and (stats.retrying or stats.dead):
        raise typer.Exit(1)


@alerts_app.command("test")
def alerts_test(
    sink: Annotated[str, typer.Argument(help="The sink's `name` in [[alerts.sinks]].")],
    archive: ArchiveOption,
    config: ConfigOption = None,
) -> None:
    """Send one test alert straight to SINK (not through the outbox) and print how it went.

    Exit code 0 when the sink accepted it (2xx), 1 otherwise, with the sink's answer: usable as a deployment
    check. The sink's secrets are read as for real alerts and never printed.
    """
    arch = open_cli_archive(archive, config)
    outcome = arch.alerting.test(sink)
    if outcome.state == "delivered":
        echo(f"sink {sink!r}: delivered (HTTP {outcome.status})")
        return
    retry = f"; the sink asked to retry after {outcome.retry_after:g} s" if outcome.retry_after else ""
    echo(f"sink {sink!r}: not delivered: {outcome.response}{retry}", err=True)
    raise typer.Exit(1)


def _print_table(deliveries: list[Delivery], fmt: OutputFormat) -> None:
    import polars as pl

    rows = [
        {
            "alert": d.alert.id[:SHORT_ID],
            "created": d.alert.created_at.isoformat(timespec="seconds"),
            "sink": d.sink,
            "state": d.state,
            "attempts": str(d.attempts),
            "severity": d.alert.severity,
            "query": d.alert.query_id,
            "cluster": d.alert.cluster or "",
            "identity": _identity(d),
            "count": str(d.alert.count),
            "last_response": _last(d),
        }
        for d in deliveries
    ]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(TABLE_COLUMNS, pl.String))
    print_frame(frame, fmt)


def _identity(delivery: Delivery) -> str:
    alert = delivery.alert
    if "user_name" in alert.dedup:
        return alert.dedup["user_name"] or ""
    first = alert.findings[0].get("user_name") if alert.findings else None
    return str(first) if first is not None else ""


def _last(delivery: Delivery) -> str:
    """The dead-letter record of a failed delivery: the response (it starts with the status line)."""
    if delivery.state not in ("dead", "retrying"):
        return ""
    if delivery.last_response:
        return delivery.last_response
    return "" if delivery.last_status is None else str(delivery.last_status)


def _summary(listing: DeliveryListing) -> str:
    if not listing.counts:
        return "no alerts in the outbox"
    sinks: dict[str, list[str]] = {}
    for (sink, state), n in listing.counts.items():
        sinks.setdefault(sink, []).append(f"{number(n)} {state}")
    return "deliveries: " + "; ".join(f"{sink}: {', '.join(parts)}" for sink, parts in sinks.items())
