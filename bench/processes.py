"""Start and stop the measured workers as processes of their own (the hub, the bare consumer,
Celery), so the driver and the simulator never share their interpreter; read their RSS."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from hub.serving import free_port

BIN = Path(sys.executable).parent


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, *, system_only: bool = False) -> float:
    """CPU time a process has used (user + system, all its threads; or only the kernel's
    share, which thread hand-offs and waits show up in); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime = int(fields[11]), int(fields[12])
    return (stime if system_only else utime + stime) / CLOCK_TICKS


SERVICES = {"postgresql": ("postgres",), "rabbitmq": ("beam.smp", "erl_child_setup")}
SIMULATOR_MODULE = b"bench.simulator"


def service_cpu_seconds() -> dict[str, float]:
    """CPU time used so far by the local services (by process name), the ROP simulator and
    this driver process. A process that exits meanwhile takes its share with it, so read this
    around a phase whose connections stay open."""
    used = dict.fromkeys([*SERVICES, "simulator"], 0.0)
    used["driver"] = cpu_seconds(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if SIMULATOR_MODULE in command:
            used["simulator"] += cpu_seconds(int(entry.name))
        for service, names in SERVICES.items():
            if name in names:
                used[service] += cpu_seconds(int(entry.name))
    return used


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (every core, every process)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def rss_kib(pid: int) -> int:
    """Resident set size of a process (VmRSS), in KiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """Direct child processes (the supervised workers of `hub serve --workers N`)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found += [int(p) for p in text]
    return found


def hub_env(
    data_dir: Path,
    rop_url: str,
    broker: str | None,
    database: str | None,
    *,
    rop_rate_limit: bool = False,
) -> dict[str, str]:
    """The hub's settings for one run: its own data dir and port, ROP pointed at the shared
    simulator (the other agencies keep their idle loopback simulators, as `hub serve` does).
    Without `rop_rate_limit`, ROP's 20 calls/s politeness limit is lifted (HUB_RATE_LIMITS)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    if not rop_rate_limit:
        env["HUB_RATE_LIMITS__ROP"] = "0"
    env |= {
        "HUB_DATA_DIR": str(data_dir),
        # The idle agencies' loopback simulators, started on purpose off the embedded default.
        "HUB_SIMULATORS": "true",
        "HUB_HTTP_PORT": str(free_port()),
        "HUB_AGENCIES__ROP__URL": rop_url,
        "HUB_AGENCIES__ROP__CREDENTIALS__USERNAME": "hub",
        "HUB_AGENCIES__ROP__CREDENTIALS__PASSWORD": "rop-sim-secret",
    }
    if broker:
        env["HUB_BROKER_URL"] = broker
    if database:
        env["HUB_DATABASE_URL"] = database
    return env


@contextlib.contextmanager
def started(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A process with its output in `log`; SIGTERM at the end, SIGKILL if it lingers."""
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


def hub_command(workers: int) -> list[str]:
    return [str(BIN / "hub"), "serve", "--workers", str(workers)]


def bare_command(broker: str, database: str, rop_url: str) -> list[str]:
    return [sys.executable, "-m", "bench.bare", broker, database, rop_url]


def celery_command() -> list[str]:
    return [
        str(BIN / "celery"),
        "-A",
        "bench.celery_app",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        "1",
        "--loglevel",
        "warning",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def celery_env(broker: str, database: str, rop_url: str) -> dict[str, str]:
    return dict(os.environ) | {
        "BENCH_BROKER_URL": broker,
        "BENCH_DATABASE_URL": database,
        "BENCH_ROP_URL": rop_url,
    }


def bare_env() -> dict[str, str]:
    return dict(os.environ)


class Profiler:
    """py-spy recording a process (and its threads) in collapsed-stack form while it lives."""

    def __init__(self, pid: int, out: Path, *, idle: bool) -> None:
        command = [
            str(BIN / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "100",
            "--format",
            "raw",
            "--output",
            str(out),
            "--threads",
            "--nonblocking",
        ]
        # Wall time (waits included) or, without `idle`, only threads holding the GIL: where
        # the worker's Python CPU goes (a thread waiting on psycopg or a socket is left out).
        command.append("--idle" if idle else "--gil")
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def stop(self) -> None:
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
