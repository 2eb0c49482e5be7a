"""The simulators registry file: written whole, read with a clear reason when it cannot be,
and removed only by the process that wrote it."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from hub.agencies.connector import load_connectors
from hub.agencies.simulators import (
    SimulatorsUnavailable,
    read_registry,
    registry_path,
    remove_registry,
    serve_simulators,
    stop_simulators,
    write_registry,
)
from hub.errors import ConfigurationError


def test_written_registry_reads_back(tmp_path: Path) -> None:
    write_registry(tmp_path, {"moci": "http://127.0.0.1:8503"})
    assert read_registry(tmp_path) == {"moci": "http://127.0.0.1:8503"}
    assert [p.name for p in tmp_path.iterdir()] == ["simulators.json"]  # no partial file left


def test_a_registry_of_another_process_is_left_alone(tmp_path: Path) -> None:
    registry_path(tmp_path).write_text(json.dumps({"pid": os.getpid() + 1, "simulators": {}}))
    remove_registry(tmp_path)
    assert registry_path(tmp_path).exists()
    write_registry(tmp_path, {})
    remove_registry(tmp_path)
    assert not registry_path(tmp_path).exists()


def test_an_unreadable_registry_says_so_and_what_to_start(tmp_path: Path) -> None:
    registry_path(tmp_path).write_text("{half")
    with pytest.raises(SimulatorsUnavailable, match="unreadable.*hub simulators serve"):
        read_registry(tmp_path)


def free_pair() -> int:
    """A port p with p + 1 free as well (a bounded search)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        with socket.socket() as second:
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two adjacent free ports")


def test_a_taken_port_stops_the_simulators_already_started(tmp_path: Path) -> None:
    connectors = load_connectors()
    first = free_pair()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", first + 1))
        # The first simulator gets `first`, the second hits the taken port after it.
        with pytest.raises(ConfigurationError, match=f"port {first + 1} .* in use"):
            serve_simulators(connectors, ["moci", "occi"], base_port=first, registry_dir=tmp_path)
    assert not registry_path(tmp_path).exists()
    # The first one's port was released: serving there again works.
    running = serve_simulators(connectors, ["moci"], base_port=first)
    try:
        assert running["moci"].server.port == first
    finally:
        stop_simulators(running)
