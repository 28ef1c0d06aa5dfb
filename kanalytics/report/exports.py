"""Machine outputs of a report run: findings.csv / findings.json (untruncated) and run.json (how to reproduce)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

from kanalytics.catalog.findings import json_safe
from kanalytics.catalog.model import Finding

CSV_COLUMNS = (
    "severity", "query_id", "title", "kind", "area", "ts", "cluster", "audit_id", "user_name", "source_ip",
    "verb", "resource", "namespace", "object_name", "summary", "score", "baseline", "evidence",
)  # fmt: skip


def write_findings_csv(findings: list[Finding], out: Path) -> None:
    """Every finding, one row each; extra evidence columns as one JSON object so no column is lost."""
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for f in findings:
            data = json_safe(f.to_json())
            data["evidence"] = json.dumps(data.get("evidence") or {}, sort_keys=True, ensure_ascii=False)
            writer.writerow([_csv_cell(data.get(c)) for c in CSV_COLUMNS])


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection: a log value starting with = + - @ must stay text when opened.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_findings_json(findings: list[Finding], out: Path) -> None:
    """A JSON array of every finding, written one finding at a time (never the whole text in memory)."""
    with out.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for index, finding in enumerate(findings):
            handle.write(",\n " if index else "\n ")
            handle.write(json.dumps(json_safe(finding.to_json()), sort_keys=True, ensure_ascii=False))
        handle.write("\n]\n" if findings else "]\n")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_run_json(run_info: dict[str, Any], outputs: dict[str, Path], out: Path) -> None:
    """Parameters, versions and the archive checkpoint, plus the SHA-256 of every file this run wrote."""
    data = dict(run_info)
    data["outputs"] = {
        name: {"file": p.name, "sha256": sha256_file(p)} for name, p in sorted(outputs.items())
    }
    out.write_text(json.dumps(json_safe(data), indent=2, sort_keys=True) + "\n", encoding="utf-8")
