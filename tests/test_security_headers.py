"""The one definition of the security headers, and the ASGI middleware `serve` wraps with."""

from __future__ import annotations

import asyncio
from typing import Any

from provisioner.render.security_headers import (
    content_security_policy,
    security_headers,
    with_security_headers,
)


def directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for part in csp.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def test_csp_allows_only_the_nations_own_origin() -> None:
    csp = directives(content_security_policy())
    assert csp["frame-ancestors"] == ["'none'"]
    for name in ("default-src", "script-src", "style-src", "font-src", "connect-src"):
        assert csp[name] == ["'self'"], name
    assert not any("unsafe" in s for name, v in csp.items() if name != "style-src-attr" for s in v)
    assert directives(content_security_policy("https://liege.example"))["form-action"] == [
        "'self'",
        "https://liege.example",
    ]


def run_app(app: Any, scope_type: str = "http") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": scope_type}, receive, send))
    return sent


async def page(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/html"), (b"referrer-policy", b"no-referrer")],
        }
    )
    await send({"type": "http.response.body", "body": b"<p>ok</p>"})


def test_middleware_adds_every_header_and_keeps_the_apps_own() -> None:
    start, body = run_app(with_security_headers(page))
    headers = dict((k.decode(), v.decode()) for k, v in start["headers"])
    expected = {k.lower(): v for k, v in security_headers().items()}
    assert headers["referrer-policy"] == "no-referrer"  # the handler's stricter choice wins
    del expected["referrer-policy"]
    assert expected.items() <= headers.items()
    assert headers["strict-transport-security"].startswith("max-age=63072000")
    assert headers["x-content-type-options"] == "nosniff"
    assert body["body"] == b"<p>ok</p>"
    assert [name for name, _ in start["headers"]].count(b"referrer-policy") == 1
