"""Where actions may connect: public addresses only, unless ``EXECUTOR_EGRESS_ALLOW`` opens a host or network.

An action's URL comes from alert data, so without this an alert could make the executor fetch cloud metadata
(169.254.169.254), a database on the private network, or a service on the executor's own host. The check is on
the address a socket is actually opened to: the host is resolved once, every resolved address is checked, and the
connection goes to that very address (the name is never resolved again, so DNS rebinding cannot swap in another).
Host header, TLS SNI and certificate checks still use the name from the URL. Every redirect hop opens its
connection through the same check.

"Public" is decided by the tables below (the IANA special-purpose registries), not by ``ipaddress.is_global``, whose
answers differ between Python releases (3.11 calls ``fec0::/10`` global). An IPv6 address that carries an IPv4 one
(mapped, compatible, NAT64, 6to4) is judged by the IPv4 address it leads to; Teredo is refused outright (where it
leads depends on a relay, and its client address is trivially forged).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    collapse_addresses,
    ip_address,
    ip_network,
)

import httpcore
import httpx

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

#: The setting users change to open a host or network; named in every refusal.
ALLOW_SETTING = "EXECUTOR_EGRESS_ALLOW"
#: An allow-list opening more than this share of the public IPv4 or IPv6 space is refused: opening public
#: addresses is never needed (they are allowed anyway), so so broad a list can only be a way, however it is split
#: (``0.0.0.0/1,128.0.0.0/1``), to turn the check off for the private networks inside it.
MAX_PUBLIC_SHARE = Fraction(1, 64)

_PRIVATE = "private"


def _table(*rows: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ip_network(network), reason) for network, reason in rows)


#: Not public IPv4, first match names it (so the single addresses come before the blocks holding them).
_SPECIAL_V4 = _table(
    ("0.0.0.0/32", "unspecified"),
    ("0.0.0.0/8", "'this network' (0.0.0.0/8)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("10.0.0.0/8", _PRIVATE),  # RFC 1918
    ("172.16.0.0/12", _PRIVATE),
    ("192.168.0.0/16", _PRIVATE),
    ("100.64.0.0/10", "shared address space (100.64.0.0/10, carrier-grade NAT)"),
    ("192.0.0.0/24", "IETF protocol assignments (192.0.0.0/24)"),
    ("192.0.2.0/24", "documentation (192.0.2.0/24)"),
    ("198.51.100.0/24", "documentation (198.51.100.0/24)"),
    ("203.0.113.0/24", "documentation (203.0.113.0/24)"),
    ("192.88.99.0/24", "the deprecated 6to4 relay anycast (192.88.99.0/24)"),
    ("198.18.0.0/15", "benchmarking (198.18.0.0/15)"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved (240.0.0.0/4)"),
)
#: Not public IPv6 (besides what lies outside global unicast 2000::/3), first match names it.
_SPECIAL_V6 = _table(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64 (64:ff9b:1::/48)"),
    ("100::/64", "discard-only (100::/64)"),
    ("100:0:0:1::/64", "dummy prefix (100:0:0:1::/64)"),
    ("2001::/32", "Teredo (2001::/32)"),
    ("2001:2::/48", "benchmarking (2001:2::/48)"),
    ("2001::/23", "IETF protocol assignments (2001::/23)"),
    ("2001:db8::/32", "documentation (2001:db8::/32)"),
    ("3fff::/20", "documentation (3fff::/20)"),
    ("5f00::/16", "SRv6 segment identifiers (5f00::/16)"),
    ("fc00::/7", _PRIVATE),  # unique local
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated, fec0::/10)"),
    ("ff00::/8", "multicast"),
)
_GLOBAL_UNICAST_V6 = ip_network("2000::/3")
_OUTSIDE_GLOBAL_UNICAST = "reserved (outside global unicast 2000::/3)"
_MAPPED = ip_network("::ffff:0:0/96")
_IPV4_COMPATIBLE = ip_network("::/96")  # deprecated ::a.b.c.d form
_NAT64 = ip_network("64:ff9b::/96")  # well-known prefix: the last 32 bits are an IPv4 address
_SIX_TO_FOUR = ip_network("2002::/16")  # bits 16-47 are an IPv4 address
_TEREDO = ip_network("2001::/32")  # the last 32 bits are the client's IPv4 address, inverted
_ALL_V4 = IPv4Network("0.0.0.0/0")


class EgressRefused(Exception):
    """An action tried to connect to an address the egress policy does not allow."""


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4): where a connection to it leads."""
    if address in _MAPPED:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # :: and ::1 are unspecified and loopback themselves
        return IPv4Address(int(address))
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    return None


