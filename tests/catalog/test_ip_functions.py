"""The address functions (kanalytics/catalog/functions.py) and the macros over them, on a real connection."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kanalytics import open_archive
from kanalytics.archive.ingest import Ingestor
from kanalytics.catalog.functions import SCOPES, create_functions
from kanalytics.catalog.loader import Catalog
from kanalytics.catalog.model import Suppression
from kanalytics.catalog.runner import create_allow_tables, create_macros, run_query
from kanalytics.config import parse_settings
from kanalytics.sources.files import read_inputs
from tests.conftest import make_event


@pytest.fixture
def con(catalog: Catalog) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_allow_tables(con, [])
    create_functions(con)
    create_macros(con, list(catalog.macros.values()))
    return con


SCOPE_CASES = [
    ("45.155.205.233", "public"),
    ("203.0.113.77", "public"),  # documentation ranges stand for the internet (module docstring)
    ("2a05:d014:abc::7", "public"),
    ("2001:db8:1::5", "public"),
    ("10.0.0.7", "private"),
    ("172.16.0.1", "private"),
    ("172.32.0.1", "public"),  # just outside 172.16.0.0/12
    ("192.168.255.255", "private"),
    ("fd12:3456::9", "private"),
    ("fc00::1", "private"),
    ("100.64.0.1", "shared"),
    ("100.127.255.255", "shared"),
    ("100.128.0.1", "public"),
    ("127.0.0.1", "loopback"),
    ("127.9.9.9", "loopback"),
    ("::1", "loopback"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),  # a zone id does not change the scope
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("0.1.2.3", "reserved"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("fec0::1", "reserved"),  # deprecated site-local: outside 2000::/3
    # IPv4-mapped IPv6 is judged as its IPv4 address.
    ("::ffff:10.0.0.7", "private"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:45.155.205.233", "public"),
    ("::FFFF:A00:7", "private"),
    # Not an address: NULL, never "public IPv6".
    ("not-an-address", None),
    ("", None),
    ("10.0.0", None),
    ("10.0.0.256", None),
    ("010.0.0.1", None),  # leading zeros: Go never writes them, ipaddress refuses them
    ("[::1]", None),  # brackets and ports: the API server never writes them in sourceIPs
    ("10.0.0.1:443", None),
    ("unknown", None),
    ("fc", None),  # the old string test called anything starting with "fc" private
    (None, None),
]


@pytest.mark.parametrize(("addr", "expected"), SCOPE_CASES)
def test_ip_scope(con: duckdb.DuckDBPyConnection, addr: str | None, expected: str | None) -> None:
    assert con.execute("SELECT ip_scope($a::VARCHAR)", {"a": addr}).fetchall() == [(expected,)]


def test_scope_vocabulary_is_the_one_in_the_module() -> None:
    assert {s for _, s in SCOPE_CASES if s is not None} == set(SCOPES)


MEMBERSHIP = [
    ("2001:db8:1::5", ["2001:db8::/32"], True),
    ("2001:db9::5", ["2001:db8::/32"], False),
    ("10.1.2.3", ["10.0.0.0/8"], True),
    ("11.1.2.3", ["10.0.0.0/8"], False),
    ("::ffff:10.1.2.3", ["10.0.0.0/8"], True),  # mapped address, IPv4 network
    ("10.1.2.3", ["::ffff:10.0.0.0/104"], True),  # IPv4 address, mapped network
    ("::ffff:10.1.2.3", ["::ffff:10.0.0.0/104"], True),
    ("10.1.2.3", ["::/0"], False),  # an IPv6 network never holds an IPv4 address
    ("2001:db8::1", ["0.0.0.0/0"], False),
    ("fe80::1%eth0", ["fe80::/10"], True),
    ("192.0.2.7", ["192.0.2.7"], True),  # a bare address is a /32
    ("192.0.2.7", ["192.0.2.1/24"], True),  # host bits set: accepted as the config accepts it
    ("192.0.2.7", ["bogus", "", "192.0.2.0/24"], True),  # malformed entries are ignored
    ("192.0.2.7", ["bogus"], False),
    ("192.0.2.7", [], False),
    ("192.0.2.7", None, False),
    ("192.0.2.7", [None, "192.0.2.0/24"], True),
    ("not-an-address", ["0.0.0.0/0", "::/0"], False),
    (None, ["0.0.0.0/0"], False),
]


@pytest.mark.parametrize(("addr", "cidrs", "expected"), MEMBERSHIP)
def test_ip_in_networks(
    con: duckdb.DuckDBPyConnection, addr: str | None, cidrs: list[str | None] | None, expected: bool
) -> None:
    got = con.execute("SELECT ip_in_networks($a::VARCHAR, $c::VARCHAR[])", {"a": addr, "c": cidrs}).fetchall()
    assert got == [(expected,)]


@pytest.mark.parametrize(
    ("addr", "bits4", "bits6", "expected"),
    [
        ("203.0.113.77", 24, 64, "203.0.113.0/24"),
        ("10.244.3.17", 16, 64, "10.244.0.0/16"),
        ("::ffff:10.244.3.17", 16, 64, "10.244.0.0/16"),
        ("2001:db8:1:2:3::5", 24, 64, "2001:db8:1:2::/64"),
        ("2001:db8::5", 24, 200, "2001:db8::5/128"),  # bits are clamped to the address length
        ("not-an-address", 24, 64, None),
        (None, 24, 64, None),
        ("10.0.0.1", None, 64, None),
    ],
)
def test_ip_network(
    con: duckdb.DuckDBPyConnection, addr: str | None, bits4: int | None, bits6: int, expected: str | None
) -> None:
    got = con.execute(
        "SELECT ip_network($a::VARCHAR, $b4::INTEGER, $b6::INTEGER)", {"a": addr, "b4": bits4, "b6": bits6}
    ).fetchall()
    assert got == [(expected,)]


def test_macros_over_the_functions(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT a, is_public_ip(a), address_network(a), client_ip(c) FROM (VALUES"
        " ('45.155.205.233', ['10.0.0.1', '45.155.205.233']),"
        " ('10.244.3.17', ['10.244.3.17']),"
        " ('2a05:d014:abc:1::7', []::VARCHAR[]),"
        " ('garbage', NULL::VARCHAR[])) t(a, c) ORDER BY a"
    ).fetchall()
    assert rows == [
        ("10.244.3.17", False, "10.244.0.0/16", "10.244.3.17"),
        ("2a05:d014:abc:1::7", True, "2a05:d014:abc:1::/64", None),
        ("45.155.205.233", True, "45.155.205.0/24", "45.155.205.233"),
        ("garbage", None, "garbage", None),
    ]


def test_many_rows_with_repeats_and_per_row_lists(con: duckdb.DuckDBPyConnection) -> None:
    """Several Arrow chunks, few distinct values, NULLs among them: every row gets its own answer, both with
    one list for all rows (the scalar-subquery case) and with a list that differs from row to row."""
    con.execute(
        "CREATE TABLE t AS SELECT i, CASE i % 5 WHEN 0 THEN '10.0.0.' || (i % 7) WHEN 1 THEN '2001:db8:1::' || (i % 3)"
        " WHEN 2 THEN '::ffff:10.9.9.9' WHEN 3 THEN NULL ELSE 'junk' END AS a FROM range(10000) r(i)"
    )
    same = con.execute(
        "SELECT count(*) FILTER (WHERE ip_in_networks(a, ['10.0.0.0/29', '2001:db8::/32'])),"
        " count(*) FILTER (WHERE ip_scope(a) = 'private'), count(*) FILTER (WHERE ip_scope(a) IS NULL),"
        " count(DISTINCT ip_network(a, 24, 64)) FROM t"
    ).fetchall()
    # i%5 == 0: 2000 rows in 10.0.0.0/29 (i%7 <= 6); i%5 == 1: 2000 in 2001:db8::/32; mapped 10.9.9.9 is not.
    # private: 10.0.0.x and the mapped address; NULL scope: NULL and junk.
    assert same == [(4000, 4000, 4000, 3)]
    varying = con.execute(
        "SELECT count(*) FILTER (WHERE ip_in_networks(a, CASE WHEN i % 2 = 0 THEN ['10.0.0.0/8'] ELSE NULL END))"
        " FROM t"
    ).fetchall()
    # 10.0.0.x at even i (i%10 == 0: 1000 rows) and the mapped 10.9.9.9 at even i (i%10 == 2: 1000 rows).
    assert varying == [(2000,)]


def _ingest(tmp_path: Path, events: list[dict[str, Any]]) -> Any:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    archive = open_archive(tmp_path / "archive")
    Ingestor(archive.layout, cluster="test", workers=1).run(read_inputs([str(path)]))
    return archive


def test_trusted_ipv6_cidr_suppresses_through_the_macro_and_is_reported(
    tmp_path: Path, catalog: Catalog
) -> None:
    """system-principal-public-ip reads allow_trusted_networks only through is_trusted_network: the runner's
    re-run with the empty allow-lists first on the search path must still bind the macro's table there, and the
    suppressed rows must be attributed to the network that holds them (mapped addresses included)."""
    node = {"username": "system:node:node-1", "groups": ["system:nodes", "system:authenticated"]}
    at = datetime(2026, 10, 14, 10, 0, tzinfo=UTC)
    events = [
        make_event(at, user=node, sourceIPs=["2001:db8:1::5"]),
        make_event(at, user=node, sourceIPs=["10.0.0.1", "::ffff:198.51.100.20"]),
        make_event(at, user=node, sourceIPs=["45.155.205.233"]),
    ]
    archive = _ingest(tmp_path, events)
    settings = parse_settings(
        {
            "allowlists": {
                "trusted_networks": [
                    {"cidr": "2001:db8::/32", "reason": "on-prem IPv6 node range"},
                    {"cidr": "198.51.100.0/24", "reason": "branch office NAT"},
                ]
            }
        },
        origin="t.toml",
    )
    result = run_query(
        archive,
        "system-principal-public-ip",
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
        settings=settings,
        catalog=catalog,
    )
    assert result.status == "ok", result.reason
    assert result.table is not None
    assert result.table.column("source_ip").to_pylist() == ["45.155.205.233"]
    assert sorted(result.suppressed, key=lambda s: s.value) == [
        Suppression(
            "system-principal-public-ip", "allow_trusted_networks", "198.51.100.0/24", "branch office NAT", 1
        ),
        Suppression(
            "system-principal-public-ip",
            "allow_trusted_networks",
            "2001:db8::/32",
            "on-prem IPv6 node range",
            1,
        ),
    ]


def test_registering_twice_keeps_the_functions_and_the_macros_bound_to_them(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """A second Session on one connection registers again: that must neither fail nor unbind the macros."""
    create_functions(con)
    assert con.execute("SELECT is_public_ip('45.155.205.233'), ip_scope('::ffff:10.0.0.7')").fetchall() == [
        (True, "private")
    ]
