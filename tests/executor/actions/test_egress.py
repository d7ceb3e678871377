"""The egress policy: which addresses ``core.http_request`` may connect to, checked where the socket is opened."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import shutil
import ssl
import subprocess
import threading
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.executor.actions import InvalidArguments, bounded_body, get_action
from services.executor.actions.bounded_body import BodyTooLarge, read_decoded
from services.executor.actions.http import ResponseTooLarge, http_request
from services.shared import egress
from services.shared.egress import (
    EgressCheckedTransport,
    EgressPolicy,
    EgressRefused,
    refusal_reason,
    using_policy,
)
from tests.shared.strategies import FUZZ

from ..local_http import local_http_server

LOCAL = EgressPolicy.parse("127.0.0.1/32")


async def call(policy: EgressPolicy, **raw: Any) -> dict[str, Any]:
    with using_policy(policy):
        return await http_request(get_action("core.http_request").parse_args(raw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("100.64.0.1", "shared address space (100.64.0.0/10, carrier-grade NAT)"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved (240.0.0.0/4)"),
        ("255.255.255.255", "broadcast"),
        ("192.0.2.10", "documentation (192.0.2.0/24)"),
        ("198.19.0.1", "benchmarking (198.18.0.0/15)"),
        ("100.127.255.254", "shared address space (100.64.0.0/10, carrier-grade NAT)"),
        ("fec0::1", "site-local (deprecated, fec0::/10)"),
        ("100::1", "discard-only (100::/64)"),
        ("2001:db8::1", "documentation (2001:db8::/32)"),
        ("3fff::1", "documentation (3fff::/20)"),
        ("2001:2::1", "benchmarking (2001:2::/48)"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo (2001::/32)"),  # its client is public, still refused
        ("5f00::1", "SRv6 segment identifiers (5f00::/16)"),
        ("4000::1", "reserved (outside global unicast 2000::/3)"),
        (
            "::ffff:100.64.0.1",
            "an IPv6 form of 100.64.0.1, which is shared address space (100.64.0.0/10, carrier-grade NAT)",
        ),
        ("2002:c612:1::1", "an IPv6 form of 198.18.0.1, which is benchmarking (198.18.0.0/15)"),
        ("::ffff:169.254.169.254", "an IPv6 form of 169.254.169.254, which is link-local"),
        ("::ffff:10.1.2.3", "an IPv6 form of 10.1.2.3, which is private"),
        ("64:ff9b::7f00:1", "an IPv6 form of 127.0.0.1, which is loopback"),
        ("2002:a9fe:a9fe::1", "an IPv6 form of 169.254.169.254, which is link-local"),
        ("64:ff9b:1::a00:1", "local-use NAT64 (64:ff9b:1::/48)"),
        ("::127.0.0.1", "an IPv6 form of 127.0.0.1, which is loopback"),
    ],
)
def test_non_public_addresses_are_refused_with_their_class(address: str, reason: str) -> None:
    assert refusal_reason(ip_address(address)) == reason
    with pytest.raises(EgressRefused, match=rf"^{ip_address(address)} is .*; allow it with EXECUTOR_EGRESS_ALLOW$"):
        EgressPolicy().check(ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal_reason(ip_address(address)) is None
    EgressPolicy().check(ip_address(address))


def test_allow_list_opens_networks_and_hosts() -> None:
    policy = EgressPolicy.parse(" 10.1.0.0/16, 127.0.0.1 ,Vault.Internal.,fd00::/8")
    for allowed in ("10.1.200.3", "127.0.0.1", "::ffff:127.0.0.1", "fd00::5"):
        policy.check(ip_address(allowed))
    for refused in ("10.2.0.1", "127.0.0.2", "::1", "169.254.169.254"):
        with pytest.raises(EgressRefused):
            policy.check(ip_address(refused))
    assert policy.allows_host("vault.internal") and policy.allows_host("VAULT.internal.")
    assert not policy.allows_host("other.internal")


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("0.0.0.0/0", "would allow every address"),
        ("::/0", "would allow every address"),
        ("10.0.0.0/8,not a host", "'not a host' is neither an IP address, a network nor a host name"),
        ("*.example.com", "neither an IP address"),
    ],
)
def test_allow_list_refuses_malformed_or_open_entries(spec: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        EgressPolicy.parse(spec)
    assert EgressPolicy.parse("") == EgressPolicy()


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://127.0.0.1:9/", "127.0.0.1 is loopback"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
        ("http://10.0.0.1/", "10.0.0.1 is private"),
        ("http://100.64.0.1/", "100.64.0.1 is shared address space"),
        ("http://0.0.0.0:9/", "0.0.0.0 is unspecified"),
        ("http://224.0.0.1/", "224.0.0.1 is multicast"),
        ("http://[::1]:9/", "::1 is loopback"),
        ("http://[::]:9/", ":: is unspecified"),
        ("http://[fe80::1]/", "fe80::1 is link-local"),
        ("http://[fd00::1]/", "fd00::1 is private"),
        (
            "http://[::ffff:169.254.169.254]/",
            "::ffff:a9fe:a9fe is an IPv6 form of 169.254.169.254, which is link-local",
        ),
        ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe is an IPv6 form of 169.254.169.254"),
        ("http://2130706433:9/", "127.0.0.1 is loopback"),  # the decimal form of 127.0.0.1
        ("https://localhost:9/", "(127.0.0.1|::1) is loopback"),  # a name resolving to loopback
    ],
)
async def test_http_request_refuses_non_public_destinations(url: str, refused: str) -> None:
    with pytest.raises(EgressRefused, match=f"GET {'.*'}: {refused}"):
        await call(EgressPolicy(), url=url, timeout=5)


async def test_allowed_network_reaches_the_local_server(http_base_url: str) -> None:
    assert (await call(LOCAL, url=f"{http_base_url}/text"))["data"] == "hello, plain text"
    with pytest.raises(EgressRefused, match=r"127\.0\.0\.1 is loopback"):
        await call(EgressPolicy.parse("10.0.0.0/8"), url=f"{http_base_url}/text")


async def test_allowed_host_name_reaches_the_local_server(http_base_url: str) -> None:
    port = httpx.URL(http_base_url).port
    result = await call(EgressPolicy.parse("localhost"), url=f"http://localhost:{port}/text")
    assert result["data"] == "hello, plain text"


async def test_every_redirect_hop_is_checked(http_base_url: str) -> None:
    for target, refused in [
        ("http://169.254.169.254/latest/meta-data/", "GET http://169.254.169.254/latest/meta-data/: 169.254.169.254"),
        ("http://[::1]:9/", r"GET http://\[::1\]:9/: ::1 is loopback"),
        ("http://10.9.8.7/", "GET http://10.9.8.7/: 10.9.8.7 is private"),
    ]:
        with pytest.raises(EgressRefused, match=refused):
            await call(LOCAL, url=f"{http_base_url}/redirect-to?location={target}", follow_redirects=True)
    # Not following, the redirect itself is the answer: nothing connects to the target.
    answer = await call(LOCAL, url=f"{http_base_url}/redirect-to?location=http://10.9.8.7/")
    assert (answer["status_code"], answer["headers"]["location"]) == (302, "http://10.9.8.7/")


async def test_the_name_is_resolved_once_and_the_checked_address_is_used(
    http_base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a second lookup could answer differently, so there is none; Host keeps the name."""
    port = httpx.URL(http_base_url).port
    lookups: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["169.254.169.254"]

    monkeypatch.setattr(egress, "_resolve", resolve)
    result = await call(LOCAL, url=f"http://alerts.rebind.test:{port}/echo")
    assert result["data"]["headers"]["host"] == f"alerts.rebind.test:{port}"
    assert lookups == ["alerts.rebind.test"]


