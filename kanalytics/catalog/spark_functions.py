"""The Spark twins of the catalog's DuckDB functions (ip_scope, ip_in_networks, ip_network), registered per
session: the same pure-Python judges of `catalog.functions`, so both engines classify every address alike.

They are row-at-a-time Python UDFs, not pandas UDFs: pyspark's pandas and Arrow UDFs need pandas, which the
project does not install; the judges' own caches keep the cost at about one parse per distinct address.
NULL handling is the judges' own, as in DuckDB (`ip_in_networks` is FALSE, never NULL).
"""

from __future__ import annotations

from typing import Any

from kanalytics.catalog.functions import in_networks, ip_network, ip_scope


def spark_ip_scope(addr: str | None) -> str | None:
    return ip_scope(addr) if addr is not None else None


def spark_ip_in_networks(addr: str | None, cidrs: list[str | None] | None) -> bool:
    return in_networks(addr, tuple(cidrs or ()))


def spark_ip_network(addr: str | None, ipv4_bits: int | None, ipv6_bits: int | None) -> str | None:
    if addr is None or ipv4_bits is None or ipv6_bits is None:
        return None
    return ip_network(addr, int(ipv4_bits), int(ipv6_bits))


def register(spark: Any) -> None:
    """Register the three functions under their DuckDB names in `spark`'s session."""
    from pyspark.sql.types import BooleanType, StringType

    spark.udf.register("ip_scope", spark_ip_scope, StringType())
    spark.udf.register("ip_in_networks", spark_ip_in_networks, BooleanType())
    spark.udf.register("ip_network", spark_ip_network, StringType())
