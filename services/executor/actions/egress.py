"""Where actions may connect: public addresses only, unless ``EXECUTOR_EGRESS_ALLOW`` opens a host or network.

An action's URL comes from alert data, so without this an alert could make the executor fetch cloud metadata
(169.254.169.254), a database on the private network, or a service on the executor's own host. The check is on
the address a socket is actually opened to: the host is resolved once, every resolved address is checked, and the
connection goes to that very address (the name is never resolved again, so DNS rebinding cannot swap in another).
Host header, TLS SNI and certificate checks still use the name from the URL. Every redirect hop opens its
connection through the same check.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import httpcore
import httpx

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

#: The setting users change to open a host or network; named in every refusal.
ALLOW_SETTING = "EXECUTOR_EGRESS_ALLOW"

_PRIVATE = tuple(
    ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)  # RFC 1918 and IPv6 unique local
_CGNAT = ip_network("100.64.0.0/10")
_IPV4_COMPATIBLE = ip_network("::/96")  # deprecated ::a.b.c.d form; Python calls its addresses global
_NAT64 = ip_network("64:ff9b::/96")  # well-known prefix: the last 32 bits are an IPv4 address
_NAT64_LOCAL = ip_network("64:ff9b:1::/48")  # local-use prefix: where the IPv4 part sits is the operator's choice


class EgressRefused(Exception):
    """An action tried to connect to an address the egress policy does not allow."""


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4, Teredo client): where it leads."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # :: and ::1 are unspecified and loopback themselves
        return IPv4Address(int(address))
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour:
        return address.sixtofour
    return address.teredo[1] if address.teredo else None


#: What makes an address not a public destination, checked in this order: the first that applies names it.
_NOT_PUBLIC: tuple[tuple[Callable[[IPAddress], bool], str], ...] = (
    # An IPv4 address is never in an IPv6 network, so this one only ever applies to IPv6.
    (lambda address: address in _NAT64_LOCAL, "local-use NAT64 (64:ff9b:1::/48)"),
    (lambda address: address.is_unspecified, "unspecified"),
    (lambda address: address.is_loopback, "loopback"),
    (lambda address: address.is_link_local, "link-local"),
    (lambda address: address.is_multicast, "multicast"),
    (lambda address: address in _CGNAT, "shared address space (100.64.0.0/10, carrier-grade NAT)"),
    (lambda address: any(address in net for net in _PRIVATE), "private"),
    (lambda address: not address.is_global, "reserved (not globally routable)"),
)


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination ("link-local", "private", ...), or None if it is one."""
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal_reason(embedded)
            return f"an IPv6 form of {embedded}, which is {reason}" if reason else None
    return next((reason for applies, reason in _NOT_PUBLIC if applies(address)), None)


@dataclass(frozen=True)
class EgressPolicy:
    """Public addresses are allowed; ``networks`` and ``hosts`` (exact names) are allowed in addition."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, spec: str) -> EgressPolicy:
        """From ``"127.0.0.1/32,10.1.0.0/16,internal.example.com"``; ValueError on a malformed or /0 entry."""
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
        return cls(networks=tuple(networks), hosts=frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        """Whether ``host`` is one of the allowed host names (compared without case and a trailing dot)."""
        return _normal_host(host) in self.hosts

    def check(self, address: IPAddress) -> None:
        """Raise EgressRefused unless ``address`` is public or in an allowed network."""
        embedded = _embedded_ipv4(address) if isinstance(address, IPv6Address) else None
        if any(address in net or (embedded is not None and embedded in net) for net in self.networks):
            return
        reason = refusal_reason(address)
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
