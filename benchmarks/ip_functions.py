"""Address-function benchmark: ip_scope, ip_in_networks and ip_network over a month-sized column of addresses.

Builds --rows addresses in DuckDB (--distinct of them, one in seven NULL), then times each function over the
whole column against a query that only reads it, and prints seconds and rows per second.

    .venv/bin/python benchmarks/ip_functions.py --rows 2000000 --distinct 10000
"""

from __future__ import annotations

import argparse
import time

import duckdb

from kanalytics.catalog.functions import create_functions

CHECKS = {
    "read only": "count(a)",
    "ip_scope": "count(*) FILTER (WHERE ip_scope(a) = 'private')",
    "ip_in_networks, one list": "count(*) FILTER (WHERE ip_in_networks(a, ['10.0.1.0/24', '2001:db8::/32']))",
    "ip_in_networks, list per row": (
        "count(*) FILTER (WHERE ip_in_networks(a, CASE WHEN i % 2 = 0 THEN ['10.0.1.0/24'] ELSE ['10.0.2.0/24'] END))"
    ),
    "ip_network": "count(DISTINCT ip_network(a, 24, 64))",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--distinct", type=int, default=10_000)
    args = parser.parse_args()
    con = duckdb.connect()
    create_functions(con)
    con.execute(
        "CREATE TABLE t AS SELECT i, CASE WHEN i % 7 = 0 THEN NULL"
        " ELSE '10.' || (i % $d // 65536) || '.' || (i % $d // 256 % 256) || '.' || (i % $d % 256) END AS a"
        " FROM range($n) r(i)",
        {"n": args.rows, "d": args.distinct},
    )
    print(f"{args.rows:,} rows, {args.distinct:,} distinct addresses")
    for name, expression in CHECKS.items():
        began = time.perf_counter()
        con.execute(f"SELECT {expression} FROM t").fetchall()
        seconds = time.perf_counter() - began
        print(f"{name:32} {seconds:6.2f} s  {args.rows / seconds / 1e6:6.1f} M rows/s")


if __name__ == "__main__":
    main()
