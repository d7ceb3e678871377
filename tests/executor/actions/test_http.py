"""``core.http_request`` against a real HTTP server on 127.0.0.1 (the ``http_base_url`` fixture)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from services.executor.actions import InvalidArguments, get_action
from services.executor.actions.http import (
    HttpRequestArgs,
    RequestTimeout,
    ResponseTooLarge,
    UnexpectedStatus,
    http_request,
)
from services.shared.egress import EgressPolicy, using_policy

#: The local test server's network (egress to loopback is refused unless allowed; see test_egress).
LOCAL = EgressPolicy.parse("127.0.0.1/32")


async def call(policy: EgressPolicy = LOCAL, **raw: Any) -> dict[str, Any]:
    with using_policy(policy):
        return await http_request(get_action("core.http_request").parse_args(raw))  # type: ignore[arg-type]


async def test_json_response_is_parsed(http_base_url: str) -> None:
    result = await call(
        url=f"{http_base_url}/echo",
        method="post",
        headers={"X-Token": "t"},
        params={"q": "alert", "n": 2},
        json={"hello": "world"},
    )
    assert result["status_code"] == 200
    assert result["headers"]["x-echo"] == "yes"
    data = result["data"]
    assert data["method"] == "POST"
    assert data["query"] == {"q": ["alert"], "n": ["2"]}
    assert data["headers"]["x-token"] == "t"
    assert data["headers"]["content-type"] == "application/json"
    assert data["body"] == '{"hello":"world"}'


async def test_text_response_is_text(http_base_url: str) -> None:
    result = await call(url=f"{http_base_url}/text")
    assert result == {
        "status_code": 200,
        "headers": result["headers"],
        "data": "hello, plain text",
    }
    assert result["headers"]["content-type"].startswith("text/plain")


async def test_content_is_sent_as_body(http_base_url: str) -> None:
    result = await call(url=f"{http_base_url}/echo", method="PUT", content="raw body")
    assert result["data"]["body"] == "raw body"


async def test_json_that_does_not_parse_comes_back_as_text(http_base_url: str) -> None:
    assert (await call(url=f"{http_base_url}/broken-json"))["data"] == "{not json"


async def test_server_error_fails_by_default(http_base_url: str) -> None:
    with pytest.raises(httpx.HTTPStatusError, match="500 Internal Server Error"):
        await call(url=f"{http_base_url}/fail")


async def test_server_error_returned_when_not_raising(http_base_url: str) -> None:
    result = await call(url=f"{http_base_url}/fail", raise_for_status=False)
    assert (result["status_code"], result["data"]) == (500, {"error": "boom"})


async def test_redirects_are_not_followed_unless_asked(http_base_url: str) -> None:
    assert (await call(url=f"{http_base_url}/redirect"))["status_code"] == 302
    followed = await call(url=f"{http_base_url}/redirect", follow_redirects=True)
    assert (followed["status_code"], followed["data"]) == (200, "hello, plain text")


async def test_timeout_fails_with_a_clear_message(http_base_url: str) -> None:
    start = time.perf_counter()
    with pytest.raises(RequestTimeout, match=r"GET .*/slow\?seconds=2 timed out after 0\.3 s"):
        await call(url=f"{http_base_url}/slow?seconds=2", timeout=0.3)
    assert time.perf_counter() - start < 1.5


async def test_oversized_body_fails(http_base_url: str) -> None:
    with pytest.raises(ResponseTooLarge, match="body exceeds 1000 bytes"):
        await call(url=f"{http_base_url}/big?bytes=5000", max_bytes=1000)
    assert len((await call(url=f"{http_base_url}/big?bytes=1000", max_bytes=1000))["data"]) == 1000


async def test_connection_refused_fails() -> None:
    with pytest.raises(httpx.ConnectError):
        await call(url="http://127.0.0.1:9/", timeout=2)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"url": "ftp://x.example"}, "url: String should match pattern"),
        ({"url": "http://x.example", "timeout": 301}, "timeout: Input should be less than or equal to 300"),
        ({"url": "http://x.example", "timeout": 0}, "timeout: Input should be greater than 0"),
        ({"url": "http://x.example", "method": "BREW"}, "method: Input should be 'GET'"),
        ({"url": "http://x.example", "json": {}, "content": "x"}, "give one body: json, form or content"),
        (
            {"url": "http://x.example", "max_bytes": 2 * 1024 * 1024 + 1},
            "max_bytes: Input should be less than or equal",
        ),
    ],
)
def test_bad_args_are_refused(raw: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidArguments, match=problem):
        get_action("core.http_request").parse_args(raw)


def test_defaults() -> None:
    args = HttpRequestArgs(url="https://x.example")
    assert (args.method, args.timeout, args.verify, args.follow_redirects, args.raise_for_status) == (
        "GET",
        10.0,
        True,
        False,
        True,
    )


async def test_params_add_to_a_query_already_in_the_url(http_base_url: str) -> None:
    result = await call(url=f"{http_base_url}/echo?a=1", params={"b": ["x", "y"]})
    assert result["data"]["query"] == {"a": ["1"], "b": ["x", "y"]}


async def test_a_form_body_is_sent_urlencoded(http_base_url: str) -> None:
    result = await call(url=f"{http_base_url}/echo", method="post", form={"a": "1 2", "b": "x&y"})
    assert result["data"]["body"] == "a=1+2&b=x%26y"
    assert result["data"]["headers"]["content-type"] == "application/x-www-form-urlencoded"


async def test_expected_status_decides_success(http_base_url: str) -> None:
    failed = await call(url=f"{http_base_url}/fail", expected_status=[500])
    assert failed["status_code"] == 500
    with pytest.raises(UnexpectedStatus, match=r"GET .*/text answered 200, expected 201, 202"):
        await call(url=f"{http_base_url}/text", expected_status=[201, 202])


def test_verify_turns_certificate_checks_off_and_verify_ssl_is_an_unknown_key() -> None:
    assert HttpRequestArgs.model_validate({"url": "https://x.example", "verify": False}).verify is False
    with pytest.raises(ValidationError, match="verify_ssl"):
        HttpRequestArgs.model_validate({"url": "https://x.example", "verify_ssl": False})