async def test_mixed_answers_connect_only_to_an_allowed_address(
    http_base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = httpx.URL(http_base_url).port

    async def resolve(host: str, port: int) -> list[str]:
        return ["169.254.169.254", "127.0.0.1"]

    monkeypatch.setattr(egress, "_resolve", resolve)
    assert (await call(LOCAL, url=f"http://mixed.test:{port}/text"))["data"] == "hello, plain text"
    with pytest.raises(EgressRefused, match=r"169\.254\.169\.254 is link-local"):
        await call(EgressPolicy(), url=f"http://mixed.test:{port}/text")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://user:secret@example.com/", "url must not contain credentials"),
        ("https://token@example.com/", "url must not contain credentials"),
        ("file:///etc/passwd", "url: String should match pattern"),
        ("gopher://example.com/", "url: String should match pattern"),
    ],
)
def test_credentials_and_other_schemes_are_refused(url: str, problem: str) -> None:
    with pytest.raises(InvalidArguments, match=problem):
        get_action("core.http_request").parse_args({"url": url})


async def test_redirect_to_another_scheme_is_not_followed(http_base_url: str) -> None:
    with pytest.raises(httpx.UnsupportedProtocol):
        await call(LOCAL, url=f"{http_base_url}/redirect-to?location=file:///etc/passwd", follow_redirects=True)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name alerts.tls.test (and its key), made with the openssl CLI."""
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=alerts.tls.test",
         "-addext", "subjectAltName=DNS:alerts.tls.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_https_to_a_pinned_address_verifies_the_certificate_for_the_url_name(
    tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket goes to the checked IP, while SNI and certificate verification use the URL's host name."""
    cert, key = tls_files
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr(egress, "_resolve", resolve)
    with local_http_server(tls=server_tls) as base:
        port = httpx.URL(base).port
        transport = EgressCheckedTransport(LOCAL, verify=client_tls)
        async with httpx.AsyncClient(transport=transport) as client:
            answer = await client.get(f"https://alerts.tls.test:{port}/echo")
            assert answer.json()["headers"]["host"] == f"alerts.tls.test:{port}"
            with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                await client.get(f"https://other.tls.test:{port}/echo")


