"""The one canonical layout of query, view and macro headers: a formatter and a check over `queries/`.

Canonical means: keys in the order below (unknown keys last, the loader refuses them anyway); scalars as PyYAML
writes them (quoted only when they must be); a list on one line in flow style (`[a, b]`) when that line fits in
WIDTH, otherwise one `- item` per line; the prose last (description, then a detection's triage and remediation),
each folded (`>-`) and wrapped at WIDTH; then `--- */`, the SQL and one final newline. Formatting never changes
what the header means: a result that does not parse back to the same mapping is refused.

    python -m kanalytics.catalog.headers --check   # list every file that is not canonical (exit 1 if any)
    python -m kanalytics.catalog.headers --fix     # rewrite them
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from kanalytics.catalog.loader import (
    KIND_FOLDERS,
    MACROS_FOLDER,
    TUNE_FOLDER,
    VIEWS_FOLDER,
    builtin_query_dir,
    split_query_file,
)

WIDTH = 110
QUERY_KEYS = (
    "id",
    "title",
    "kind",
    "severity",
    "needs_level",
    "area",
    "controls",
    "references",
    "mitre",
    "baseline_days",
    "tags",
    "needs_config",
    "pattern",
    "superseded_by",
    "scope",
    "lookback_minutes",
    "suppress_by",
    "first_per_period",
    "dedup_by",
    "description",
    "triage",
    "remediation",
    "spark",
)
VIEW_KEYS = ("id", "depends_on", "description")
MACRO_KEYS = ("id", "parameters", "returns", "description")
PROPOSAL_KEYS = (
    "id",
    "list",
    "for_query",
    "source_query",
    "needs_level",
    "recurring",
    "context",
    "description",
)
_INDENT = "  "
FOLDED_KEYS = frozenset({"description", "triage", "remediation", "spark"})  # prose: folded and wrapped


def key_order(folder: str) -> tuple[str, ...]:
    """The canonical key order of the headers in `queries/<folder>/`."""
    return {VIEWS_FOLDER: VIEW_KEYS, MACROS_FOLDER: MACRO_KEYS, TUNE_FOLDER: PROPOSAL_KEYS}.get(
        folder, QUERY_KEYS
    )


def canonical_text(text: str, folder: str) -> str:
    """`text` (a whole query, view or macro file) with its header in canonical form; raises ValueError when
    the file has no header or the canonical form would mean something else."""
    raw, sql = split_query_file(text)
    order = key_order(folder)
    keys = [k for k in order if k in raw] + [k for k in raw if k not in order]
    header = "\n".join(_entry(key, raw[key]) for key in keys)
    result = f"/* ---\n{header}\n--- */\n{sql}\n"
    if split_query_file(result) != (raw, sql):
        raise ValueError("the canonical header would not read back the same; fix it by hand")
    return result


def _entry(key: str, value: Any) -> str:
    if key in FOLDED_KEYS and isinstance(value, str) and _foldable(value):
        paragraphs = [
            textwrap.fill(
                p,
                width=WIDTH,
                initial_indent=_INDENT,
                subsequent_indent=_INDENT,
                break_long_words=False,
                break_on_hyphens=False,
            )
            for p in value.split("\n")
        ]
        return f"{key}: >-\n" + "\n\n".join(paragraphs)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        flow = f"{key}: [{', '.join(_item(v, '[{}]') for v in value)}]"
        if not value or len(flow) <= WIDTH:
            return flow
        return f"{key}:\n" + "\n".join(f"- {_item(v, '- {}')}" for v in value)
    return _dump({key: value}).rstrip("\n")


def _foldable(text: str) -> bool:
    """Whether folding `text` at spaces reads back exactly: single spaces, no edge or repeated whitespace."""
    return bool(text.strip()) and all(
        p and p == p.strip() and "  " not in p and "\t" not in p for p in text.split("\n")
    )


def _item(value: str | int | float, context: str) -> str:
    """A list item written plain when it reads back the same in `context` (e.g. "[{}]"), else quoted."""
    plain = str(value)
    try:
        if yaml.safe_load(context.format(plain)) == [value]:
            return plain
    except yaml.YAMLError:
        pass
    return _dump(value)


def _dump(value: Any, *, flow: bool = False) -> str:
    dumped = yaml.safe_dump(
        value, default_flow_style=flow, width=10**6, allow_unicode=True, sort_keys=False
    ).rstrip("\n")
    return dumped.removesuffix("\n...")


def header_files(root: Path) -> list[Path]:
    """Every file of `root` (a queries/ folder) that carries a header."""
    folders = (*KIND_FOLDERS, VIEWS_FOLDER, MACROS_FOLDER, TUNE_FOLDER)
    return sorted(p for folder in folders for p in (root / folder).glob("*.sql"))


def problems(paths: Iterable[Path], *, fix: bool = False) -> list[str]:
    """One line per file whose header is not canonical (rewritten in place when `fix`); empty when all are."""
    found: list[str] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
            wanted = canonical_text(text, path.parent.name)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
            found.append(f"{path}: {exc}")
            continue
        if wanted == text:
            continue
        if fix:
            path.write_text(wanted, encoding="utf-8")
            found.append(f"{path}: rewritten")
        else:
            found.append(f"{path}: header is not canonical; run python -m kanalytics.catalog.headers --fix")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kanalytics.catalog.headers", description=__doc__.split("\n")[0]
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="list non-canonical headers; exit 1 if any")
    mode.add_argument("--fix", action="store_true", help="rewrite non-canonical headers in place")
    parser.add_argument("paths", nargs="*", type=Path, help="files (default: every built-in query file)")
    args = parser.parse_args(argv)
    root = builtin_query_dir()
    paths = list(args.paths) or (header_files(root) if root is not None else [])
    found = problems(paths, fix=args.fix)
    for line in found:
        print(line, file=sys.stderr if args.check else sys.stdout)
    unfixed = [line for line in found if not line.endswith(": rewritten")]
    return 1 if unfixed else 0


if __name__ == "__main__":
    raise SystemExit(main())
