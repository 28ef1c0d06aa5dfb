"""`sql --safe`: one SELECT over the `events` view that cannot read other files, write, load code or reach the network.

Without it, `Archive.sql` is the owner's DuckDB session: a statement may read any file the process can
(`read_csv('/etc/passwd')`), write files (`COPY ... TO`), install and load extensions and fetch URLs
(`INSTALL httpfs`, `read_parquet('https://...')`). See docs/sql-safety.md.

Two locks, each covering for the other:
- the statement must be exactly one SELECT: no COPY, EXPORT, ATTACH, INSTALL/LOAD, SET, PRAGMA, CALL,
  CREATE, EXPLAIN (ANALYZE runs its statement); a SELECT has no way to write a file;
- the connection is locked down after the view exists: external access off except the archive's `events/`
  folder (DuckDB refuses `..` in paths), so no other file, URL or extension can be read or written; no
  extension autoinstall/autoload, no persistent secrets, no Python replacement scans (which read the
  caller's variables), and `lock_configuration` so no statement can undo any of it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kanalytics.errors import QueryError

if TYPE_CHECKING:
    import duckdb

    from kanalytics.archive.layout import Layout

SAFE_HINT = "--safe runs one SELECT over the `events` view and nothing else; drop --safe for the full DuckDB"

# Applied in this order: the last two must come last (nothing can be set after the lock).
_LOCKDOWN = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET allow_community_extensions = false",
    "SET allow_persistent_secrets = false",
    "SET python_enable_replacements = false",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


def check_select_only(query: str) -> None:
    """Refuse anything but exactly one SELECT statement (WITH, FROM-first, VALUES, DESCRIBE count as SELECT)."""
    import duckdb

    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {exc}") from None
    if [s.type for s in statements] != [duckdb.StatementType.SELECT]:
        # The statement's own first word (INSTALL, not DuckDB's type name LOAD), as the user wrote it.
        found = ", ".join((s.query.split() or [s.type.name])[0].upper() for s in statements) or "no statement"
        raise QueryError(
            f"--safe allows exactly one SELECT statement; this query has: {found}", hint=SAFE_HINT
        )


def lock_down(con: duckdb.DuckDBPyConnection, layout: Layout) -> None:
    """After the `events` view exists: allow reads under `<archive>/events/` only, then lock the configuration."""
    events = layout.events
    folders = sorted({os.path.abspath(events) + os.sep, str(events.resolve()) + os.sep})
    con.execute("SET allowed_directories = $folders", {"folders": folders})
    for statement in _LOCKDOWN:
        con.execute(statement)
