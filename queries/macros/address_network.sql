/* ---
id: address_network
parameters: [addr]
description: >-
  The network an address is judged by when asking "has this identity been seen from here before": the /24 of a
  public IPv4 address, the /16 of any other IPv4 address (pods and nodes move between subnets), the /64 of an
  IPv6 address, as CIDR text; IPv4-mapped IPv6 as its IPv4 address. Text that is not an address is its own
  network; NULL stays NULL.
--- */
coalesce(ip_network(addr, CASE WHEN is_public_ip(addr) THEN 24 ELSE 16 END, 64), addr)
