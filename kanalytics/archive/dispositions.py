"""Analysts' dispositions of findings and incidents: review evidence kept in the archive with the manifest chain.

A disposition is one recorded verdict (benign, true-positive, needs-follow-up) with a note and a reviewer.
`target` is a finding id ("f-…", `kanalytics.catalog.findings.finding_id`) or an incident id ("inc-…");
`findings` the finding ids it covers (for a finding: itself; for an incident: its member findings when the
verdict was recorded, so the verdict survives the incident id changing when a later batch adds a member).

Storage is an append-only log: each `record_disposition` writes one small JSON Lines file under
`_dispositions/` and commits it with its own `triage` manifest (SHA-256 in the manifest, signed when a key is
configured), under the writer lock, like every other archive change; `verify` hashes these files whatever
period it is asked about, and reports them missing, modified or unexpected like the others. A later verdict
on the same target supersedes the earlier one for reading (`latest_dispositions`), but nothing is ever
rewritten: the history (`disposition_history`) is what an auditor asks for (PCI DSS 10.4.1, SOC 2 CC7.3).
Retention never deletes dispositions: they are not in any `cluster=/date=` partition, so no retention plan
lists them, and the evidence that logs were reviewed must outlive the logs themselves.
"""

from __future__ import annotations

import dataclasses
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import orjson

from kanalytics.archive import manifest as manifests
from kanalytics.archive.chain import readable_path, snapshot
from kanalytics.archive.fsutil import sha256_file
from kanalytics.archive.layout import Layout
from kanalytics.archive.lock import writer_lock
from kanalytics.archive.manifest import FileEntry
from kanalytics.archive.rows import format_timestamp
from kanalytics.errors import ArchiveError, UsageError
from kanalytics.textsafe import BIDI_CONTROLS, CONTROL_CHARS
from kanalytics.vocabulary import TRIAGE_OPERATION

if TYPE_CHECKING:
    from kanalytics.archive.signing import Keys

Verdict = Literal["benign", "true-positive", "needs-follow-up"]
VERDICTS: tuple[str, ...] = Verdict.__args__  # type: ignore[attr-defined]

KIND = "dispositions"  # the manifest entries' kind (layout.KIND_DIRS)
RECORD_FORMAT = "kanalytics.disposition"
RECORD_VERSION = 1
MAX_NOTE = 2_000
MAX_BY = 200
_TARGET = re.compile(r"\A(f|inc)-[0-9a-f]+\Z")
_FINDING = re.compile(r"\Af-[0-9a-f]+\Z")
_HIDDEN = CONTROL_CHARS | BIDI_CONTROLS  # characters that would forge or reorder a line of the report
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ID_HINT = (
    "finding ids are the `finding_id` of `kanalytics findings --json` (or of the report's findings.csv); "
    "incident ids are the `id` of `kanalytics incidents --json`"
)


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


# -- validation -------------------------------------------------------------------------------------------
def check_disposition(disposition: Disposition) -> Disposition:
    """The disposition as it will be stored (reviewer and note stripped, time in UTC, a finding covering
    itself), or a UsageError saying what to change. Called before any work, and again by the writer."""
    d = disposition
    if d.verdict not in VERDICTS:
        raise UsageError(f"unknown verdict {d.verdict!r}", hint=f"use one of: {', '.join(VERDICTS)}")
    check_target(d.target)
    by, note = d.by.strip(), d.note.strip()
    if not by:
        raise UsageError(
            "a disposition needs a reviewer (--by)",
            hint="give the name or e-mail of the person who reviewed it: the record is the audit evidence",
        )
    _check_text("--by", by, MAX_BY)
    _check_text("--note", note, MAX_NOTE)
    if d.at.tzinfo is None:
        raise UsageError(
            f"disposition time {d.at.isoformat()} has no time zone", hint="pass an aware datetime"
        )
    findings = tuple(dict.fromkeys(d.findings)) or ((d.target,) if d.target.startswith("f-") else ())
    bad = [f for f in findings if not isinstance(f, str) or not _FINDING.match(f)]
    if bad:
        raise UsageError(f"{bad[0]!r} is not a finding id (a disposition covers finding ids)", hint=ID_HINT)
    if d.target.startswith("f-") and findings != (d.target,):
        raise UsageError(
            f"a disposition of the finding {d.target} covers that finding only",
            hint="record a verdict on each finding, or on the incident that contains them",
        )
    return dataclasses.replace(d, by=by, note=note, at=d.at.astimezone(UTC), findings=findings)


def check_target(target: str) -> str:
    """`target` when it has the shape of a finding or incident id, else a UsageError saying where ids are."""
    if not isinstance(target, str) or not _TARGET.match(target):
        raise UsageError(f"{target!r} is not a finding or incident id", hint=ID_HINT)
    return target


