"""The aiohttp transport under the agency clients' httpx: replies as httpx gives them (status,
headers, body decoded once, Arabic intact), and every failure on the wire as the httpx
exception the hub's error judgement expects, against real servers on loopback."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from connectors.http_transport import AiohttpTransport
from connectors.replies import exchange_error
from hub.errors import TransientAgencyError

ARABIC = "سالم الحارثي — مسقط".encode()


def _reply(status: str, headers: list[str], body: bytes) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers, "", ""]
    return "\r\n".join(head).encode() + body


def _serve(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    """A raw TCP server on loopback: `handle` gets each accepted connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                handle(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/soap"
    stop.set()
    thread.join(2)
    server.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.fixture
def echo() -> Iterator[str]:
    """Answers each request with its own head and body, gzip-compressed, and a cookie."""

    def handle(conn: socket.socket) -> None:
        request = _read_request(conn)
        body = gzip.compress(request + ARABIC)
        conn.sendall(
            _reply("200 OK", ["Content-Encoding: gzip", "Set-Cookie: s=1", "X-Agency: rop"], body)
        )

    yield from _serve(handle)


def _post(url: str, timeout_s: float = 2.0) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=timeout_s) as client:
            response = await client.post(
                url, content="<x>مسقط</x>".encode(), headers={"X-Correlation-Id": "case-1"}
            )
            await response.aread()
            return response

    return asyncio.run(go())


def test_reply_status_headers_and_body_come_through_decoded_once(echo: str) -> None:
    response = _post(echo)
    assert response.status_code == 200
    assert response.headers["x-agency"] == "rop"
    assert response.content.endswith(ARABIC)
    sent = response.content[: -len(ARABIC)]
    assert sent.startswith(b"POST /soap HTTP/1.1")
    assert b"x-correlation-id: case-1" in sent.lower()
    assert sent.endswith("<x>مسقط</x>".encode())
    assert b"aiohttp" not in sent.lower()  # no header of aiohttp's own beside httpx's


def test_one_transport_serves_one_loop_after_another(echo: str) -> None:
    transport = AiohttpTransport()

    async def once() -> int:
        client = httpx.AsyncClient(transport=transport, timeout=2.0)
        return (await client.get(echo)).status_code

    assert asyncio.run(once()) == 200
    assert asyncio.run(once()) == 200  # the first loop is closed: a new session


def _judged(exc: BaseException) -> str:
    assert isinstance(exc, httpx.HTTPError)
    error = exchange_error("rop", "vehicle_inquiry", exc, 0.5)
    assert isinstance(error, TransientAgencyError)
    return str(error)


def test_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/soap"  # bound, never listening
        with pytest.raises(httpx.ConnectError) as caught:
            _post(url)
    assert "connection failed" in _judged(caught.value)


def test_silent_server_is_a_read_timeout() -> None:
    def handle(conn: socket.socket) -> None:
        _read_request(conn)
        threading.Event().wait(1.5)  # never answers within the client's 0.5 s

    for url in _serve(handle):
        with pytest.raises(httpx.ReadTimeout) as caught:
            _post(url, timeout_s=0.5)
        assert "no answer within" in _judged(caught.value)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b"", httpx.RemoteProtocolError),  # closed without a reply
        (b"NOT HTTP AT ALL\r\n\r\n", httpx.RemoteProtocolError),
        (_reply("200 OK", [], b"0123456789")[:-5], httpx.RemoteProtocolError),  # body cut short
    ],
    ids=["closed", "garbage", "truncated"],
)
def test_broken_replies_are_transport_errors(answer: bytes, expected: type[Exception]) -> None:
    def handle(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(answer)

    for url in _serve(handle):
        with pytest.raises(expected) as caught:
            _post(url)
        assert "connection failed" in _judged(caught.value)


def test_reset_connection_is_a_transport_error() -> None:
    def handle(conn: socket.socket) -> None:
        _read_request(conn)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    for url in _serve(handle):
        with pytest.raises(httpx.TransportError) as caught:
            _post(url)
        assert "connection failed" in _judged(caught.value)
