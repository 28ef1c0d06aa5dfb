/* ---
id: is_public_ip
parameters: [addr]
description: >-
  Whether the address `addr` is public: ip_scope(addr) is 'public' (not private, shared/CGNAT, loopback,
  link-local, multicast, unspecified or reserved space; IPv4-mapped IPv6 judged as its IPv4 address; the
  scopes are listed in kanalytics/catalog/functions.py). NULL when `addr` is NULL or not an address, so
  neither `is_public_ip(x)` nor `NOT is_public_ip(x)` holds for text that is not an address.
--- */
ip_scope(addr) = 'public'
