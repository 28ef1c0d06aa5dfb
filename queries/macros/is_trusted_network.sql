/* ---
id: is_trusted_network
parameters: [addr]
description: >-
  Whether the address `addr` lies in one of the trusted networks (allowlists.trusted_networks, IPv4 and IPv6
  CIDRs; IPv4-mapped IPv6 judged as its IPv4 address). FALSE when `addr` is NULL or not an address, or no
  network is configured. The runner attributes each row this removes to the network that holds its
  `source_ip`.
--- */
ip_in_networks(addr, (SELECT list(cidr) FROM allow_trusted_networks))
