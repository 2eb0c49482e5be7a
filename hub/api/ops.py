"""What operators, not partners, read: /metrics and /docs. Optionally on a port of their own
(HUB_OPS_PORT, so the partner-facing port can be exposed without them) and optionally behind a
bearer token (HUB_OPS_TOKEN), compared in constant time."""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Receive, Scope, Send

OPS_PATHS = frozenset({"/metrics", "/docs"})


class OpsGuard:
    """Refuse /metrics and /docs (401) without `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") in OPS_PATHS:
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not secrets.compare_digest(given, self._expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"www-authenticate", b'Bearer realm="hub-ops"'),
                            (b"content-type", b"text/plain; charset=utf-8"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b"operations credentials needed"})
                return
        await self.app(scope, receive, send)
