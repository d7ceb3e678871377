"""``core.http_request``: one HTTP call with httpx, returning status, headers and the (parsed) body.

Connections go only where the egress policy allows (``egress``): public addresses, plus what
``EXECUTOR_EGRESS_ALLOW`` opens. Only http and https URLs, and no credentials in the URL.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.executor.actions.bounded_body import BodyTooLarge, read_decoded
from services.executor.actions.registry import action
from services.shared.egress import EgressCheckedTransport, current_policy

#: Largest body read by default: results travel through Temporal, whose payloads are capped at 2 MB.
DEFAULT_MAX_BYTES = 1024 * 1024


class ResponseTooLarge(Exception):
    """The response body is larger than the ``max_bytes`` the caller allowed."""


class RequestTimeout(Exception):
    """The request did not complete within ``timeout`` seconds."""


class UnexpectedStatus(Exception):
    """The response's status is not one of ``expected_status``."""


class HttpRequestArgs(BaseModel):
    """Arguments of ``core.http_request``: at most one body (``json``, ``form`` or ``content``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: str = Field(pattern=r"(?i)^https?://", description="http(s) URL; no credentials in it (use headers).")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = Field(
        "GET", description="HTTP method (any case)."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    params: dict[str, str | int | float | bool | list[str | int | float | bool]] = Field(
        default_factory=dict, description="Query parameters, added to any query already in the URL."
    )
    # ``json`` is the name users write; the attribute avoids shadowing BaseModel.json.
    json_body: Any = Field(None, alias="json", description="A JSON body (sets Content-Type: application/json).")
    form: dict[str, str] | None = Field(None, description="A form body (application/x-www-form-urlencoded).")
    content: str | None = Field(None, description="A raw text body, sent as is.")
    timeout: float = Field(10.0, gt=0, le=300, description="Seconds for the whole call (connect, send, receive).")
    verify: bool = Field(True, description="Check the server's TLS certificate.")
    follow_redirects: bool = Field(False, description="Follow redirects (each hop passes the egress policy).")
    raise_for_status: bool = Field(
        True, description="A 4xx/5xx answer fails the action (HTTPStatusError); ignored with expected_status."
    )
    expected_status: list[int] | None = Field(
        None, description="The statuses that count as success; any other fails the action (UnexpectedStatus)."
    )
    # At most 2 MiB: results are capped below Temporal's 2 MB payload limit (EXECUTOR_MAX_RESULT_BYTES), so reading
    # more (up to 10 MiB before) only spent memory and time on an answer that could never be returned.
    max_bytes: int = Field(
        DEFAULT_MAX_BYTES, gt=0, le=2 * 1024 * 1024, description="Largest response body read; larger fails."
    )

    @model_validator(mode="before")
    @classmethod
    def _upper_method(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("method"), str):
            return {**data, "method": data["method"].upper()}
        return data

    @model_validator(mode="after")
    def _one_body(self) -> HttpRequestArgs:
        if sum(body is not None for body in (self.json_body, self.content, self.form)) > 1:
            raise ValueError("give one body: json, form or content")
        return self

    @model_validator(mode="after")
    def _no_credentials_in_url(self) -> HttpRequestArgs:
        # The URL is written to logs, error messages and the results topic; a password in it would leak there.
        try:
            userinfo = httpx.URL(self.url).userinfo
        except httpx.InvalidURL as exc:
            raise ValueError(f"url is not a valid URL: {exc}") from None
        if userinfo:
            raise ValueError("url must not contain credentials (user:password@); send them in headers instead")
        return self


def _decode(response: httpx.Response, body: bytes) -> Any:
    """Parsed JSON when the response says it is JSON, else text (also when 'JSON' does not parse)."""
    text = body.decode(response.encoding or "utf-8", errors="replace")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    # Decoded bytes are counted as they are made: a compressed answer must not inflate past the limit first.
    try:
        return await read_decoded(response, limit)
    except BodyTooLarge as exc:
        raise ResponseTooLarge(f"{response.request.method} {response.request.url}: {exc}") from None


async def _call(args: HttpRequestArgs) -> dict[str, Any]:
    async with (
        httpx.AsyncClient(
            transport=EgressCheckedTransport(current_policy(), verify=args.verify),
            trust_env=False,  # no proxy or netrc from the environment: what a request does is in its args
            timeout=args.timeout,
            follow_redirects=args.follow_redirects,
        ) as client,
        client.stream(
            args.method,
            # Merged here: httpx's own ``params=`` replaces a query already in the URL instead of adding to it.
            httpx.URL(args.url).copy_merge_params(args.params),
            headers=args.headers,
            json=args.json_body,
            data=args.form,
            content=args.content,
        ) as response,
    ):
        body = await _read_bounded(response, args.max_bytes)
        if args.expected_status is not None:
            if response.status_code not in args.expected_status:
                expected = ", ".join(map(str, args.expected_status))
                raise UnexpectedStatus(f"{args.method} {args.url} answered {response.status_code}, expected {expected}")
        elif args.raise_for_status and response.is_error:
            response.raise_for_status()
        return {
            "status_code": response.status_code,
            "headers": dict(response.headers),
            "data": _decode(response, body),
        }


@action("core.http_request", description="One HTTP request; the result is {status_code, headers, data}.")
async def http_request(args: HttpRequestArgs) -> dict[str, Any]:
    """Make the request; return ``{status_code, headers, data}`` (``data`` parsed when the answer is JSON). Fails
    on timeout, oversize body, 4xx/5xx (or a status not in ``expected_status``), and with EgressRefused on a
    connection (first or after a redirect) to an address the egress policy refuses."""
    return await send(args)


async def send(args: HttpRequestArgs) -> dict[str, Any]:
    """One request as ``core.http_request`` makes it (``core.http_poll`` makes several)."""
    try:
        # httpx's timeout bounds each phase; this bounds the whole call, as users read "timeout".
        async with asyncio.timeout(args.timeout):
            return await _call(args)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise RequestTimeout(f"{args.method} {args.url} timed out after {args.timeout:g} s") from exc