# --- Allow-lists that open (nearly) everything, however they are written -------------------------------------------

#: Blocks whose every address is, or leads to, anything at all: IPv4, IPv6, and the IPv6 prefixes carrying IPv4.
WHOLE_SPACES = ["0.0.0.0/0", "::/0", "::ffff:0:0/96", "64:ff9b::/96", "2002::/16", "2000::/3", "::/96"]


@st.composite
def partitions(draw: st.DrawFn, whole: str) -> list[str]:
    """``whole`` split into CIDR blocks at random depths (every address of it in exactly one block), shuffled."""
    pending, pieces = [ip_network(whole)], []
    while pending:
        network = pending.pop()
        # Split the top levels always (no /0 survives), then at random down to 12 bits deeper.
        if network.prefixlen < ip_network(whole).prefixlen + 1 or (
            network.prefixlen < ip_network(whole).prefixlen + 12 and draw(st.booleans())
        ):
            pending += list(network.subnets())
        else:
            pieces.append(network)
    return [str(piece) for piece in draw(st.permutations(pieces))]


@FUZZ
@given(st.sampled_from(WHOLE_SPACES).flatmap(partitions), st.lists(st.sampled_from(["10.1.0.0/16", "vault.internal"])))
def test_an_allow_list_covering_a_whole_space_is_refused_however_split(pieces: list[str], extra: list[str]) -> None:
    with pytest.raises(ValueError, match="turns the egress check off"):
        EgressPolicy.parse(",".join([*extra, *pieces]))


#: The blocks an allow-list is for: private, loopback, link-local, shared, and other non-public ones.
NON_PUBLIC_BLOCKS = [
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10",
    "198.18.0.0/15", "fc00::/7", "fe80::/10", "::1/128", "fec0::/10", "::ffff:10.0.0.0/104", "64:ff9b::a00:0/104",
    "2002:a00::/24",
]  # fmt: skip


@st.composite
def inside(draw: st.DrawFn, block: str) -> str:
    network = ip_network(block)
    prefix = draw(st.integers(network.prefixlen, network.max_prefixlen))
    offset = draw(st.integers(0, network.num_addresses - 1))
    return str(ip_network((int(network.network_address) + offset, prefix), strict=False))


@FUZZ
@given(st.lists(st.sampled_from(NON_PUBLIC_BLOCKS).flatmap(inside), min_size=1, max_size=8))
def test_allow_lists_of_non_public_networks_are_kept_and_open_exactly_those(networks: list[str]) -> None:
    policy = EgressPolicy.parse(",".join(networks))
    for network in map(ip_network, networks):
        policy.check(network.network_address)
        policy.check(network.broadcast_address)


@pytest.mark.parametrize(
    "spec",
    [
        "0.0.0.0/1,128.0.0.0/1",
        "::/1,8000::/1",
        "0.0.0.0/2,64.0.0.0/2,128.0.0.0/2,192.0.0.0/2",
        "1.0.0.0/8,2.0.0.0/7,4.0.0.0/6,8.0.0.0/5,16.0.0.0/4,32.0.0.0/3,64.0.0.0/2,128.0.0.0/1",  # all public v4
        "::ffff:0:0/97,::ffff:128.0.0.0/97",  # IPv4-mapped halves
        "2002::/17,2002:8000::/17",  # 6to4 halves
        "2001::/32",  # Teredo: its clients are any IPv4 address
        "2000::/4,3000::/4",
        "8.0.0.0/5",  # an absurd share, not all
    ],
)
def test_broad_allow_lists_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="turns the egress check off however the networks are split"):
        EgressPolicy.parse(spec)


