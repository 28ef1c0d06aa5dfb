"""Machine outputs of a report run: findings.csv / findings.json (untruncated), incidents.json and run.json (how
to reproduce)."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kanalytics.catalog.findings import json_safe
from kanalytics.catalog.model import FINDING_NAMES, Finding
from kanalytics.textsafe import csv_cell, escape_json_text

if TYPE_CHECKING:
    from kanalytics.catalog.incidents import Incident

CSV_COLUMNS = FINDING_NAMES  # findings.csv has the finding shape's columns, in its order


def write_csv(
    handle: IO[str], columns: Sequence[str], rows: Iterable[Sequence[Any]], *, lineterminator: str = "\r\n"
) -> None:
    """The one CSV writer (report files, `findings -f csv`, `sql -f csv`): every cell through `csv_cell`,
    so no cell runs as a spreadsheet formula and no control or bidi character reaches the reader raw."""
    writer = csv.writer(handle, lineterminator=lineterminator)
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])


def write_findings_csv(findings: list[Finding], out: Path) -> None:
    """Every finding, one row each; extra evidence columns as one JSON object so no column is lost."""

    def rows() -> Iterable[list[Any]]:
        for f in findings:
            data = json_safe(f.to_json())
            data["evidence"] = json.dumps(data.get("evidence") or {}, sort_keys=True, ensure_ascii=False)
            yield [data.get(c) for c in CSV_COLUMNS]

    with out.open("w", encoding="utf-8", newline="") as handle:
        write_csv(handle, CSV_COLUMNS, rows())


def write_findings_json(findings: list[Finding], out: Path) -> None:
    """A JSON array of every finding, written one finding at a time (never the whole text in memory)."""
    with out.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for index, finding in enumerate(findings):
            handle.write(",\n " if index else "\n ")
            handle.write(
                escape_json_text(json.dumps(json_safe(finding.to_json()), sort_keys=True, ensure_ascii=False))
            )
        handle.write("\n]\n" if findings else "]\n")


def write_incidents_json(incidents: list[Incident], out: Path) -> None:
    """A JSON array of the ranked incidents, as `kanalytics incidents --format json` prints them."""
    with out.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for index, incident in enumerate(incidents):
            handle.write(",\n " if index else "\n ")
            handle.write(
                escape_json_text(
                    json.dumps(json_safe(incident.to_json()), sort_keys=True, ensure_ascii=False)
                )
            )
        handle.write("\n]\n" if incidents else "]\n")


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