def _check_text(option: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise UsageError(
            f"{option} is {len(text):,} characters long (at most {limit:,})",
            hint="keep it short and point to the ticket or document that holds the details",
        )
    hidden = next((c for c in text if ord(c) in _HIDDEN), None)
    if hidden is not None:
        raise UsageError(
            f"{option} contains the control character U+{ord(hidden):04X}",
            hint="use one line of plain text (no newlines, tabs, escape or bidi characters)",
        )


# -- write side -------------------------------------------------------------------------------------------
def record_disposition(layout: Layout, keys: Keys | None, disposition: Disposition) -> Disposition:
    """Validate `disposition` and commit it in its own `triage` manifest (signed by `keys`, if any); returns it
    as stored, with `seq` filled. Takes the writer lock; a kill leaves it either committed or absent."""
    checked = check_disposition(disposition)
    line = to_line(checked)
    with writer_lock(layout):
        manifests.recover(layout, keys=keys)
        name = f"{checked.at:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
        relpath = layout.disposition_file(name)
        entry = _write(layout, relpath, line, checked.at)
        committed = manifests.append_manifest(
            layout,
            TRIAGE_OPERATION,
            added=[entry],
            details={"target": checked.target, "verdict": checked.verdict, "by": checked.by},
            keys=keys,
        )
        manifests.publish(layout, [relpath])
    return dataclasses.replace(checked, seq=committed.seq)


def _write(layout: Layout, relpath: str, line: bytes, at: datetime) -> FileEntry:
    """Write the file under its temporary name (fsynced) and describe it for the manifest."""
    tmp = layout.tmp_path(relpath)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "wb") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    stamp = format_timestamp((at - _EPOCH) // timedelta(microseconds=1))
    return FileEntry(
        path=relpath,
        sha256=sha256_file(tmp),
        bytes=tmp.stat().st_size,
        kind=KIND,
        rows=1,
        min_ts=stamp,
        max_ts=stamp,
    )


def to_line(disposition: Disposition) -> bytes:
    """One JSON Lines record (the manifest's seq is not in it: the chain says which manifest committed it)."""
    record = {"format": RECORD_FORMAT, "version": RECORD_VERSION, **disposition.to_json()}
    del record["seq"]
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n"


def from_line(line: bytes, origin: str, seq: int | None = None) -> Disposition:
    """Parse one record written by `to_line`; an ArchiveError naming `origin` when it is not one."""
    try:
        raw = orjson.loads(line)
        if raw.get("format") != RECORD_FORMAT or raw.get("version") != RECORD_VERSION:
            raise ValueError(f"not a {RECORD_FORMAT} record of version {RECORD_VERSION}")
        parsed = Disposition(
            target=raw["target"],
            verdict=raw["verdict"],
            note=raw["note"],
            by=raw["by"],
            at=datetime.fromisoformat(raw["at"]),
            findings=tuple(raw["findings"]),
        )
        checked = check_disposition(parsed)
    except (orjson.JSONDecodeError, ValueError, KeyError, TypeError, AttributeError, UsageError) as exc:
        raise ArchiveError(
            f"{origin}: unreadable disposition: {exc.message if isinstance(exc, UsageError) else exc}",
            hint="the file was changed after it was committed: run `kanalytics verify`",
        ) from None
    return dataclasses.replace(checked, seq=seq)


# -- read side --------------------------------------------------------------------------------------------
def all_dispositions(layout: Layout) -> list[Disposition]:
    """Every committed disposition, oldest first (in manifest order); files no manifest commits are not read."""
    return list(_iter_committed(layout))


def latest_dispositions(layout: Layout) -> dict[str, Disposition]:
    """The newest disposition per target (finding or incident id), from the committed files only."""
    return {d.target: d for d in _iter_committed(layout)}


def disposition_history(layout: Layout, target: str) -> list[Disposition]:
    """Every disposition recorded on `target`, oldest first (the last one is the one in force)."""
    return [d for d in _iter_committed(layout) if d.target == target]


def _iter_committed(layout: Layout) -> Iterator[Disposition]:
    state = snapshot(layout)
    entries = sorted(
        ((seq, entry.path, entry) for entry, seq in state.live.values() if entry.kind == KIND),
        key=lambda item: (item[0], item[1]),
    )
    for seq, relpath, entry in entries:
        try:
            data = readable_path(layout, entry).read_bytes()
        except OSError as exc:
            raise ArchiveError(
                f"cannot read the dispositions file {relpath}: {exc.strerror or exc}",
                hint="run `kanalytics verify` to see whether it was removed or changed",
            ) from None
        for number, line in enumerate(data.splitlines(), start=1):
            if line.strip():
                yield from_line(line, f"{relpath}:{number}", seq)


__all__ = [
    "MAX_NOTE",
    "VERDICTS",
    "Disposition",
    "Verdict",
    "all_dispositions",
    "check_disposition",
    "check_target",
    "disposition_history",
    "from_line",
    "latest_dispositions",
    "record_disposition",
    "to_line",
]