# --- Address forms: an address is judged by where it leads ---------------------------------------------------------

NON_PUBLIC_V4 = [
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
    "240.0.0.0/4",
]  # fmt: skip
NON_PUBLIC_V6 = [
    "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "100::/64", "2001:db8::/32", "3fff::/20",
    "2001::/23", "64:ff9b:1::/48", "5f00::/16", "4000::/3",
]  # fmt: skip


def v4_forms(address: IPv4Address) -> list[str]:
    """The IPv6 spellings that lead to ``address``: mapped (dotted, hex, expanded), compatible, NAT64, 6to4."""
    value = int(address)
    mapped = IPv6Address((0xFFFF << 32) | value)
    forms = [f"::ffff:{address}", str(mapped), mapped.exploded, f"64:ff9b::{address}",
             str(IPv6Address((0x2002 << 112) | (value << 80) | 1))]  # fmt: skip
    if value > 1:
        forms.append(f"::{address}")
    return forms


@FUZZ
@given(st.sampled_from(NON_PUBLIC_V4).flatmap(inside))
def test_every_form_of_a_non_public_ipv4_address_is_refused(network: str) -> None:
    address = ip_network(network).network_address
    assert isinstance(address, IPv4Address)
    for form in [str(address), *v4_forms(address)]:
        with pytest.raises(EgressRefused, match=f"is (an IPv6 form of {address}, which is )?"):
            PUBLIC_ONLY_POLICY.check(ip_address(form))


@FUZZ
@given(st.sampled_from(NON_PUBLIC_V6).flatmap(inside), st.sampled_from(["", "%eth0", "%1"]))
def test_non_public_ipv6_addresses_are_refused_with_or_without_a_zone(network: str, zone: str) -> None:
    address = ip_network(network).network_address
    with pytest.raises(EgressRefused, match=" is "):
        PUBLIC_ONLY_POLICY.check(ip_address(f"{address}{zone}"))


@FUZZ
@given(st.integers(0, 2**32 - 1).map(IPv4Address))
def test_an_ipv4_address_and_its_ipv6_forms_get_one_verdict(address: IPv4Address) -> None:
    public = refusal_reason(address) is None
    for form in v4_forms(address):
        assert (refusal_reason(ip_address(form)) is None) == public, form


def url_notations(address: IPv4Address) -> list[str]:
    """How a URL may spell an IPv4 address besides dotted decimal (``inet_aton`` reads them all)."""
    value, (a, b, c, d) = int(address), address.packed
    return [
        str(value), hex(value), f"0{value:o}", f"0x{a:x}.0x{b:x}.0x{c:x}.0x{d:x}", f"0{a:o}.0{b:o}.0{c:o}.0{d:o}",
        f"{a}.{b}.{(c << 8) | d}", f"{a}.{(b << 16) | (c << 8) | d}", f"[::ffff:{address}]", f"[64:ff9b::{address}]",
        f"[{IPv6Address((0xFFFF << 32) | value).exploded}]",
    ]  # fmt: skip


@FUZZ
@given(st.sampled_from(NON_PUBLIC_V4).flatmap(inside), st.data())
def test_no_url_notation_reaches_a_non_public_address(network: str, data: st.DataObject) -> None:
    address = ip_network(network).network_address
    assert isinstance(address, IPv4Address)
    host = data.draw(st.sampled_from(url_notations(address)))
    connected: list[str] = []

    async def connect_tcp(self: object, host: str, port: int, *args: object, **kwargs: object) -> None:
        connected.append(host)
        raise httpcore.ConnectError("the test connects nowhere")

    async def attempt() -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
            with contextlib.suppress(EgressRefused, httpx.HTTPError, InvalidArguments):
                await call(EgressPolicy(), url=f"http://{host}:9/", timeout=5)

    asyncio.run(attempt())
    assert connected == [], f"http://{host}/ connected to {connected}"


PUBLIC_ONLY_POLICY = EgressPolicy()


# --- Decoded size: a compressed answer stops being read at max_bytes ------------------------------------------------


