"""Analysts' dispositions of findings and incidents, kept in the archive with the manifest chain.

CONTRACT (the lead wrote this part; the dispositions helper implements the rest of the module):

- `Disposition` is one recorded verdict. `target` is a finding id ("f-…", `kanalytics.catalog.findings.
  finding_id`) or an incident id ("inc-…"); `findings` the finding ids it covers (for a finding: itself; for an
  incident: its member findings when the verdict was recorded).
- `latest_dispositions(layout)` returns the newest disposition per target from the committed files only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Verdict = Literal["benign", "true-positive", "needs-follow-up"]
VERDICTS: tuple[str, ...] = Verdict.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Disposition:
    target: str  # "f-…" (a finding) or "inc-…" (an incident)
    verdict: Verdict
    note: str
    by: str  # who reviewed it (free text: a name or e-mail)
    at: datetime  # when it was recorded (UTC)
    findings: tuple[str, ...] = field(default_factory=tuple)  # finding ids it covers
    seq: int | None = None  # the manifest that committed it

    def text(self) -> str:
        """One line for the report: "benign, reviewed by alice on 2026-11-03: known maintenance"."""
        line = f"{self.verdict}, reviewed by {self.by} on {self.at:%Y-%m-%d}"
        return f"{line}: {self.note}" if self.note else line

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "verdict": self.verdict,
            "note": self.note,
            "by": self.by,
            "at": self.at.isoformat(),
            "findings": list(self.findings),
            "seq": self.seq,
        }
