"""Machine outputs of a report run: findings.csv / findings.json (untruncated), incidents.json and run.json (how
to reproduce)."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kanalytics.catalog.findings import finding_id, json_safe
from kanalytics.catalog.model import FINDING_NAMES, Finding
from kanalytics.textsafe import csv_cell, escape_json_text

if TYPE_CHECKING:
    from kanalytics.archive.dispositions import Disposition
    from kanalytics.catalog.incidents import Incident
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.review import IncidentVerdict

# What findings.csv/json add after the finding shape: what `kanalytics triage set` takes, the incident the
# finding is in, the analyst's disposition covering it, and its check's guidance (the query header).
REVIEW_COLUMNS = (
    "finding_id", "incident_id", "verdict", "reviewed_by", "reviewed_at", "review_note", "triage", "remediation",
)  # fmt: skip
CSV_COLUMNS = (*FINDING_NAMES, *REVIEW_COLUMNS)  # findings.csv: the finding shape's columns, then the review


@dataclass(frozen=True)
class ReviewLookup:
    """The REVIEW_COLUMNS of each finding: `reviews` (finding id -> the disposition covering it,
    `catalog.review.reviews_for`), `incidents` (finding id -> incident id) and `guidance` (query id ->
    triage, remediation). Empty: only the finding id is filled."""

    reviews: Mapping[str, Disposition] = field(default_factory=dict)
    incidents: Mapping[str, str] = field(default_factory=dict)
    guidance: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, reviews: Mapping[str, Disposition], incidents: Iterable[Incident], catalog: Catalog
    ) -> ReviewLookup:
        members = {finding_id(f): i.id for i in incidents for f in i.findings}
        guidance = {
            q.id: (q.header.triage.strip(), q.header.remediation.strip()) for q in catalog.queries.values()
        }
        return cls(reviews, members, guidance)

    def values(self, finding: Finding) -> dict[str, str | None]:
        """The review columns of one finding; None where nothing was recorded (an empty CSV cell)."""
        fid = finding_id(finding)
        review = self.reviews.get(fid)
        triage, remediation = self.guidance.get(finding.query_id, ("", ""))
        return {
            "finding_id": fid,
            "incident_id": self.incidents.get(fid),
            "verdict": review.verdict if review else None,
            "reviewed_by": review.by if review else None,
            "reviewed_at": review.at.isoformat() if review else None,
            "review_note": review.note if review else None,
            "triage": triage or None,
            "remediation": remediation or None,
        }


def write_csv(
    handle: IO[str], columns: Sequence[str], rows: Iterable[Sequence[Any]], *, lineterminator: str = "\r\n"
) -> None:
    """The one CSV writer (report files, `findings -f csv`, `sql -f csv`): every cell through `csv_cell`,
    so no cell runs as a spreadsheet formula and no control or bidi character reaches the reader raw."""
    writer = csv.writer(handle, lineterminator=lineterminator)
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])


def write_findings_csv(findings: list[Finding], out: Path, lookup: ReviewLookup | None = None) -> None:
    """Every finding, one row each, then its review columns (`lookup`); extra evidence columns as one JSON
    object so no column is lost."""
    lookup = lookup or ReviewLookup()

    def rows() -> Iterable[list[Any]]:
        for f in findings:
            data = json_safe(f.to_json()) | lookup.values(f)
            data["evidence"] = json.dumps(data.get("evidence") or {}, sort_keys=True, ensure_ascii=False)
            yield [data.get(c) for c in CSV_COLUMNS]

    with out.open("w", encoding="utf-8", newline="") as handle:
        write_csv(handle, CSV_COLUMNS, rows())


def write_findings_json(findings: list[Finding], out: Path, lookup: ReviewLookup | None = None) -> None:
    """A JSON array of every finding with its review keys (`lookup`), written one finding at a time (never the
    whole text in memory)."""
    lookup = lookup or ReviewLookup()
    _write_array(out, (json_safe(f.to_json()) | lookup.values(f) for f in findings))


def write_incidents_json(
    incidents: list[Incident], out: Path, verdicts: Mapping[str, IncidentVerdict] | None = None
) -> None:
    """A JSON array of the ranked incidents, as `kanalytics incidents --format json` prints them, each with its
    verdict, disposition and reviewed member count (`IncidentVerdict.to_json`; null/0 when not reviewed)."""
    verdicts = verdicts or {}

    def items() -> Iterable[dict[str, Any]]:
        for incident in incidents:
            verdict = verdicts.get(incident.id)
            extra = verdict.to_json() if verdict else {"verdict": None, "review": None, "reviewed": 0}
            yield json_safe(incident.to_json()) | extra

    _write_array(out, items())


def _write_array(out: Path, items: Iterable[dict[str, Any]]) -> None:
    """One JSON object per line inside `[...]`, escaped for a reader's terminal (`escape_json_text`)."""
    with out.open("w", encoding="utf-8") as handle:
        handle.write("[")
        empty = True
        for item in items:
            handle.write("\n " if empty else ",\n ")
            handle.write(escape_json_text(json.dumps(item, sort_keys=True, ensure_ascii=False)))
            empty = False
        handle.write("]\n" if empty else "\n]\n")


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
