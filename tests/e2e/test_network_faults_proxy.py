"""The fault proxy itself, against an echo server on loopback: each mode does what the
network fault tests rely on."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from tests.faultproxy import FaultProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with FaultProxy(server.server_address[1], max_lifetime_s=60) as running:
        yield running
    server.shutdown()
    server.server_close()


def _client(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=2)


def _echo(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def test_passes_bytes_both_ways(proxy: FaultProxy) -> None:
    with _client(proxy) as sock:
        assert _echo(sock, b"hello") == b"hello"


def test_cut_closes_connections_and_refuses_new_ones_for_a_while(proxy: FaultProxy) -> None:
    sock = _client(proxy)
    assert _echo(sock, b"x") == b"x"
    proxy.cut(30)
    with pytest.raises(OSError):
        sock.sendall(b"y")
        assert sock.recv(10) == b""  # a FIN instead of an RST would end here
        raise ConnectionResetError
    sock.close()
    with pytest.raises(OSError), _client(proxy) as again:  # refused (reset at once)
        again.sendall(b"z")
        if not again.recv(10):
            raise ConnectionResetError
    proxy.cut(0)
    with _client(proxy) as fresh:
        assert _echo(fresh, b"back") == b"back"


def test_silence_keeps_sockets_open_and_forwards_nothing_for_good(proxy: FaultProxy) -> None:
    sock = _client(proxy)
    proxy.silence()
    sock.sendall(b"anyone?")
    with pytest.raises(TimeoutError):
        sock.recv(10)
    proxy.pass_through()
    sock.sendall(b"still?")  # the silenced connection stays dead; new ones pass
    with pytest.raises(TimeoutError):
        sock.recv(10)
    sock.close()
    with _client(proxy) as fresh:
        assert _echo(fresh, b"new") == b"new"


def test_slow_still_delivers(proxy: FaultProxy) -> None:
    proxy.slow(0.2)
    with _client(proxy) as sock:
        assert _echo(sock, b"slowly") == b"slowly"


def test_reset_after_k_bytes_cuts_mid_frame(proxy: FaultProxy) -> None:
    with _client(proxy) as sock:
        proxy.reset_after(3)
        sock.sendall(b"abcdefgh")
        got = b""
        with pytest.raises(ConnectionResetError):
            while chunk := sock.recv(10):
                got += chunk
            raise ConnectionResetError  # a clean EOF would also end it
        assert got == b"abc"[: len(got)]
    with _client(proxy) as fresh:
        assert _echo(fresh, b"after") == b"after"
