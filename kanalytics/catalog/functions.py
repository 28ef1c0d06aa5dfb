"""DuckDB scalar functions that judge IP addresses with Python's `ipaddress`, registered per connection.

Queries never classify addresses with string arithmetic; they call these functions (directly or through the
macros `is_public_ip`, `is_trusted_network` and `address_network` in `queries/macros/`):

- `ip_scope(addr VARCHAR) -> VARCHAR`: the address's scope, one of SCOPES, or NULL when `addr` is NULL or
  not an address. The scopes, checked in this order:

  - `unspecified`: 0.0.0.0, ::
  - `loopback`: 127.0.0.0/8, ::1
  - `link-local`: 169.254.0.0/16, fe80::/10
  - `multicast`: 224.0.0.0/4, ff00::/8
  - `private`: RFC 1918 (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16) and unique-local fc00::/7
  - `shared`: 100.64.0.0/10, carrier-grade NAT (RFC 6598); cloud VPCs use it for nodes and pods too
  - `reserved`: space no client can send from: 0.0.0.0/8, 240.0.0.0/4 (with 255.255.255.255), and IPv6
    outside global unicast 2000::/3 that no other scope names (e.g. the deprecated site-local fec0::/10)
  - `public`: every other address. The documentation ranges (192.0.2.0/24, 198.51.100.0/24,
    203.0.113.0/24, 2001:db8::/32) count as public: they are unicast space outside every network of yours,
    and examples and test data use them to stand for the internet.

- `ip_in_networks(addr VARCHAR, cidrs VARCHAR[]) -> BOOLEAN`: whether `addr` lies in any of `cidrs` (IPv4
  and IPv6). FALSE when `addr` is NULL or not an address, or `cidrs` is NULL or empty; entries that are not
  networks are ignored (the configuration validates trusted CIDRs when it is loaded).

- `ip_network(addr VARCHAR, ipv4_bits INTEGER, ipv6_bits INTEGER) -> VARCHAR`: the network of that many
  leading bits containing `addr`, as CIDR text ("203.0.113.0/24", "2001:db8:1::/64"); NULL when `addr` is
  NULL or not an address.

How text is read: an IPv4-mapped IPv6 address (`::ffff:10.0.0.7`) is judged as its IPv4 address everywhere,
and an IPv6 network inside ::ffff:0:0/96 in `cidrs` as the IPv4 network it maps. The API server writes each
sourceIPs entry with Go's `net.IP.String()`: plain dotted quads and RFC 5952 IPv6, never a port, brackets or
a zone, so text with a port or brackets is not an address (NULL) rather than guessed at. A zone id
(`fe80::1%eth0`) is part of RFC 4007's textual form and accepted as `ipaddress` accepts it; it does not change
the scope or membership. IPv4 with leading zeros (`010.0.0.1`) is refused, as `ipaddress` refuses it: Go
never writes one.

The functions are vectorised (Arrow): each call judges every distinct value of its chunk once, and parsed
addresses and networks are kept in bounded caches, so a month of events costs about one parse per distinct
address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Every value ip_scope returns (besides NULL), in the order it checks them; see the module docstring.
SCOPES: tuple[str, ...] = (
    "unspecified",
    "loopback",
    "link-local",
    "multicast",
    "private",
    "shared",
    "reserved",
    "public",
)
_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_RESERVED_V4 = tuple(ipaddress.ip_network(n) for n in ("0.0.0.0/8", "240.0.0.0/4"))
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_MAPPED_V6 = ipaddress.IPv6Network("::ffff:0:0/96")
_CACHE_SIZE = 1 << 16


@lru_cache(maxsize=_CACHE_SIZE)
def parse_address(text: str) -> Address | None:
    """The address `text` names (an IPv4-mapped IPv6 address as its IPv4 address), or None."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def scope(address: Address) -> str:
    """The scope of `address`, one of SCOPES."""
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if any(address in net for net in _PRIVATE if net.version == address.version):
        return "private"
    if isinstance(address, ipaddress.IPv4Address):
        if address in _SHARED:
            return "shared"
        if any(address in net for net in _RESERVED_V4):
            return "reserved"
    elif address not in _GLOBAL_UNICAST_V6:
        return "reserved"
    return "public"


@lru_cache(maxsize=_CACHE_SIZE)
def ip_scope(text: str) -> str | None:
    address = parse_address(text)
    return scope(address) if address is not None else None


@lru_cache(maxsize=1024)
def parse_networks(cidrs: tuple[str | None, ...]) -> tuple[Network, ...]:
    """The networks among `cidrs` (mapped IPv6 networks as IPv4 networks); other entries are ignored."""
    networks: list[Network] = []
    for cidr in cidrs:
        if cidr is None:
            continue
        try:
            network = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            continue
        if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_MAPPED_V6):
            mapped = network.network_address.ipv4_mapped
            assert mapped is not None  # inside ::ffff:0:0/96
            network = ipaddress.IPv4Network((mapped, max(network.prefixlen - 96, 0)))
        networks.append(network)
    return tuple(networks)


