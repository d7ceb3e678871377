"""IP address and CIDR functions."""

from __future__ import annotations

import ipaddress
from typing import Any

from dsl.functions.args import fail, text
from dsl.functions.previews import quoted
from dsl.functions.registry import function

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(value: str) -> Address | None:
    """The address ``value`` spells (without surrounding whitespace), or None."""
    if len(value) > 64:
        return None
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _address(name: str, value: Any) -> Address:
    address = parse_ip(text(name, value, "ip"))
    if address is None:
        raise fail(name, f"{quoted(value)} is not an IP address")
    return address


@function("is_ip")
def is_ip(value: Any) -> bool:
    """Whether a string is an IPv4 or IPv6 address."""
    return parse_ip(text("is_ip", value)) is not None


@function("is_ipv4")
def is_ipv4(value: Any) -> bool:
    """Whether a string is an IPv4 address."""
    return isinstance(parse_ip(text("is_ipv4", value)), ipaddress.IPv4Address)


@function("is_ipv6")
def is_ipv6(value: Any) -> bool:
    """Whether a string is an IPv6 address."""
    return isinstance(parse_ip(text("is_ipv6", value)), ipaddress.IPv6Address)


@function("ip_in_cidr")
def ip_in_cidr(ip: Any, cidr: Any) -> bool:
    """Whether an address lies in a network such as "10.0.0.0/8" (host bits in the network are ignored)."""
    address = _address("ip_in_cidr", ip)
    source = text("ip_in_cidr", cidr, "cidr")
    try:
        network = ipaddress.ip_network(source.strip(), strict=False) if len(source) <= 64 else None
    except ValueError:
        network = None
    if network is None:
        raise fail("ip_in_cidr", f"{quoted(source)} is not a network like 10.0.0.0/8")
    return address.version == network.version and address in network


@function("is_private_ip")
def is_private_ip(value: Any) -> bool:
    """Whether an address is private (RFC 1918, loopback, link-local, unique-local and the other reserved ranges)."""
    return _address("is_private_ip", value).is_private


@function("is_public_ip")
def is_public_ip(value: Any) -> bool:
    """Whether an address is globally routable (not private, reserved, multicast or unspecified)."""
    address = _address("is_public_ip", value)
    return address.is_global and not address.is_multicast
