"""A fault-injecting TCP proxy for tests: put it between the hub and RabbitMQ or PostgreSQL
and switch, while a batch runs, what the network does to the hub's connections.

Loopback only; an asyncio loop in a daemon thread of its own; bounded (it closes itself
after `max_lifetime_s`, and on `close()`).

Modes (each applies to the connections open now and to new ones):

- `pass_through()`: bytes flow both ways (new connections only, for connections a silence
  or a reset spoilt: those stay dead, as behind a NAT that forgot them).
- `cut(seconds)`: close every connection and refuse new ones for `seconds`: a broker node
  restart, a failover, a load balancer's idle timeout.
- `silence()`: keep every socket open and forward nothing, either way, until `pass_through`;
  the connections silenced stay silent for good (a firewall that dropped its state).
- `slow(delay_s)`: forward each chunk after `delay_s`.
- `reset_after(k)`: forward `k` more bytes (either way, in total), then reset every connection
  (RST) in the middle of whatever frame it was carrying; then pass again.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

LOOPBACK = "127.0.0.1"
CHUNK = 65536


@dataclass(eq=False)
class _Link:
    """One client connection and its upstream twin."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    dead: bool = False  # silenced or reset: never forwards again
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST (SO_LINGER 0), not a FIN: what a crashed peer or middlebox sends."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """`FaultProxy(5672).start()`; point the client at `proxy.port`; `close()` when done."""

    def __init__(
        self, target_port: int, *, target_host: str = LOOPBACK, max_lifetime_s: float = 600.0
    ) -> None:
        if target_host not in (LOOPBACK, "localhost"):
            raise ValueError("the fault proxy forwards to loopback only")
        self._target = (target_host, target_port)
        self._max_lifetime_s = max_lifetime_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._links: set[_Link] = set()  # those a cut or reset can still reach
        self._all: list[_Link] = []  # every link, closed or not, for the final clean-up
        self._mode = "pass"
        self._refuse_until = 0.0
        self._delay_s = 0.0
        self._reset_budget: int | None = None
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._closed = threading.Event()
        self.port = 0
        self.connections_accepted = 0

    # -- life ---------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        deadline = time.monotonic() + self._max_lifetime_s
        while not self._closed.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        self._server.close()
        for link in list(self._links):
            self._drop(link, reset=False)
        pumps = [task for link in self._all for task in link.tasks]
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        self._closed.set()

    def close(self) -> None:
        """Stop listening and close every connection; idempotent."""
        self._closed.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- modes (thread-safe: each runs on the proxy's loop) -------------------------------
    def _call(self, function: object, *args: object) -> None:
        done = threading.Event()

        def run() -> None:
            try:
                function(*args)  # type: ignore[operator]
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(5)

    def pass_through(self) -> None:
        self._call(self._set, "pass", 0.0)

    def silence(self) -> None:
        self._call(self._set, "silence", 0.0)

    def slow(self, delay_s: float) -> None:
        self._call(self._set, "slow", delay_s)

    def cut(self, seconds: float) -> None:
        self._call(self._cut, seconds)

    def reset_after(self, k_bytes: int) -> None:
        self._call(self._arm_reset, k_bytes)

    @property
    def open_connections(self) -> int:
        return sum(1 for link in self._links if not link.dead)

    def _set(self, mode: str, delay_s: float) -> None:
        self._mode, self._delay_s = mode, delay_s
        if mode == "silence":
            for link in self._links:
                link.dead = True

    def _cut(self, seconds: float) -> None:
        self._refuse_until = time.monotonic() + seconds
        self._mode = "pass"
        for link in list(self._links):
            self._drop(link, reset=True)

    def _arm_reset(self, k_bytes: int) -> None:
        self._mode = "pass"
        self._reset_budget = k_bytes

    # -- forwarding ---------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._closed.is_set() or time.monotonic() < self._refuse_until:
            _reset(writer)
            return
        self.connections_accepted += 1
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(*self._target), timeout=5
            )
        except (OSError, TimeoutError):
            _reset(writer)
            return
        link = _Link(writer, up_writer, dead=self._mode == "silence")
        self._links.add(link)
        self._all.append(link)
        link.tasks = [
            asyncio.ensure_future(self._pump(link, reader, up_writer)),
            asyncio.ensure_future(self._pump(link, up_reader, writer)),
        ]
        # Held until both directions end: the server closes a connection whose handler returns.
        await asyncio.gather(*link.tasks, return_exceptions=True)

    async def _pump(
        self, link: _Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                chunk = await source.read(CHUNK)
                if not chunk:
                    break
                if link.dead:
                    continue  # a black hole: read and drop, the sender sees nothing wrong
                if self._mode == "slow":
                    await asyncio.sleep(self._delay_s)
                if self._reset_budget is not None:
                    if len(chunk) > self._reset_budget:
                        sink.write(chunk[: self._reset_budget])
                        with contextlib.suppress(OSError, ConnectionError):
                            await sink.drain()
                        self._reset_budget = None
                        for other in list(self._links):
                            self._drop(other, reset=True)
                        return
                    self._reset_budget -= len(chunk)
                sink.write(chunk)
                await sink.drain()
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if not link.dead:
                self._drop(link, reset=False)

    def _drop(self, link: _Link, *, reset: bool) -> None:
        link.dead = True
        self._links.discard(link)
        for writer in (link.client, link.upstream):
            if reset:
                _reset(writer)
            else:
                writer.close()
