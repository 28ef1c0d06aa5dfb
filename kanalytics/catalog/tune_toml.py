"""The text of a `kanalytics tune` proposal: TOML a person reviews, every value from the logs escaped, and the
one place it is written (never over an existing file without --force, never as the active configuration)."""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from kanalytics.errors import UsageError

if TYPE_CHECKING:
    from kanalytics.catalog.tune import ProposedList, TuneResult

CONFIG_FILE_NAME = "kanalytics.toml"

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(text: str) -> str:
    """`text` as a TOML basic string in printable ASCII: every other character is escaped (\\uXXXX or
    \\UXXXXXXXX), so control characters, quotes and newlines cannot end the string or the line, and unicode
    round-trips through any TOML reader. A lone surrogate (not a character TOML can hold) becomes U+FFFD."""
    out = ['"']
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif " " <= char <= "~":
            out.append(char)
        else:
            point = ord(char)
            if 0xD800 <= point <= 0xDFFF:
                point = 0xFFFD
            out.append(f"\\u{point:04X}" if point <= 0xFFFF else f"\\U{point:08X}")
    out.append('"')
    return "".join(out)


def _shown(text: str) -> str:
    """`text` for a comment line: whitespace runs as one space, anything outside printable ASCII escaped."""
    return "".join(c if " " <= c <= "~" else toml_string(c)[1:-1] for c in " ".join(text.split()))


def _key(name: str) -> str:
    bare = name and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    return name if bare else toml_string(name)


def local_day(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return local.date().isoformat() if local.time() == datetime.min.time() else local.isoformat()


def render_toml(result: TuneResult) -> str:
    """The proposal as a TOML document: a header comment, `[allowlists]` and `[allowlists.query_lists]`."""
    zone = ZoneInfo(result.timezone)
    clusters = ", ".join(toml_string(c) for c in result.clusters)
    per_cluster = ", ".join(f"{_shown(c)} {n}" for c, n in result.days_by_cluster.items())
    config = toml_string(result.config_source) if result.config_source else "none (defaults)"
    lines = [
        "# Allow-lists proposed by `kanalytics tune` from a baseline period.",
        "# Review every entry before committing; kanalytics never applies this.",
        f"# archive: {toml_string(result.archive)}",
        f"# period: {local_day(result.start, zone)} to {local_day(result.end, zone)} (exclusive), days in "
        f"{_shown(result.timezone)}",
        f"# clusters: {clusters}",
        f"# days with events: {result.days_with_events}"
        + (f" ({per_cluster})" if len(result.clusters) > 1 else ""),
        f"# configuration: {config}; {result.skipped} value(s) it already has were not proposed again",
        f"# {result.proposed} value(s) proposed. One seen on fewer than {result.min_days} days (--min-days) is",
        "# commented out: a rare value in the baseline may be an intruder, so uncomment it only after checking it.",
        "# To use: copy the lists you accept into your kanalytics.toml (merge them into its [allowlists] tables",
        "# if it has them: TOML allows each table once), then re-run `kanalytics findings`.",
        "",
        "[allowlists]",
    ]
    top = [p for p in result.lists if p.list_name != "query_list"]
    per_query = [p for p in result.lists if p.list_name == "query_list"]
    for proposed in top:
        lines += ["", *_list_lines(proposed, proposed.list_name)]
    if per_query:
        lines += ["", "[allowlists.query_lists]"]
        for proposed in per_query:
            lines += ["", *_list_lines(proposed, proposed.key.rsplit(".", 1)[-1])]
    return "\n".join(lines) + "\n"


def _list_lines(proposed: ProposedList, key: str) -> list[str]:
    described = f"{_shown(key)}: {_shown(proposed.description)}"
    lines = textwrap.wrap(described, 110, initial_indent="# ", subsequent_indent="#   ",
                          break_on_hyphens=False, break_long_words=False)  # fmt: skip
    if proposed.skipped:
        lines.append(
            f"# {len(proposed.skipped)} value(s) already in the configuration were not proposed again"
        )
    if proposed.status != "ok":
        lines.append(f"# not proposed ({proposed.status}): {_shown(proposed.reason)}")
        return lines
    if not proposed.entries:
        lines.append("# nothing new observed in the period")
        return lines
    lines.append(f"# an entry seen on fewer than {proposed.threshold} days is commented out")
    lines.append(f"{_key(key)} = [")
    for entry in proposed.entries:
        item = (
            f"{{ {proposed.field_name} = {toml_string(entry.value)}, reason = {toml_string(entry.reason)} }},"
        )
        lines.append(f"    {item}" if entry.confident else f"    # {item}")
    lines.append("]")
    return lines


# -- writing ------------------------------------------------------------------------------------------------
def write_proposal(
    text: str, out: Path, *, force: bool = False, protected: Sequence[str | Path] = ()
) -> Path:
    """Write `text` to `out`: never over an existing file without `force`, never to a kanalytics
    configuration (a file named kanalytics.toml, or one of `protected`), since tune never applies itself."""
    target = Path(out)
    guarded = [Path(p) for p in protected]
    if target.name == CONFIG_FILE_NAME or any(_same_file(target, p) for p in guarded):
        raise UsageError(
            f"refusing to write the proposal to {target}: that is a kanalytics configuration, and tune never "
            "applies itself",
            hint="write it elsewhere (e.g. --out tune-proposal.toml), review it, then copy the entries you accept "
            "into your configuration",
        )
    exists_hint = "pass --force to replace it, or choose another --out"
    if not force:
        try:
            with target.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            raise UsageError(f"{target} already exists", hint=exists_hint) from None
        return target
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
