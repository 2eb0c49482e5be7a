"""`hub serve`, `hub send`, `hub demo`: running the hub and feeding it."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.output import CommandFailed, console, safe_url
from hub.config import load_settings
from hub.observability import configure_logging

app = typer.Typer()


@app.command()
def serve(
    log_level: Annotated[str, typer.Option(help="Lowest log level written.")] = "info",
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes competing on the queue.")
    ] = 1,
) -> None:
    """Run the hub: workers consuming municipal.in and, in the embedded default, the agency
    simulators on loopback. Stops cleanly on Ctrl-C or SIGTERM."""
    from hub.api.serve import PartnerEndpoints
    from hub.metrics import share_counters_with_children
    from hub.runtime.build import build_runtime
    from hub.runtime.supervisor import WorkerProcesses, endpoint_env
    from hub.runtime.worker_thread import WorkerThread

    settings = load_settings()
    configure_logging(log_level)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Served first, so /readyz says what is down while the runtime waits for it.
    endpoints = PartnerEndpoints.before_runtime(settings).start()
    try:
        runtime = build_runtime(settings)  # waits for the store and the broker
    except BaseException:
        endpoints.stop()
        raise
    with runtime:
        # One worker runs in this process; more run as supervised child processes.
        worker = WorkerThread(runtime).start() if workers == 1 else None
        children = None
        if worker is None:
            WorkerThread.declare_topology(runtime)
            # Counters live in the children: they write them where /metrics here reads them.
            shared = share_counters_with_children(settings.data_dir / "metrics")
            child_env = endpoint_env(runtime.endpoints) | shared
            children = WorkerProcesses(workers, child_env, log_level)
            children.start()
        for name, running in runtime.simulators.items():
            console.print(f"simulator {name}: {running.server.url}", highlight=False)
        console.print(f"partner endpoints: {endpoints.url}", highlight=False)
        console.print(
            f"hub serving with {workers} worker(s); broker {safe_url(runtime.broker_url)}",
            highlight=False,
        )
        try:
            while not stop.wait(0.5):
                if worker is not None and not worker.alive:
                    raise CommandFailed("the worker stopped unexpectedly; see the log")
                if children is not None:
                    children.watch()
        except KeyboardInterrupt:
            pass
        finally:
            endpoints.stop()
            if worker is not None:
                worker.stop()
            if children is not None:
                children.stop()


@app.command()
def worker(
    log_level: Annotated[str, typer.Option(help="Lowest log level written.")] = "info",
) -> None:
    """Run one worker alone (no simulators, no endpoints): what `hub serve --workers N` starts
    N of, and what a deployment runs on each extra machine."""
    from hub.runtime.build import build_runtime
    from hub.runtime.worker_thread import WorkerThread

    settings = load_settings()
    configure_logging(log_level)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with build_runtime(settings) as runtime:
        thread = WorkerThread(runtime).start()
        try:
            while not stop.wait(0.5):
                if not thread.alive:
                    raise CommandFailed("the worker stopped unexpectedly; see the log")
        except KeyboardInterrupt:
            pass
        finally:
            thread.stop()


@app.command()
def send(
    file: Annotated[Path, typer.Argument(help="A JSON file holding one CloudEvent.")],
) -> None:
    """Publish a CloudEvent from a JSON file to municipal.in (routing key = its type)."""
    import hub.bus  # noqa: F401
    from hub.bus.publisher import Publisher
    from hub.bus.topology import IN_EXCHANGE

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandFailed(f"cannot read {file}: {exc.strerror}") from None
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandFailed(f"{file} is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise CommandFailed(f"{file} must hold one JSON object (a CloudEvent)")
    given_type = event.get("type")
    routing_key = given_type if isinstance(given_type, str) else "unknown"
    settings = load_settings()
    with Publisher(settings.resolved_broker_url) as publisher:
        publisher.publish(text.encode("utf-8"), exchange=IN_EXCHANGE, routing_key=routing_key)
    console.print(f"sent {event.get('id', '(no id)')} ({routing_key})", highlight=False)


@app.command()
def demo(
    count: Annotated[int, typer.Option(min=5, max=5000, help="Requests to feed.")] = 300,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for all results.")] = 120.0,
) -> None:
    """Feed a realistic batch through the embedded hub and show what happened: parking permits
    (some refused, one malformed, one sent twice), licence renewals and new licences, building
    permits, paid fines, then the agency pushes that follow (CR cancelled, electricity
    connected, vehicle sold)."""
    from hub.demo.run import run_demo

    run_demo(load_settings(), console, count=count, timeout_s=timeout)
