"""An httpx transport that sends over aiohttp: the agency clients keep httpx's API, event hooks
(correlation stamp, sealed exchanges) and exception classes, and the wire work is done by
aiohttp's C-accelerated HTTP/1.1 client instead of httpcore, h11 and anyio (issue 18: about a
third less client CPU per SOAP call, bench.soap_calls). docs/PERFORMANCE.md says why this and
not the `httpx-aiohttp` package (its error mapping calls a refused connection a timeout and lets
a total timeout escape as asyncio's).

Every aiohttp failure leaves as the httpx exception httpcore raises for the same failure, so
`connectors.replies.exchange_error` judges them as before: timeouts as timeouts, everything else
on the wire as a transport error (both worth retrying).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import httpx

# Pooled keep-alive connections per agency client, as httpx's own default limits.
MAX_CONNECTIONS = 100
KEEPALIVE_S = 5.0


@contextmanager
def httpx_errors(request: httpx.Request) -> Iterator[None]:
    """aiohttp's exceptions as httpx's, most specific first."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(_say(exc), request=request) from exc
    except (aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError, TimeoutError) as exc:
        raise httpx.ReadTimeout(_say(exc), request=request) from exc
    except aiohttp.ClientConnectorError as exc:  # refused, unreachable, name unknown
        raise httpx.ConnectError(_say(exc), request=request) from exc
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
        raise httpx.RemoteProtocolError(_say(exc), request=request) from exc
    except aiohttp.ClientResponseError as exc:  # a reply that is not HTTP
        raise httpx.RemoteProtocolError(_say(exc), request=request) from exc
    except (aiohttp.ClientOSError, ConnectionError) as exc:  # reset, broken pipe
        raise httpx.ReadError(_say(exc), request=request) from exc
    except aiohttp.ClientError as exc:
        raise httpx.NetworkError(_say(exc), request=request) from exc


def _say(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    """httpx's per-request timeouts (connect, read, pool) as aiohttp's."""
    limits = request.extensions.get("timeout", {})
    connect, read, pool = limits.get("connect"), limits.get("read"), limits.get("pool")
    return aiohttp.ClientTimeout(
        total=None,
        connect=(connect or 0) + (pool or 0) if connect is not None else None,
        sock_connect=connect,
        sock_read=read,
    )


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (its connection pool) per transport, made on first use inside the
    running loop and closed with the client."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_now(self) -> aiohttp.ClientSession:
        """The session of the running loop: a client used from a second loop (a CLI command
        after another) gets a new one; the old one's connections died with their loop."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._loop = loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_S
                ),
                # httpx decodes the body by its Content-Encoding; aiohttp must leave it alone,
                # and must add no headers of its own to what httpx built.
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                trust_env=False,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        with httpx_errors(request):
            async with self._session_now().request(
                request.method,
                str(request.url),
                headers=list(request.headers.multi_items()),
                data=body or None,
                timeout=_timeout(request),
                allow_redirects=False,  # httpx follows redirects itself, when asked to
            ) as reply:
                content = await reply.read()
                version = (
                    f"HTTP/{reply.version.major}.{reply.version.minor}"
                    if reply.version
                    else "HTTP/1.1"
                )
                return httpx.Response(
                    reply.status,
                    headers=list(reply.raw_headers),
                    content=content,
                    extensions={
                        "http_version": version.encode(),
                        "reason_phrase": (reply.reason or "").encode(),
                    },
                )

    async def aclose(self) -> None:
        if self._session is not None and self._loop is asyncio.get_running_loop():
            await self._session.close()
            await asyncio.sleep(0)  # let the connector's transports close (aiohttp's advice)
