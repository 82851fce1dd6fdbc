"""Security headers on every response, as a pure ASGI middleware (streams pass untouched).

The UI's policy allows scripts, styles, fonts and connections from our own origin only,
images from our origin or `data:` URLs, and no frames, objects or form posts elsewhere.
FastAPI's own /docs pages (which load Swagger from a CDN) are left without the policy.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
)

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
UNPOLICED = ("/docs", "/redoc")  # FastAPI's interactive docs; not part of the UI


class SecurityHeaders:
    """Adds the headers above (never overriding one a route set itself)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        policed = not path.startswith(UNPOLICED)
        static = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                if policed:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                if static:
                    # revalidate (ETag) so that an upgrade never runs stale modules
                    headers.setdefault("Cache-Control", "no-cache")
            await send(message)

        await self.app(scope, receive, send_with_headers)
