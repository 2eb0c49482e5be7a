"""Item 8 of the security review: the partner server (`hub serve`'s PartnerEndpoints) closes a
connection whose request head does not arrive in time (slowloris), refuses connections past
its limit with 503, and refuses an oversized request head."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

import hub.bus  # noqa: F401  (the embedded transport's URL alias)
from hub.api.serve import PartnerEndpoints
from hub.config import load_settings
from hub.contracts.registry import ContractRegistry
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade

WAIT_S = 20.0  # far beyond every server timeout used here: reaching it means "never closed"


@contextmanager
def served(root: Path, **overrides: Any) -> Iterator[PartnerEndpoints]:
    settings = load_settings(
        data_dir=root,
        database_url=f"sqlite:///{root / 'hub.sqlite3'}",
        broker_url=f"embedded+sqlite:///{root / 'broker.sqlite3'}",
        partner_pepper="test-pepper",
        http_port=0,
        **overrides,
    )
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    endpoints = PartnerEndpoints(settings, make_session_factory(engine), ContractRegistry.load())
    try:
        yield endpoints.start()
    finally:
        endpoints.stop()
        engine.dispose()


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=WAIT_S)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """True when the server closes the connection before WAIT_S; False when it never does."""
    try:
        while sock.recv(4096):
            pass
        return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[PartnerEndpoints]:
    with served(tmp_path, http_header_timeout_s=1, http_max_header_bytes=4096) as endpoints:
        yield endpoints


def test_a_request_head_that_never_finishes_is_cut(quick: PartnerEndpoints) -> None:
    with _connect(quick.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n")
        assert _closed_by_server(sock)


def test_a_connection_that_sends_nothing_is_cut(quick: PartnerEndpoints) -> None:
    with _connect(quick.url) as sock:
        assert _closed_by_server(sock)


def test_complete_requests_are_served_on_a_kept_alive_connection(quick: PartnerEndpoints) -> None:
    with httpx.Client(base_url=quick.url, timeout=10) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz").status_code == 200


def test_a_request_head_growing_past_the_limit_is_refused(tmp_path: Path) -> None:
    with served(tmp_path, http_max_header_bytes=4096, http_header_timeout_s=60) as endpoints:
        with _connect(endpoints.url) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Padding: " + b"a" * 8000)
            reply = b""
            try:
                while chunk := sock.recv(4096):
                    reply += chunk
            except TimeoutError:
                pass
        assert reply.startswith(b"HTTP/1.1 400"), reply[:80]
        assert httpx.get(f"{endpoints.url}/healthz", timeout=10).status_code == 200


def test_connections_past_the_limit_get_503(tmp_path: Path) -> None:
    with served(tmp_path, http_max_connections=3, http_header_timeout_s=60) as endpoints:
        with ExitStack() as held:
            for _ in range(3):
                sock = held.enter_context(_connect(endpoints.url))
                sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # a head left hanging
            statuses = []
            for _ in range(100):  # bounded: until the server has accepted the three
                statuses.append(httpx.get(f"{endpoints.url}/healthz", timeout=10).status_code)
                if statuses[-1] == 503:
                    break
                time.sleep(0.05)
            assert statuses[-1] == 503
        for _ in range(100):  # bounded: until the server has seen them close
            if httpx.get(f"{endpoints.url}/healthz", timeout=10).status_code == 200:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the server never took connections again")
