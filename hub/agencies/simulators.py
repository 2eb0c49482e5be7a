"""Serve agency simulators on loopback, and keep a registry file saying where they are
(`<HUB_DATA_DIR>/simulators.json`), so that another process (`hub simulators fault`) can
switch the faults of simulators that `hub serve` or `hub simulators serve` started."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import structlog

from hub.agencies.connector import FAULT_MODES, Connector, Simulator, pick_connector
from hub.config import Settings
from hub.errors import ConfigurationError, HubError
from hub.serving import LoopbackServer

log = structlog.get_logger("hub.agencies.simulators")

REGISTRY_NAME = "simulators.json"
FAULT_PATH = "/_sim/fault"


class SimulatorsUnavailable(HubError):
    """No running simulator can be reached for what was asked."""


@dataclass
class RunningSimulator:
    simulator: Simulator
    server: LoopbackServer


def registry_path(data_dir: Path) -> Path:
    return data_dir / REGISTRY_NAME


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def serve_simulators(
    connectors: Mapping[str, Connector],
    names: Sequence[str],
    *,
    host: str = "127.0.0.1",
    base_port: int | None = None,
    registry_dir: Path | None = None,
    seed: int = 0,
) -> dict[str, RunningSimulator]:
    """Serve each named agency's simulator: on `base_port`, `base_port + 1`, ... in the order
    given, or on free ports; then write the registry file when `registry_dir` is given."""
    running: dict[str, RunningSimulator] = {}
    try:
        for index, name in enumerate(names):
            port = 0 if base_port is None else base_port + index
            if port and _port_taken(host, port):
                raise ConfigurationError(
                    f"port {port} for the {name} simulator is in use; choose another base port"
                )
            simulator = connectors[name].simulator(seed)
            server = LoopbackServer(simulator.app, host, port).start()
            running[name] = RunningSimulator(simulator, server)
            log.info("simulator.started", agency=name, url=server.url)
    except BaseException:
        stop_simulators(running)
        raise
    if registry_dir is not None:
        write_registry(registry_dir, {name: run.server.url for name, run in running.items()})
    return running


def stop_simulators(
    running: Mapping[str, RunningSimulator], registry_dir: Path | None = None
) -> None:
    """Stop the servers and remove the registry file if this process wrote it."""
    for run in running.values():
        run.server.stop()
        close = getattr(run.simulator, "close", None)  # a telco's SMSC runs beside its API
        if close is not None:
            close()
    if registry_dir is not None:
        remove_registry(registry_dir)


def write_registry(data_dir: Path, urls: Mapping[str, str]) -> Path:
    """Write `{"pid": ..., "simulators": {agency: url}}` atomically (a reader never sees half)."""
    path = registry_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(
        json.dumps({"pid": os.getpid(), "simulators": dict(urls)}, indent=2), encoding="utf-8"
    )
    partial.replace(path)
    return path


def remove_registry(data_dir: Path) -> None:
    """Remove the registry file, only if this process wrote it (another may have since)."""
    path = registry_path(data_dir)
    try:
        owner = json.loads(path.read_text(encoding="utf-8")).get("pid")
    except (OSError, ValueError, AttributeError):
        return
    if owner == os.getpid():
        path.unlink(missing_ok=True)


def read_registry(data_dir: Path) -> dict[str, str]:
    """Agency -> URL of the running simulators, or `SimulatorsUnavailable` saying what to start."""
    path = registry_path(data_dir)
    hint = "start them with `hub simulators serve` (or `hub serve`)"
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        urls = content["simulators"]
    except FileNotFoundError:
        raise SimulatorsUnavailable(
            f"no simulators are running ({path} not found); {hint}"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SimulatorsUnavailable(f"{path} is unreadable ({exc}); {hint}") from None
    return {str(name): str(url) for name, url in dict(urls).items()}


def switch_fault(
    data_dir: Path,
    connectors: Mapping[str, Connector],
    agency: str,
    mode: str,
    timeout_s: float = 5.0,
) -> str:
    """Switch the running simulator of `agency` to fault `mode`; returns its URL."""
    pick_connector(connectors, agency)
    if mode not in FAULT_MODES:
        raise ConfigurationError(f"unknown fault mode {mode!r}; one of {', '.join(FAULT_MODES)}")
    urls = read_registry(data_dir)
    url = urls.get(agency)
    if url is None:
        running = ", ".join(sorted(urls)) or "none"
        raise SimulatorsUnavailable(
            f"no {agency} simulator is running (running: {running}); "
            "start it with `hub simulators serve`"
        )
    try:
        response = httpx.post(f"{url}{FAULT_PATH}", json={"mode": mode}, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise SimulatorsUnavailable(
            f"the {agency} simulator at {url} is not answering ({type(exc).__name__}); "
            "start the simulators with `hub simulators serve` (or `hub serve`)"
        ) from None
    if response.status_code != 200:
        raise SimulatorsUnavailable(
            f"the {agency} simulator at {url} refused the switch (HTTP {response.status_code})"
        )
    return url


SMS_PATH = "/_sim/sms"


def inject_sms(
    data_dir: Path,
    connectors: Mapping[str, Connector],
    telco: str,
    msisdn: str,
    text: str,
    timeout_s: float = 10.0,
) -> str:
    """Have the running SMSC simulator of `telco` deliver a resident's message (deliver_sm) to
    the hub bound to it; the SMSC's id of the message."""
    pick_connector(connectors, telco)
    url = read_registry(data_dir).get(telco)
    if url is None:
        raise SimulatorsUnavailable(
            f"no {telco} simulator is running; start the hub with `hub serve` (simulators on)"
        )
    try:
        response = httpx.post(
            f"{url}{SMS_PATH}", json={"msisdn": msisdn, "text": text}, timeout=timeout_s
        )
    except httpx.HTTPError as exc:
        raise SimulatorsUnavailable(
            f"the {telco} simulator at {url} is not answering ({type(exc).__name__})"
        ) from None
    if response.status_code == 404:
        raise ConfigurationError(f"{telco} has no SMSC simulator (not a telco connector)")
    if response.status_code != 200:
        raise SimulatorsUnavailable(
            f"the {telco} SMSC could not deliver: {response.json().get('error', response.text)}"
        )
    return str(response.json()["smsc_message_id"])


def agencies_to_simulate(settings: Settings, unconfigured: Sequence[str]) -> list[str]:
    """The agencies (those without a URL) whose simulator this process may start: all of them
    in the embedded demo (SQLite store, embedded broker) unless HUB_SIMULATORS=false, and
    elsewhere only when HUB_SIMULATORS=true was set on purpose. Any other configuration with an
    agency lacking a URL is a start-up error naming the setting, never invented data."""
    explicit = "simulators" in settings.model_fields_set
    if not unconfigured:
        return []
    if settings.simulators and (settings.is_embedded or explicit):
        if not settings.is_embedded:
            log.warning("simulators.started_on_purpose", agencies=list(unconfigured))
        return list(unconfigured)
    if settings.is_embedded:
        return []  # HUB_SIMULATORS=false in the demo: calls to these agencies fail, as asked
    names = ", ".join(f"HUB_AGENCIES__{name.upper()}__URL" for name in unconfigured)
    raise ConfigurationError(
        f"no URL for agencies {', '.join(unconfigured)}: set {names} (simulators start by "
        "themselves only in the embedded demo; HUB_SIMULATORS=true starts them on purpose)"
    )
