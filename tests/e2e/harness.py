"""Drive the hub only through its public faces: a `hub serve` process, the queues, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from kombu.connection import Connection
from kombu.simple import SimpleQueue

import hub.bus  # noqa: F401  (the embedded transport's URL alias)
from hub.bus.publisher import Publisher
from hub.bus.topology import IN_EXCHANGE, results_queue

REPO = Path(__file__).resolve().parents[2]
HUB = [sys.executable, "-m", "hub.cli"]


def hub_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {"HUB_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"} | extra
    # Port 0: the partner endpoints take any free port (printed), so hubs never collide.
    env.setdefault("HUB_HTTP_PORT", "0")
    # End-to-end hubs talk to the loopback simulators on purpose, on every engine pair (outside
    # the embedded demo simulators start only when asked: docs/SECURITY.md, item 7).
    env.setdefault("HUB_SIMULATORS", "true")
    return env


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HUB, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


class HubProcess:
    """`hub serve` in a child process; its log goes to a file the test can read."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.env = env
        self.log_path = log_path
        self.args = args
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout_s: float = 30) -> HubProcess:
        log = self.log_path.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [*HUB, "serve", *self.args],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        deadline = time.monotonic() + timeout_s
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if "hub serving" in line:
                return self
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError(f"hub serve did not start; log: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> HubProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class MunicipalBackend:
    """What a municipal system does: publish requests, read results from its own queue."""

    def __init__(self, broker_url: str, queue_name: str | None = None) -> None:
        """A new results queue, or (after a broker restart) the durable one named."""
        self.broker_url = broker_url
        self.queue_name = queue_name or f"test.results.{uuid.uuid4().hex[:8]}"
        self._conn = Connection(broker_url)
        self._queue = results_queue(self.queue_name, broker_url)
        self._queue(self._conn.default_channel).declare()
        self._simple = SimpleQueue(self._conn.channel(), self._queue)
        self._publisher = Publisher(broker_url)

    def send(self, type_: str, data: dict[str, Any], **attrs: Any) -> str:
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "urn:test:backend",
            "type": type_,
            "data": data,
        } | attrs
        self.send_raw(json.dumps(event, ensure_ascii=False).encode(), type_)
        return str(event["id"])

    def send_raw(self, body: bytes, routing_key: str) -> None:
        self._publisher.publish(body, exchange=IN_EXCHANGE, routing_key=routing_key)

    def results(self, expected: int, timeout_s: float = 60) -> list[dict[str, Any]]:
        """Collect `expected` results (bounded in time), then a short quiet period for extras."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while len(got) < expected and time.monotonic() < deadline:
            got.extend(self._drain(1.0))
        got.extend(self._drain(2.0))  # anything beyond `expected` is a duplicate bug
        return got

    def take_at_least(self, count: int, timeout_s: float = 30) -> list[dict[str, Any]]:
        """Whatever results have come, once there are `count` of them (bounded in time)."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while len(got) < count and time.monotonic() < deadline:
            got.extend(self._drain(0.2))
        return got

    def results_for(self, causes: set[str], timeout_s: float = 60) -> list[dict[str, Any]]:
        """Results until every cause in `causes` has one (bounded in time); no quiet period."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while not causes <= {r["causationid"] for r in got} and time.monotonic() < deadline:
            got.extend(self._drain(0.5))
        return got

    def _drain(self, wait_s: float) -> list[dict[str, Any]]:
        out = []
        try:
            message = self._simple.get(block=True, timeout=wait_s)
        except self._simple.Empty:
            return out
        out.append(json.loads(message.body))
        message.ack()
        while True:
            try:
                message = self._simple.get_nowait()
            except self._simple.Empty:
                return out
            out.append(json.loads(message.body))
            message.ack()

    def abandon(self) -> None:
        """Drop a connection the broker already cut, keeping the durable results queue."""
        for closer in (self._simple.close, self._publisher.close, self._conn.release):
            try:
                closer()
            except Exception:  # the connection is gone; nothing else to release
                pass

    def close(self) -> None:
        try:
            self._simple.close()
            self._queue(self._conn.default_channel).delete()
        finally:
            self._publisher.close()
            self._conn.release()
