"""Integrity verification: walk the manifest chain and the files, CloudTrail `validate-logs` style.

The chain is always checked whole (links, sequence, signatures, an optional checkpoint held elsewhere); data
files (events and findings) are hashed for the requested dates, analysts' dispositions (undated review
evidence that every report reads) always. Every problem is one line; deletions by retention are reported as
such, never as missing; the summary says which dates could not be validated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kanalytics.archive import signing
from kanalytics.archive.chain import RETENTION_OPERATION, ChainState, replay
from kanalytics.archive.fsutil import sha256_file, sha256_stream
from kanalytics.archive.holds import hold_problem
from kanalytics.archive.layout import (
    DISPOSITIONS_DIR,
    EVENTS_DIR,
    FINDINGS_DIR,
    MANIFESTS_DIR,
    QUARANTINE_DIR,
    TMP_PREFIX,
    TMP_SUFFIX,
    Layout,
    dated_partition,
)
from kanalytics.archive.manifest import (
    FileEntry,
    Manifest,
    entry_problems,
    manifest_names,
    read_signature,
    signature_key,
)
from kanalytics.errors import ArchiveError

UNSIGNED_NOTE = (
    "the archive is unsigned: anyone who can write to it can append a well-formed manifest (a "
    "retention-delete that passes a deletion off as 'deleted by policy', say) that cannot be told from a "
    "genuine one; sign manifests (`kanalytics keygen`, [signing]) and verify against a checkpoint kept "
    "elsewhere (--checkpoint) to prove more"
)
_MANIFEST_NAME = re.compile(r"\A(\d{10})\.(json|sig)\Z")


@dataclass(frozen=True)
class Problem:
    subject: str  # "Manifest" | "File" | "Signature" | "Checkpoint"
    path: str
    message: str

    def line(self) -> str:
        return f"{self.subject} {self.path} INVALID: {self.message}"


@dataclass
class VerifyReport:
    """Everything `verify` found; `ok` only when every manifest and every checked file holds."""

    requested: tuple[str | None, str | None] = (None, None)
    manifests_total: int = 0
    manifests_valid: int = 0
    files_total: int = 0
    files_valid: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    valid_lines: list[str] = field(default_factory=list)
    deleted_files: int = 0
    deleted_dates: list[str] = field(default_factory=list)
    unvalidated_dates: list[str] = field(default_factory=list)
    signatures_checked: bool = False
    key: str | None = None
    last_seq: int | None = None
    last_sha256: str | None = None
    files_hashed: bool = True
    bytes_hashed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        text = f"{self.manifests_valid}/{self.manifests_total} manifests valid"
        if self.files_hashed:
            text += f", {self.files_valid}/{self.files_total} files valid"
        else:
            text += " (files not hashed)"
        if self.deleted_files:
            files = f"{self.deleted_files} file{'s' if self.deleted_files != 1 else ''}"
            text += f"; deleted by policy: {files} ({_ranges(self.deleted_dates)})"
        if self.problems:
            where = _ranges(self.unvalidated_dates) if self.unvalidated_dates else "no dated data affected"
            text += f"; could not be validated: {where}"
        return text

    def statement(self) -> str:
        """One sentence for a report: what was verified, and whether it held (never a silent pass)."""
        signed = (
            f"signatures checked with key {self.key}"
            if self.signatures_checked
            else "signatures not checked (the archive is unsigned or no public key is configured)"
        )
        if not self.ok:
            return (
                f"VERIFICATION FAILED ({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}): "
                f"{self.summary()}. Figures in this report may rest on altered or missing data; "
                "run `kanalytics verify` before relying on them."
            )
        if not self.files_hashed:
            return (
                f"Manifest chain verified, data files NOT verified (not hashed): {self.summary()}; {signed}."
            )
        span = f"{self.requested[0] or 'the beginning'} to {self.requested[1] or 'now'}"
        return f"Verified: {self.summary()} (file hashes checked for {span}); {signed}."

    def lines(self, verbose: bool = False) -> list[str]:
        out = [
            f"Results requested for {self.requested[0] or 'the beginning'} to {self.requested[1] or 'now'}"
        ]
        out += self.valid_lines if verbose else []
        out += [p.line() for p in self.problems]
        out += [f"note: {n}" for n in self.notes]
        out.append(self.summary())
        return out

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("problems", "valid_lines")}
        data["problems"] = [p.__dict__ | {"line": p.line()} for p in self.problems]
        data["ok"], data["summary"] = self.ok, self.summary()
        return data


def _ranges(dates: Iterable[str]) -> str:
    """Compact sorted ISO dates into `a..b, c` runs."""
    days = sorted({date.fromisoformat(d) for d in dates})
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return ", ".join(a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in runs)


def _dates_of(entries: Iterable[FileEntry]) -> set[str]:
    found: set[str] = set()
    for entry in entries:
        partition = dated_partition(entry.path)
        if partition is not None:
            found.add(partition.date.isoformat())
    return found


def verify_archive(
    layout: Layout,
    *,
    public_key: Ed25519PublicKey | None = None,
    start: date | None = None,
    end: date | None = None,
    checkpoint: tuple[int, str] | None = None,
    hash_files: bool = True,
) -> VerifyReport:
    """Verify the chain and (for dates in [start, end], inclusive) the files. Reads only; takes no lock."""
    if not layout.is_archive():
        raise ArchiveError(f"{layout.url} is not a kanalytics archive (no events/ or _manifests/ inside)")
    report = VerifyReport(requested=(start.isoformat() if start else None, end.isoformat() if end else None))
    report.files_hashed = hash_files
    state = _check_chain(layout, report, public_key)
    if checkpoint is not None:
        _check_checkpoint(layout, report, state, checkpoint)
    for entry, _ in state.deleted_by_policy.values():
        if (p := dated_partition(entry.path)) is not None:
            report.deleted_dates.append(p.date.isoformat())
    report.deleted_files = len(state.deleted_by_policy)
    report.deleted_dates = sorted(set(report.deleted_dates))
    if hash_files:
        _check_files(layout, report, state, start, end)
    report.unvalidated_dates = sorted(set(report.unvalidated_dates))
    return report


def _check_chain(layout: Layout, report: VerifyReport, public_key: Ed25519PublicKey | None) -> ChainState:
    state = ChainState()
    paths = _manifest_dir_names(layout, committed=True)
    report.manifests_total = len(paths)
    report.signatures_checked = public_key is not None
    report.key = signing.fingerprint(public_key) if public_key is not None else None
    previous: tuple[int, str, str] | None = None  # (seq, sha256, relative path) of the previous manifest
    unsigned_prefix: list[int] = []
    signed_seen = False
    bad: set[int] = set()
    for index, name in enumerate(paths, start=1):
        rel = f"{MANIFESTS_DIR}/{name}"
        data = _read(layout, rel)
        try:
            manifest = Manifest.from_bytes(data, rel, check_paths=False)
        except ArchiveError:
            report.problems.append(
                Problem("Manifest", rel, "invalid format (edited or corrupted); chain broken")
            )
            bad.add(index)
            previous = (index, "", rel)  # unreadable: already reported, so its link is not judged again
            continue
        match = _MANIFEST_NAME.match(name)
        named = int(match[1]) if match else -1
        problem: str | None = None
        if manifest.seq != named:
            problem = (
                f"has sequence {manifest.seq} but is stored as {named}: moved or reordered; chain broken"
            )
        elif previous is None and manifest.seq != 1:
            problem = f"manifests 1..{manifest.seq - 1} not found: chain broken"
        elif previous is not None and manifest.seq != previous[0] + 1:
            gap = (
                f"{previous[0] + 1}"
                if manifest.seq == previous[0] + 2
                else f"{previous[0] + 1}..{manifest.seq - 1}"
            )
            problem = f"manifest {gap} before it not found: chain broken"
        elif previous is None and manifest.prev_sha256 is not None:
            problem = "first manifest links to a predecessor that is not in the archive: chain broken"
        elif previous is not None and previous[1] and manifest.prev_sha256 != previous[1]:
            # The link from this manifest does not match its predecessor's bytes: the predecessor was
            # edited or replaced (or this one was rewritten). Blame the predecessor, as CloudTrail does.
            prev_rel = previous[2]
            report.problems.append(
                Problem(
                    "Manifest",
                    prev_rel,
                    f"hash value doesn't match the link in manifest {manifest.seq}; chain broken",
                )
            )
            bad.add(index - 1)
            report.unvalidated_dates.extend(
                _dates_of(state.manifests[-1].files_added if state.manifests else [])
            )
        if problem:
            report.problems.append(Problem("Manifest", rel, problem))
            bad.add(index)
        forged = [*entry_problems(manifest), *filter(None, [hold_problem(manifest)])]
        for message in forged:
            report.problems.append(Problem("Manifest", rel, f"{message}: forged or corrupted"))
            bad.add(index)
        if forged:
            # Its unsafe paths are never opened, hashed or deleted; its other entries are still checked.
            manifest = manifest.without_unsafe_entries()
        if public_key is not None:
            sig_seq = manifest.seq if problem is None else named
            sig = read_signature(layout, sig_seq)
            if sig is not None:
                signed_seen = True
                check = signing.check_signature(sig, public_key, manifest.seq, manifest.sha256)
                if not check.ok:
                    report.problems.append(Problem("Signature", signature_key(sig_seq), check.message))
                    bad.add(index)
            elif signed_seen:
                report.problems.append(Problem("Signature", rel, "not found (manifest is unsigned)"))
                bad.add(index)
            else:
                unsigned_prefix.append(manifest.seq)
        if index in bad:
            report.unvalidated_dates.extend(_dates_of([*manifest.files_added, *manifest.files_removed]))
        else:
            report.valid_lines.append(f"Manifest {rel} valid")
        state.apply(manifest)
        previous = (manifest.seq, manifest.sha256, rel)
    if public_key is not None and paths and not signed_seen:
        report.problems.append(Problem("Signature", "_manifests/", "no manifest is signed by the given key"))
        bad.add(len(paths))
    elif unsigned_prefix:
        report.notes.append(
            f"manifests {unsigned_prefix[0]}..{unsigned_prefix[-1]} predate signing; they are covered by the "
            "hash chain up to the first signed manifest"
        )
    if public_key is None and any(n.endswith(".sig") for n in _manifest_dir_names(layout)):
        report.notes.append(
            "manifests are signed but no public key was given: signatures not checked, so an appended "
            "manifest cannot be told from a genuine one (pass --public-key)"
        )
    elif public_key is None and paths:
        report.notes.append(UNSIGNED_NOTE)
    report.manifests_valid = report.manifests_total - len(bad)
    if state.manifests:
        report.last_seq, report.last_sha256 = state.manifests[-1].seq, state.manifests[-1].sha256
    _check_manifest_dir(layout, report, state)
    return state


def _check_manifest_dir(layout: Layout, report: VerifyReport, state: ChainState) -> None:
    """Stray files in `_manifests/`; a signature one past the end is a leftover of a killed commit."""
    names = _manifest_dir_names(layout)
    last = state.manifests[-1].seq if state.manifests else 0
    for name in names:
        rel = f"{MANIFESTS_DIR}/{name}"
        match = _MANIFEST_NAME.match(name)
        if name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX):
            report.notes.append(
                f"{rel}: temporary file of an interrupted commit (removed by the next writer)"
            )
        elif match and match[2] == "sig" and int(match[1]) == last + 1:
            report.notes.append(f"{rel}: signature of an interrupted commit (replaced by the next commit)")
        elif match and match[2] == "sig" and f"{match[1]}.json" not in names:
            report.problems.append(Problem("Signature", rel, "present but its manifest is not found"))
        elif not match:
            report.problems.append(Problem("File", rel, "present but in no manifest (unexpected file)"))


def _check_checkpoint(
    layout: Layout, report: VerifyReport, state: ChainState, checkpoint: tuple[int, str]
) -> None:
    seq, digest = checkpoint
    found = next((m for m in state.manifests if m.seq == seq), None)
    path = layout.manifest_key(seq)
    if found is None:
        report.problems.append(
            Problem(
                "Checkpoint",
                f"{seq}:{digest[:12]}…",
                f"manifest {seq} not found: archive rolled back or replaced",
            )
        )
    elif found.sha256 != digest:
        report.problems.append(
            Problem(
                "Checkpoint", path, "hash value doesn't match the checkpoint: chain rewritten or replaced"
            )
        )
    else:
        report.valid_lines.append(f"Checkpoint {seq}:{digest} valid")
        return
    # Nothing in the archive can be trusted against the auditor's checkpoint: every date is in doubt.
    report.unvalidated_dates.extend(_dates_of(e for e, _ in state.live.values()))


def file_problem(path: Path, entry: FileEntry, seq: int) -> str | None:
    """Why the file at `path` is not the one the manifest `seq` recorded, or None when it is."""
    if not path.is_file():
        return "not found"
    size = path.stat().st_size
    if size != entry.bytes:
        return f"hash value doesn't match (size {size} != {entry.bytes} recorded in manifest {seq})"
    if sha256_file(path) != entry.sha256:
        return f"hash value doesn't match (recorded in manifest {seq})"
    return None


def _read(layout: Layout, relpath: str) -> bytes:
    if layout.remote:
        return layout.storage.read_bytes(relpath)
    return (layout.root / relpath).read_bytes()


def _manifest_dir_names(layout: Layout, *, committed: bool = False) -> list[str]:
    """The names in `_manifests/` (only the committed manifests' with `committed`), sorted."""
    if committed:
        return manifest_names(layout)
    if layout.remote:
        return [k.split("/", 1)[1] for k in layout.storage.list(MANIFESTS_DIR)]
    if not layout.manifests.is_dir():
        return []
    return sorted(p.name for p in layout.manifests.iterdir())


def key_problem(layout: Layout, relpath: str, entry: FileEntry, seq: int) -> str | None:
    """`file_problem` for a committed file by its archive path, on a folder or an object store (where the
    object is streamed and hashed, never trusted from a cache or an ETag)."""
    if not layout.remote:
        return file_problem(layout.path(relpath), entry, seq)
    size = layout.storage.size(relpath)
    if size is None:
        return "not found"
    if size != entry.bytes:
        return f"hash value doesn't match (size {size} != {entry.bytes} recorded in manifest {seq})"
    with layout.storage.open_input(relpath) as stream:
        digest = sha256_stream(stream)
    if digest != entry.sha256:
        return f"hash value doesn't match (recorded in manifest {seq})"
    return None


def _untemp(relpath: str) -> str:
    head, _, name = relpath.rpartition("/")
    return f"{head}/{name[len(TMP_PREFIX) : -len(TMP_SUFFIX)]}"


def _check_files(
    layout: Layout, report: VerifyReport, state: ChainState, start: date | None, end: date | None
) -> None:
    def in_range(relpath: str) -> bool:
        if relpath.startswith(f"{DISPOSITIONS_DIR}/"):  # small, undated, and read by every report
            return True
        partition = dated_partition(relpath)  # events and findings files are dated by their partition
        if partition is None:  # quarantine files carry no date: checked only for an unbounded request
            return start is None and end is None
        return (start is None or partition.date >= start) and (end is None or partition.date <= end)

    def fail(relpath: str, message: str) -> None:
        report.problems.append(Problem("File", relpath, message))
        report.unvalidated_dates.extend(_dates_of([FileEntry(relpath, "", 0)]))

    for relpath, (entry, seq) in sorted(state.live.items()):
        if not in_range(relpath):
            continue
        report.files_total += 1
        if layout.remote:
            message = key_problem(layout, relpath, entry, seq)
            if message is None:
                report.files_valid += 1
                report.bytes_hashed += entry.bytes
                report.valid_lines.append(f"File {relpath} valid")
            else:
                fail(relpath, message)
            continue
        try:
            path = layout.path(relpath)
        except ArchiveError:
            fail(relpath, "leads outside the archive through a symlink")
            continue
        message = file_problem(path, entry, seq)
        if message == "not found" and layout.tmp_path(relpath).is_file():
            # Committed but killed before the rename: the next writer publishes it; readers read it meanwhile.
            message = file_problem(layout.tmp_path(relpath), entry, seq)
            if message is None:
                report.notes.append(f"{relpath}: committed but not yet renamed into place (interrupted)")
        if message is None:
            report.files_valid += 1
            report.bytes_hashed += entry.bytes
            report.valid_lines.append(f"File {relpath} valid")
        else:
            fail(relpath, message)
    removed = {**state.superseded, **state.deleted_by_policy}
    if layout.remote:
        _check_unexpected_keys(
            layout, state, removed, in_range, fail, report.notes, bounded=start is not None or end is not None
        )
        return
    for top in (layout.events, layout.findings, layout.quarantine, layout.dispositions):
        if not top.is_dir():
            continue
        for path in sorted(p for p in top.rglob("*") if p.is_file() or p.is_symlink()):
            relpath = path.relative_to(layout.root).as_posix()
            if relpath in state.live or not in_range(relpath):
                continue
            if path.is_symlink():
                fail(relpath, "a symlink in no manifest (unexpected file)")
            elif path.name.startswith(TMP_PREFIX) and path.name.endswith(TMP_SUFFIX):
                if _untemp(relpath) in state.live:
                    continue  # a committed file awaiting its rename, or its old name kept for readers
                report.notes.append(
                    f"{relpath}: temporary file of an interrupted write (removed by the next writer)"
                )
            elif relpath in removed:
                old, seq = removed[relpath]
                if file_problem(path, old, seq) is None:
                    report.notes.append(
                        f"{relpath}: removed by manifest {seq}, still present until no reader can need it "
                        "(the next writer run deletes it)"
                    )
                else:
                    fail(
                        relpath,
                        f"present where manifest {seq} removed a file, but not that file (unexpected file)",
                    )
            else:
                fail(relpath, "present but in no manifest (unexpected file)")


def _check_unexpected_keys(
    layout: Layout,
    state: ChainState,
    removed: dict[str, tuple[FileEntry, int]],
    in_range: Callable[[str], bool],
    fail: Callable[[str, str], None],
    notes: list[str],
    *,
    bounded: bool,
) -> None:
    """Objects in no manifest, on an object store: verify (unlike readers) lists folders, only those of
    the requested period's partitions when it is bounded."""
    if bounded:
        known = [*state.live.values(), *removed.values()]
        partitions = {p for entry, _ in known if (p := dated_partition(entry.path)) is not None}
        folders = [p.folder(k) for p in sorted(partitions) for k in ("events", "findings")]
        prefixes = [f for f in folders if in_range(f + "/x")] + [DISPOSITIONS_DIR]
    else:
        prefixes = [EVENTS_DIR, FINDINGS_DIR, QUARANTINE_DIR, DISPOSITIONS_DIR]
    for prefix in prefixes:
        for relpath in layout.storage.list(prefix):
            if relpath in state.live or not in_range(relpath):
                continue
            if relpath not in removed:
                fail(relpath, "present but in no manifest (unexpected file)")
                continue
            old, seq = removed[relpath]
            if key_problem(layout, relpath, old, seq) is None:
                notes.append(
                    f"{relpath}: removed by manifest {seq}, still present until its deletion grace period "
                    "has passed (a later writer run deletes it)"
                )
            else:
                fail(
                    relpath,
                    f"present where manifest {seq} removed a file, but not that file (unexpected file)",
                )


__all__ = [
    "RETENTION_OPERATION",
    "ChainState",
    "Problem",
    "VerifyReport",
    "file_problem",
    "replay",
    "verify_archive",
]