def _special(address: IPAddress) -> str | None:
    table = _SPECIAL_V4 if isinstance(address, IPv4Address) else _SPECIAL_V6
    # A zone id (fe80::1%eth0) is not part of where the address lies.
    plain = address if isinstance(address, IPv4Address) else IPv6Address(int(address))
    reason = next((reason for network, reason in table if plain in network), None)
    if reason is None and isinstance(plain, IPv6Address) and plain not in _GLOBAL_UNICAST_V6:
        return _OUTSIDE_GLOBAL_UNICAST
    return reason


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination ("link-local", "private", ...), or None if it is one."""
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal_reason(embedded)
            return f"an IPv6 form of {embedded}, which is {reason}" if reason else None
    return _special(address)


def _overlap(a: IPNetwork, b: IPNetwork) -> int:
    """How many addresses two networks of one family share (CIDR blocks are nested or apart)."""
    if a.version != b.version:
        return 0
    if a.subnet_of(b):  # type: ignore[arg-type]  # same version, checked above
        return a.num_addresses
    return b.num_addresses if b.subnet_of(a) else 0  # type: ignore[arg-type]


def _ipv4_image(network: IPv6Network) -> list[IPv4Network]:
    """The IPv4 addresses that addresses of ``network`` lead to, through any prefix that carries one."""
    images: list[IPv4Network] = []
    for prefix, shift, invert in ((_MAPPED, 0, False), (_IPV4_COMPATIBLE, 0, False), (_NAT64, 0, False),
                                  (_SIX_TO_FOUR, 80, False), (_TEREDO, 0, True)):  # fmt: skip
        if not network.overlaps(prefix):
            continue
        # Bits of the IPv4 address the network fixes: those of its prefix that fall inside the embedded 32.
        fixed = min(32, max(0, network.prefixlen - (128 - shift - 32)))
        bits = (int(network.network_address) >> shift) & 0xFFFFFFFF
        if invert:  # Teredo stores the client's address inverted: the fixed bits are the inverted ones
            bits ^= 0xFFFFFFFF
        images.append(IPv4Network((bits >> (32 - fixed) << (32 - fixed), fixed)))
    return images


def _public_total(special: Sequence[IPNetwork], space: IPNetwork) -> int:
    return space.num_addresses - sum(_overlap(net, space) for net in special)


def _public_covered(networks: Iterable[IPNetwork], special: Sequence[IPNetwork], space: IPNetwork) -> int:
    """How many public addresses (in ``space``, not in ``special``) the union of ``networks`` holds."""
    total = 0
    for network in collapse_addresses(networks):  # type: ignore[type-var]  # one family per call
        total += _overlap(network, space) - sum(_overlap(network, net) for net in special)
    return total


def _not_public_networks(table: Sequence[tuple[IPNetwork, str]], space: IPNetwork) -> list[IPNetwork]:
    """The special-purpose blocks inside ``space``, collapsed so that none overlaps another."""
    inside = [network for network, _ in table if network.overlaps(space)]
    return list(collapse_addresses(inside))  # type: ignore[type-var]  # one family per call


#: Public IPv4: everything but the special blocks. Public IPv6: global unicast but its special blocks and 6to4
#: (whose addresses are IPv4 ones, counted there).
_NOT_PUBLIC_V4 = _not_public_networks(_SPECIAL_V4, _ALL_V4)
_NOT_PUBLIC_V6 = _not_public_networks((*_SPECIAL_V6, (_SIX_TO_FOUR, "")), _GLOBAL_UNICAST_V6)
_PUBLIC_V4 = _public_total(_NOT_PUBLIC_V4, _ALL_V4)
_PUBLIC_V6 = _public_total(_NOT_PUBLIC_V6, _GLOBAL_UNICAST_V6)


def public_shares(networks: Iterable[IPNetwork]) -> tuple[Fraction, Fraction]:
    """The share of public IPv4 and of public IPv6 space the union of ``networks`` opens (an IPv6 network that
    carries IPv4 addresses, like ``::ffff:0:0/96`` or ``2002::/16``, counts for the IPv4 addresses it leads to)."""
    v4: list[IPv4Network] = []
    v6: list[IPv6Network] = []
    for network in networks:
        if isinstance(network, IPv4Network):
            v4.append(network)
        else:
            v6.append(network)
            v4 += _ipv4_image(network)
    return (
        Fraction(_public_covered(v4, _NOT_PUBLIC_V4, _ALL_V4), _PUBLIC_V4),
        Fraction(_public_covered(v6, _NOT_PUBLIC_V6, _GLOBAL_UNICAST_V6), _PUBLIC_V6),
    )


def _too_broad(spec: str, networks: Sequence[IPNetwork]) -> str | None:
    shares = public_shares(networks)
    for family, share in zip(("IPv4", "IPv6"), shares, strict=True):
        if share > MAX_PUBLIC_SHARE:
            return (
                f"{spec!r} opens {float(share):.1%} of the public {family} addresses, which turns the egress check "
                f"off however the networks are split (at most {float(MAX_PUBLIC_SHARE):.1%}); public addresses are "
                "allowed anyway: list only the private hosts and networks actions need"
            )
    return None


@dataclass(frozen=True)
class EgressPolicy:
    """Public addresses are allowed; ``networks`` and ``hosts`` (exact names) are allowed in addition."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, spec: str) -> EgressPolicy:
        """From ``"127.0.0.1/32,10.1.0.0/16,internal.example.com"``; ValueError on a malformed or /0 entry, or on
        a list that opens more than ``MAX_PUBLIC_SHARE`` of the public IPv4 or IPv6 space together."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in filter(None, (part.strip() for part in spec.split(","))):
            try:
                network = ip_network(entry, strict=False)
            except ValueError:
                if not _looks_like_host(entry):
                    raise ValueError(f"{entry!r} is neither an IP address, a network nor a host name") from None
                hosts.add(_normal_host(entry))
                continue
            if network.prefixlen == 0:
                raise ValueError(f"{entry!r} would allow every address and turn the egress check off")
            networks.append(network)
        problem = _too_broad(spec.strip(), networks)
        if problem:
            raise ValueError(problem)
        return cls(networks=tuple(networks), hosts=frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        """Whether ``host`` is one of the allowed host names (compared without case and a trailing dot)."""
        return _normal_host(host) in self.hosts

    def check(self, address: IPAddress) -> None:
        """Raise EgressRefused unless ``address`` is public or in an allowed network."""
        plain = address if isinstance(address, IPv4Address) else IPv6Address(int(address))
        embedded = _embedded_ipv4(plain) if isinstance(plain, IPv6Address) else None
        if any(plain in net or (embedded is not None and embedded in net) for net in self.networks):
            return
        reason = refusal_reason(plain)
        if reason:
            raise EgressRefused(f"{address} is {reason}; allow it with {ALLOW_SETTING}")


def _normal_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


def _looks_like_host(entry: str) -> bool:
    labels = _normal_host(entry).split(".")
    return all(label and len(label) <= 63 and all(c.isalnum() or c == "-" for c in label) for label in labels)


#: The default: public addresses only. (EgressPolicy is frozen, so sharing one instance is safe.)
PUBLIC_ONLY = EgressPolicy()
_policy: ContextVar[EgressPolicy] = ContextVar("egress_policy", default=PUBLIC_ONLY)


def current_policy() -> EgressPolicy:
    """The policy for actions running in this context (public addresses only unless ``using_policy`` says)."""
    return _policy.get()


@contextmanager
def using_policy(policy: EgressPolicy) -> Iterator[None]:
    """Run the block (and asyncio tasks it starts) under ``policy``; the executor sets it for every action."""
    token = _policy.set(policy)
    try:
        yield
    finally:
        _policy.reset(token)


async def _resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving each host once and connecting only to addresses the policy allows."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._backend = httpcore.AnyIOBackend()

    def _allowed(self, host: str, addresses: Iterable[str]) -> list[str]:
        if self._policy.allows_host(host):
            return list(addresses)
        allowed: list[str] = []
        refusal: EgressRefused | None = None
        for address in addresses:
            try:
                self._policy.check(ip_address(address))
                allowed.append(address)
            except EgressRefused as exc:
                refusal = refusal or exc
        if not allowed and refusal:
            raise refusal
        return allowed

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await _resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        error: Exception = httpcore.ConnectError(f"{host} resolved to no address")
        for address in self._allowed(host, addresses):
            try:
                # The checked address itself, not the name: nothing resolves it again between check and connect.
                return await self._backend.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused(f"unix socket {path}: actions connect over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class EgressCheckedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose every connection (first request and each redirect hop) passes ``policy``.

    No proxy and no ``.netrc`` from the environment (``trust_env`` off): a proxy would make the checked address
    the proxy's, and netrc would add credentials the workflow never asked for.
    """

    def __init__(self, policy: EgressPolicy, *, verify: bool | ssl.SSLContext = True) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx has no parameter for httpcore's network backend, so build the same pool it builds, with ours.
        self._pool = httpcore.AsyncConnectionPool(ssl_context=ssl_context, network_backend=_CheckedBackend(policy))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; an EgressRefused names the method and URL of the hop that was refused."""
        try:
            return await super().handle_async_request(request)
        except EgressRefused as exc:
            # Name the hop that was refused: with redirects it is not the URL the workflow gave.
            raise EgressRefused(f"{request.method} {request.url}: {exc}") from None
