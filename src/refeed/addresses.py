"""Which IP addresses the public internet can reach (pure): the address guard's judgement.

An IPv6 address that carries an IPv4 address (IPv4-mapped, IPv4-compatible, SIIT, NAT64, 6to4,
Teredo) reaches that IPv4 host, so it is judged as the IPv4 it carries: ``[64:ff9b::7f00:1]``
is 127.0.0.1. Python's ``is_global`` calls several of these forms global whatever they carry.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible (RFC 4291 2.5.5.1)
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT IPv4-translated (RFC 2765)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052)
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215)
# Where RFC 6052 puts the IPv4 bytes for each prefix length a local-use NAT64 may use
# (byte 8, the "u" octet, is always skipped); the operator's choice is unknown, so all count.
_RFC6052_BYTES = {48: (6, 7, 9, 10), 56: (7, 9, 10, 11), 64: (9, 10, 11, 12), 96: (12, 13, 14, 15)}


def carried_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to (empty for a plain one or for IPv4)."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    packed = address.packed
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _COMPATIBLE or address in _TRANSLATED or address in _NAT64:
        return [ipaddress.IPv4Address(packed[12:])]
    if address in _NAT64_LOCAL:
        return [
            ipaddress.IPv4Address(bytes(packed[i] for i in at)) for at in _RFC6052_BYTES.values()
        ]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)  # the relay server and the client behind it
    return []


def is_public(address: Address, allowed: Iterable[Network] = ()) -> bool:
    """True when ``address`` (or every IPv4 it carries) is a global unicast address or lies in
    one of the ``allowed`` networks."""
    networks = list(allowed)
    if any(address in network for network in networks):
        return True
    carried = carried_ipv4(address)
    if carried:
        return all(is_public(inner, networks) for inner in carried)
    return address.is_global and not address.is_multicast


def network(text: str) -> Network | None:
    """``text`` as an address or CIDR range, or None when it is a host name."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
