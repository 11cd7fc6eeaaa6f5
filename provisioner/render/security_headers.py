"""The one definition of the HTTP security headers every nation's pages are served with.

Candidates' sites share a parent domain, so a page must never be framed (clickjacking a
pledge form), sniffed into another type, or allowed to pull code from elsewhere. The
CloudFront response headers policy (infra/) and `provisioner serve` both read this
module, so the cloud and the local server cannot drift apart.

'self' is the nation's own origin: every nation is served from its own host, and its
pages only load their own assets (`style.css`, images) and post their own forms.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

HSTS_MAX_AGE = 63_072_000  # two years, the value hstspreload.org asks for
REFERRER_POLICY = "strict-origin-when-cross-origin"

# (directive, sources) in the order they are written.
CSP_DIRECTIVES: tuple[tuple[str, str], ...] = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self'"),
    # The nation's colours are CSS variables in the body's style attribute; attributes
    # cannot load anything, <style> elements and stylesheets stay 'self' only.
    ("style-src-attr", "'unsafe-inline'"),
    ("img-src", "'self' data:"),
    ("font-src", "'self'"),
    ("connect-src", "'self'"),
    ("form-action", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'none'"),
    ("frame-ancestors", "'none'"),
)


def content_security_policy(form_origin: str | None = None) -> str:
    """The CSP; `form_origin` adds one origin forms may post to (serve by path, /api)."""
    parts = []
    for directive, sources in CSP_DIRECTIVES:
        if directive == "form-action" and form_origin:
            sources = f"{sources} {form_origin}"
        parts.append(f"{directive} {sources}")
    return "; ".join(parts)


def security_headers(form_origin: str | None = None) -> dict[str, str]:
    """Header name -> value, for any response carrying a nation's page."""
    return {
        "Strict-Transport-Security": f"max-age={HSTS_MAX_AGE}; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": content_security_policy(form_origin),
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP level 2
        "Referrer-Policy": REFERRER_POLICY,
    }


def cloudfront_security_headers_config() -> dict[str, Any]:
    """The same headers as a CloudFront response headers policy `security_headers_config`."""
    return {
        "strict_transport_security": {
            "access_control_max_age_sec": HSTS_MAX_AGE,
            "include_subdomains": True,
            "override": True,
        },
        "content_type_options": {"override": True},
        "content_security_policy": {
            "content_security_policy": content_security_policy(),
            "override": True,
        },
        "frame_options": {"frame_option": "DENY", "override": True},
        "referrer_policy": {"referrer_policy": REFERRER_POLICY, "override": True},
    }


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeadersMiddleware:
    """ASGI middleware: adds the headers to every HTTP response (`provisioner serve`).

    Headers the app already set win, so a handler can tighten a policy for one route.
    """

    def __init__(self, app: ASGIApp, form_origin: str | None = None) -> None:
        self.app = app
        encoded = security_headers(form_origin).items()
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in encoded]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_security_headers(app: ASGIApp, form_origin: str | None = None) -> ASGIApp:
    """Wrap an ASGI app (one line in `provisioner serve`)."""
    return SecurityHeadersMiddleware(app, form_origin)
