"""The egress policy: which addresses ``core.http_request`` may connect to, checked where the socket is opened."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.executor.actions import InvalidArguments, egress, get_action
from services.executor.actions.egress import (
    EgressCheckedTransport,
    EgressPolicy,
    EgressRefused,
    refusal_reason,
    using_policy,
)
from services.executor.actions.http import http_request

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
        ("240.0.0.1", "reserved (not globally routable)"),
        ("255.255.255.255", "reserved (not globally routable)"),
        ("192.0.2.10", "reserved (not globally routable)"),
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