@lru_cache(maxsize=_CACHE_SIZE)
def in_networks(text: str | None, cidrs: tuple[str | None, ...]) -> bool:
    """Whether the address `text` lies in any of `cidrs`; False for anything that is not an address."""
    address = parse_address(text) if text is not None else None
    if address is None:
        return False
    return any(address.version == net.version and address in net for net in parse_networks(cidrs))


@lru_cache(maxsize=_CACHE_SIZE)
def ip_network(text: str, ipv4_bits: int, ipv6_bits: int) -> str | None:
    address = parse_address(text)
    if address is None:
        return None
    bits = ipv4_bits if address.version == 4 else ipv6_bits
    bits = min(max(bits, 0), address.max_prefixlen)
    return str(ipaddress.ip_network((address, bits), strict=False))


def create_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Register ip_scope, ip_in_networks and ip_network on `con` (before the macros that call them).

    Idempotent: a connection that already has them (a second Session on it) keeps them, since DuckDB cannot
    replace a Python function, and removing it would break the macros bound to it."""
    from duckdb.func import FunctionNullHandling, PythonUDFType

    signatures: dict[str, tuple[Any, list[str], str]] = {
        "ip_scope": (_ip_scope_arrow, ["VARCHAR"], "VARCHAR"),
        "ip_in_networks": (_ip_in_networks_arrow, ["VARCHAR", "VARCHAR[]"], "BOOLEAN"),
        "ip_network": (_ip_network_arrow, ["VARCHAR", "INTEGER", "INTEGER"], "VARCHAR"),
    }
    rows = con.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_name IN (?, ?, ?)",
        list(signatures),
    ).fetchall()
    present = {name for (name,) in rows}
    for name, (function, parameters, returns) in signatures.items():
        if name in present:
            continue
        # NULL handling is the functions' own (see the module docstring), not DuckDB's NULL-in, NULL-out.
        con.create_function(
            name,
            function,
            parameters,  # type: ignore[arg-type]
            returns,
            type=PythonUDFType.ARROW,
            null_handling=FunctionNullHandling.SPECIAL,
        )


def _distinct_map(values: Any, judge: Any, result_type: pa.DataType) -> pa.Array:
    """`judge` applied to each distinct non-null string of `values` once, spread back over the rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(_combined(values))
    judged = pa.array([judge(v) for v in encoded.dictionary.to_pylist()], type=result_type)
    return pc.take(judged, encoded.indices)


def _ip_scope_arrow(addrs: Any) -> Any:
    import pyarrow as pa

    return _distinct_map(addrs, ip_scope, pa.string())


def _ip_network_arrow(addrs: Any, ipv4_bits: Any, ipv6_bits: Any) -> Any:
    import pyarrow as pa

    v4, v6 = _combined(ipv4_bits), _combined(ipv6_bits)
    if _constant(v4) and _constant(v6):
        b4, b6 = v4[0].as_py(), v6[0].as_py()
        if b4 is None or b6 is None:
            return pa.nulls(len(v4), pa.string())
        return _distinct_map(addrs, lambda a: ip_network(a, b4, b6), pa.string())
    rows = zip(_combined(addrs).to_pylist(), v4.to_pylist(), v6.to_pylist(), strict=True)
    out = [ip_network(a, b4, b6) if None not in (a, b4, b6) else None for a, b4, b6 in rows]
    return pa.array(out, type=pa.string())


def _ip_in_networks_arrow(addrs: Any, cidr_lists: Any) -> Any:
    import pyarrow as pa

    lists = _combined(cidr_lists)
    first = lists[0].as_py() if len(lists) else None
    if _same_list(lists):
        cidrs = tuple(first or ())
        if not parse_networks(cidrs):
            return pa.array([False] * len(lists), type=pa.bool_())
        judged = _distinct_map(addrs, lambda a: in_networks(a, cidrs), pa.bool_())
        return judged.fill_null(False)
    rows = zip(_combined(addrs).to_pylist(), lists.to_pylist(), strict=True)
    return pa.array([in_networks(a, tuple(c or ())) for a, c in rows], type=pa.bool_())


def _combined(values: Any) -> pa.Array:
    """One Arrow array from what DuckDB passes (a ChunkedArray)."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def _constant(values: pa.Array) -> bool:
    import pyarrow.compute as pc

    if len(values) == 0 or values.null_count not in (0, len(values)):
        return False
    return values.null_count == len(values) or bool(pc.all(pc.equal(values, values[0])).as_py())


def _same_list(lists: pa.Array) -> bool:
    """Whether every row holds the same list (the usual case: one scalar subquery for the whole chunk),
    judged in Arrow without turning rows into Python objects."""
    import pyarrow.compute as pc

    if lists.null_count:
        return lists.null_count == len(lists)
    # A NUL byte cannot occur in a CIDR, so joined lists are equal exactly when the lists are.
    return _constant(pc.binary_join(lists, "\x00")) or len(lists) == 0
