"""Run an ASGI app with uvicorn on loopback in a background thread (simulators, tests),
over plain HTTP or TLS (optionally asking for client certificates: mutual TLS)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: the handshake still checks the chain, but an expired
# client certificate reaches the app, which refuses it with a reason it can audit.
NO_CHECK_TIME = 0x200000


@dataclass(frozen=True)
class ServerTls:
    """The server's certificate and key; `client_ca`: ask clients for a certificate issued by
    this CA (optional: callers without one may still authenticate otherwise)."""

    cert_file: Path
    key_file: Path
    client_ca: Path | None = None

    def uvicorn_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "ssl_certfile": str(self.cert_file),
            "ssl_keyfile": str(self.key_file),
        }
        if self.client_ca is not None:
            options |= {"ssl_ca_certs": str(self.client_ca), "ssl_cert_reqs": ssl.CERT_OPTIONAL}
        return options


class _TlsConfig(uvicorn.Config):
    """uvicorn's settings, with the TLS context hardened once uvicorn has built it."""

    def load(self) -> None:
        super().load()
        if self.ssl is not None:
            self.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.ssl_ca_certs:
                self.ssl.verify_flags |= NO_CHECK_TIME


class _WithPeerCertificate:
    """The app with the connection's client certificate in the scope, as the ASGI TLS
    extension names it (`scope["extensions"]["tls"]["client_cert_chain"]`, PEM)."""

    def __init__(self, app: ASGIApp, tls: dict[str, object]) -> None:
        self._app = app
        self._tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault("extensions", {})["tls"] = self._tls
        await self._app(scope, receive, send)


class PeerCertificateH11(H11Protocol):
    """uvicorn's h11 protocol exposing the TLS peer certificate to the app: uvicorn itself
    puts nothing of TLS in the scope, so each connection's app is wrapped with it here."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
        self.app = _WithPeerCertificate(
            self.app, {"client_cert_chain": chain, "tls_version": ssl_object.version()}
        )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class LoopbackServer:
    """One uvicorn server in a daemon thread; `start()` returns once it accepts connections."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ServerTls | None = None,
        **options: Any,
    ) -> None:
        """`options`: further uvicorn.Config settings (timeouts, limits)."""
        self.host = host
        self.port = port or free_port(host)
        self.scheme = "https" if tls is not None else "http"
        if tls is not None:
            options = {"http": PeerCertificateH11} | options | tls.uvicorn_options()
        config = _TlsConfig(
            app,
            host=self.host,
            port=self.port,
            log_level="warning",
            log_config=None,  # uvicorn's records go to the process's (JSON) logging, not its own
            access_log=False,
            lifespan="off",
            # X-Forwarded-For is never trusted here; an app that sits behind known proxies
            # installs uvicorn's ProxyHeadersMiddleware with their addresses itself.
            proxy_headers=False,
            **options,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name=f"http-{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_s)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
