"""`hub serve --workers N`: N worker processes competing on the same queue, supervised.

Each child is a plain `hub worker` with this hub's settings and the agency endpoints the
parent resolved (its simulators, in the embedded default), so every worker talks to the same
agencies. Nothing a worker needs lives in another worker's memory: inbox, state and outbox are
in the store, so a child that dies is simply started again and its messages come back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import structlog

from hub.agencies.connector import Endpoint
from hub.metrics import forget_child

log = structlog.get_logger("hub.supervisor")


def endpoint_env(endpoints: dict[str, Endpoint]) -> dict[str, str]:
    """HUB_AGENCIES__* variables that point a child at the same agencies as the parent."""
    env = {"HUB_SIMULATORS": "false"}
    for name, endpoint in endpoints.items():
        prefix = f"HUB_AGENCIES__{name.upper()}__"
        env[prefix + "URL"] = endpoint.url
        for key, value in endpoint.credentials.items():
            env[f"{prefix}CREDENTIALS__{key.upper()}"] = value
    return env


class WorkerProcesses:
    """Start, watch and stop `count` worker processes."""

    def __init__(self, count: int, extra_env: dict[str, str], log_level: str = "info") -> None:
        self._count = count
        self._env = {**os.environ, **extra_env}
        self._command = [sys.executable, "-m", "hub.cli", "worker", "--log-level", log_level]
        self._children: list[subprocess.Popen[bytes]] = []
        self.restarts = 0

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self._command, env=self._env)

    def start(self) -> WorkerProcesses:
        self._children = [self._spawn() for _ in range(self._count)]
        return self

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self._children]

    def watch(self) -> None:
        """Start again any worker that has exited."""
        for index, child in enumerate(self._children):
            code = child.poll()
            if code is not None:
                log.warning("worker.restarted", pid=child.pid, exit_code=code)
                forget_child(child.pid)
                self._children[index] = self._spawn()
                self.restarts += 1

    def stop(self, grace_s: float = 15.0) -> None:
        for child in self._children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in self._children:
            try:
                child.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            forget_child(child.pid)
