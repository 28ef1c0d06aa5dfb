"""The receiver delivers an alert for a point-in-time detection within a minute of the API server's POST, with
the default flush settings, to a real local HTTP sink; its metrics count the finding and the delivery."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.outputs.sink_server import sink_server
from tests.outputs.test_alerts_end_to_end import QUERY, binding
from tests.serve.conftest import event_list


@pytest.mark.slow
def test_the_receiver_delivers_an_alert_within_a_minute_of_the_post(
    receiver_factory: Any, tmp_path: Path
) -> None:
    """With the default flush settings (30 s): the measured event-to-alert latency is printed for the record."""
    with sink_server() as hook:
        config = tmp_path / "kanalytics.toml"
        config.write_text(f'[[alerts.sinks]]\nname = "hook"\ntype = "webhook"\nurl = "{hook.url}/"\n')
        receiver = receiver_factory("--config", str(config), "--cluster", "prod")
        sent = time.time()
        assert receiver.post(event_list([binding(datetime.now(UTC))])).status_code == 200
        [received] = hook.wait_for(1, timeout=75)
        latency = received.at - sent
        print(f"event-to-alert latency: {latency:.1f} s")
        assert latency <= 60, receiver.log()
        assert received.body["output_fields"]["kanalytics.cluster"] == "prod"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                delivered = receiver.metric('kanalytics_alerts_total{sink="hook",state="delivered"}')
                break
            except AssertionError:
                time.sleep(0.2)
        assert delivered == 1
        found = receiver.metric(
            f'kanalytics_findings_total{{cluster="prod",query="{QUERY}",severity="high"}}'
        )
        assert found == 1
        assert receiver.stop() == 0