def gzip_bomb(decoded: int) -> bytes:
    """``decoded`` zero bytes, gzip-compressed (about a thousandth of that)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(decoded // len(block))]
    return b"".join([*parts, compressor.flush()])


@contextlib.contextmanager
def serving(body: bytes, headers: dict[str, str]) -> Iterator[str]:
    """A local server answering every GET with ``body`` and ``headers``; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(OSError):  # the client stops reading early: that is the point
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip"])
async def test_a_gzip_bomb_is_stopped_at_max_bytes_without_inflating_it(encoding: str) -> None:
    bomb = gzip_bomb(256 * 1024 * 1024)  # 256 MiB of zeros in about 250 KiB
    with serving(bomb, {"Content-Encoding": encoding, "Content-Type": "text/plain"}) as base:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLarge, match=r"body exceeds 1048576 bytes \(decoded\)"):
                await call(LOCAL, url=f"{base}/bomb", max_bytes=1024 * 1024)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # httpx alone inflated each 64 KiB read whole: about 128 MiB for this answer.
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"


async def test_a_compressed_answer_within_max_bytes_is_decoded_whole() -> None:
    text = b"".join(b"line %d of a compressible answer\n" % n for n in range(20000))
    with serving(gzip.compress(text), {"Content-Encoding": "gzip", "Content-Type": "text/plain"}) as base:
        result = await call(LOCAL, url=f"{base}/ok", max_bytes=len(text))
    assert result["data"] == text.decode()
    with (
        serving(gzip.compress(text), {"Content-Encoding": "gzip", "Content-Type": "text/plain"}) as base,
        pytest.raises(ResponseTooLarge),
    ):
        await call(LOCAL, url=f"{base}/ok", max_bytes=len(text) - 1)


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,  # zlib-wrapped, as RFC 9110 says
    "identity": lambda data: data,
}


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)  # what many servers send for "deflate"
    return compressor.compress(data) + compressor.flush()


class Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=3000), st.integers(0, 200_000).map(bytes)),
    encodings=st.lists(st.sampled_from([*ENCODERS, "raw-deflate"]), max_size=3),
    limit=st.integers(1, 250_000),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_read_decoded_matches_httpx_and_never_makes_more_than_the_limit(
    body: bytes, encodings: list[str], limit: int, cuts: list[int]
) -> None:
    encoded = body
    for name in encodings:  # applied in header order, as a server would
        encoded = raw_deflate(encoded) if name == "raw-deflate" else ENCODERS[name](encoded)
    header = ", ".join("deflate" if name == "raw-deflate" else name for name in encodings)
    bounds = sorted({0, len(encoded), *(cut for cut in cuts if cut < len(encoded))})
    chunks = [encoded[a:b] for a, b in itertools.pairwise(bounds)]
    headers = {"Content-Encoding": header} if header else {}
    # httpx itself leaves x-gzip alone; RFC 9110 says to read it as gzip, which read_decoded does.
    reference = {"Content-Encoding": header.replace("x-gzip", "gzip")} if header else {}
    assert httpx.Response(200, headers=reference, content=encoded).content == body

    async def read() -> bytes:
        response = httpx.Response(200, headers=headers, stream=Chunks(chunks))
        return await read_decoded(response, limit)

    if len(body) > limit:
        with pytest.raises(BodyTooLarge):
            asyncio.run(read())
    else:
        assert asyncio.run(read()) == body


def test_a_decoding_step_never_makes_more_than_the_room_left() -> None:
    """The bound is on each step, not only on the total: a bomb inflates by at most the room left plus one byte."""
    bomb = gzip_bomb(64 * 1024 * 1024)
    made: list[int] = []
    original = bounded_body._Inflate.take

    def take(self: bounded_body._Inflate, size: int) -> bytes:
        out = original(self, size)
        made.append(len(out))
        return out

    response = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=Chunks([bomb]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bounded_body._Inflate, "take", take)
        with pytest.raises(BodyTooLarge):
            asyncio.run(read_decoded(response, 100_000))
    assert 0 < max(made) <= 100_001


def test_raw_bytes_past_the_stream_end_are_not_read_forever() -> None:
    padded = gzip.compress(b"small") + bytes(100_000)
    response = httpx.Response(
        200, headers={"Content-Encoding": "gzip"}, stream=Chunks([padded[:50_000], padded[50_000:]])
    )
    with pytest.raises(BodyTooLarge, match="received"):
        asyncio.run(read_decoded(response, 1000))
