"""The demo end to end at the synthesiser's minimum size: every injected incident is found and named.

122,000 events (2,000 a day over 61 days, the synthesiser's minimum) through synth, ingest, the catalog and
the report. The PDF is left out: rendering it takes longer than the rest together, and the PDF text of the
same template is checked in test_report.py; the HTML (same template, same context) is checked here instead.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from kanalytics.catalog.model import SEVERITY_ORDER
from kanalytics.report.demo import DEMO_DAYS, run_demo
from kanalytics.synth import MIN_EVENTS_PER_DAY, SCENARIOS


def test_tiny_demo_finds_and_names_every_incident(tmp_path: Path) -> None:
    result = run_demo(tmp_path, events=MIN_EVENTS_PER_DAY * DEMO_DAYS, formats=("html", "json"))
    findings = json.loads(result.files["json"].read_text(encoding="utf-8"))
    text = " ".join(
        html.unescape(re.sub(r"<[^>]+>", " ", result.files["html"].read_text(encoding="utf-8"))).split()
    )
    # every scenario is injected, the multi-step intrusion (ci-token-takeover) included: 13 of them
    assert [i["scenario"] for i in result.incidents] == list(SCENARIOS) and len(SCENARIOS) == 13
    missed = []
    for incident in result.incidents:
        ids = set(incident["audit_ids"])
        hits = [f for f in findings if f["audit_id"] in ids]
        if not hits:
            missed.append(incident["scenario"])
            continue
        top = max(hits, key=lambda f: SEVERITY_ORDER[f["severity"]])
        assert top["title"] in text, (incident["scenario"], top["title"])
    assert missed == [], f"incidents without a finding on any of their audit IDs: {missed}"
