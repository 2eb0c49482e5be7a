"""`hub connectors list|check` and `hub simulators serve|fault|sms`: what agencies the hub knows,
whether they answer, and their simulators for partners' own testing."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Annotated

import typer
from rich.table import Table

from hub.agencies.connector import (
    FAULT_MODES,
    CallPolicy,
    Connector,
    Endpoint,
    Health,
    load_connectors,
)
from hub.agencies.simulators import (
    SimulatorsUnavailable,
    inject_sms,
    read_registry,
    registry_path,
    serve_simulators,
    stop_simulators,
    switch_fault,
)
from hub.agencies.status import AgencyStatus, agency_statuses
from hub.cli.output import CommandFailed, console, shown
from hub.config import Settings, load_settings
from hub.observability import configure_logging
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade

connectors_app = typer.Typer(
    help="The agency connectors: which are installed, and whether each agency answers.",
    no_args_is_help=True,
)
simulators_app = typer.Typer(
    help="The agency simulators alone on loopback, with switchable faults.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per agency.")]


def describe_policy(policy: CallPolicy) -> str:
    rate = f", {policy.rate_limit_per_s:g}/s" if policy.rate_limit_per_s else ""
    return f"{policy.timeout_s:g}s timeout, {policy.attempts} attempts{rate}"


@connectors_app.command("list")
def list_connectors(as_json: JsonOption = False) -> None:
    """Every installed connector (entry points `hub.connectors`): operations and call policy."""
    connectors = load_connectors()
    if as_json:
        for name in sorted(connectors):
            c = connectors[name]
            row = {"name": name, "title": c.title, "operations": sorted(c.operations())}
            typer.echo(json.dumps(row | {"policy": asdict(c.policy)}, ensure_ascii=False))
        return
    table = Table("connector", "title", "operations", "policy")
    for name in sorted(connectors):
        c = connectors[name]
        table.add_row(name, c.title, ", ".join(sorted(c.operations())), describe_policy(c.policy))
    console.print(table)


@dataclass(frozen=True)
class AgencyCheck:
    """One agency's health as `hub connectors check` reports it."""

    agency: str
    url: str
    simulated: bool
    reachable: bool
    latency_ms: float | None
    circuit: str
    detail: str
    last_error: str | None = None


async def _health(connector: Connector, endpoint: Endpoint, timeout_s: float) -> Health:
    try:
        client = connector.client(endpoint)
    except Exception as exc:  # a connector refusing its configuration is a finding, not a crash
        return Health(False, f"cannot build a client: {exc}")
    try:
        return await asyncio.wait_for(client.health(), timeout_s)
    except TimeoutError:
        return Health(False, f"no answer within {timeout_s:g}s")
    except Exception as exc:
        return Health(False, f"health check failed: {exc!r}")
    finally:
        await client.aclose()


def check_agencies(
    settings: Settings,
    connectors: Mapping[str, Connector],
    *,
    timeout_s: float = 10.0,
    statuses: Mapping[str, AgencyStatus] | None = None,
) -> list[AgencyCheck]:
    """Ask every agency's health check at once. Agencies without a configured URL are checked
    against the simulators of a running hub (its simulators.json), or else against their
    simulator started for the check and stopped after it."""
    unconfigured = [n for n in sorted(connectors) if n not in settings.agencies]
    try:
        serving = read_registry(settings.data_dir) if settings.simulators else {}
    except SimulatorsUnavailable:
        serving = {}
    in_use = {
        name: Endpoint(serving[name], connectors[name].simulator().credentials)
        for name in unconfigured
        if name in serving
    }
    to_start = [name for name in unconfigured if name not in in_use]
    running = serve_simulators(connectors, to_start) if settings.simulators else {}
    try:
        endpoints = (
            {
                name: Endpoint(cfg.url, cfg.credentials)
                for name, cfg in settings.agencies.items()
                if name in connectors
            }
            | in_use
            | {name: Endpoint(r.server.url, r.simulator.credentials) for name, r in running.items()}
        )

        async def all_at_once() -> list[Health]:
            names = sorted(endpoints)
            checks = (_health(connectors[n], endpoints[n], timeout_s) for n in names)
            return list(await asyncio.gather(*checks))

        healths = dict(zip(sorted(endpoints), asyncio.run(all_at_once()), strict=True))
    finally:
        stop_simulators(running)
    return [
        AgencyCheck(
            name,
            endpoints[name].url if name in endpoints else "",
            name in running or name in in_use,
            healths[name].reachable if name in healths else False,
            healths[name].latency_ms if name in healths else None,
            (statuses or {}).get(name, AgencyStatus()).circuit,
            healths[name].detail if name in healths else "no URL configured, simulators off",
            (statuses or {}).get(name, AgencyStatus()).last_error,
        )
        for name in sorted(connectors)
    ]


def _stored_statuses(
    settings: Settings, connectors: Mapping[str, Connector]
) -> dict[str, AgencyStatus]:
    """Circuit states and last errors as the workers left them in the store."""
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
        with make_session_factory(engine)() as session:
            return agency_statuses(session, sorted(connectors))
    finally:
        engine.dispose()


@connectors_app.command("check")
def check(
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds to wait for each agency.")
    ] = 10.0,
    as_json: JsonOption = False,
) -> None:
    """Each agency's health: reachable or not, latency, circuit state. Agencies without a
    configured URL are checked against simulators started for the check. Exits 1 when any
    agency is unreachable."""
    configure_logging("warning")  # the table is the output; simulator start-up is noise here
    settings = load_settings()
    connectors = load_connectors()
    results = check_agencies(
        settings, connectors, timeout_s=timeout, statuses=_stored_statuses(settings, connectors)
    )
    if as_json:
        for result in results:
            typer.echo(json.dumps(asdict(result), ensure_ascii=False))
    else:
        table = Table("agency", "url", "reachable", "latency", "circuit", "detail", "last error")
        for r in results:
            url = f"{r.url} (simulator)" if r.simulated else r.url
            latency = f"{r.latency_ms:.0f} ms" if r.latency_ms is not None else "-"
            reachable = "[green]yes[/]" if r.reachable else "[red]no[/]"
            circuit = r.circuit if r.circuit == "closed" else f"[red]{r.circuit}[/]"
            table.add_row(
                shown(r.agency),
                shown(url),
                reachable,
                latency,
                circuit,
                shown(r.detail),
                shown(r.last_error, limit=60),
            )
        console.print(table)
    down = [r.agency for r in results if not r.reachable]
    if down:
        raise CommandFailed(f"unreachable: {', '.join(down)}")


@simulators_app.command("serve")
def serve(
    base_port: Annotated[
        int,
        typer.Option(
            min=0, max=65000, help="Port of the first simulator; the others follow (0: any free)."
        ),
    ] = 8501,
    host: Annotated[str, typer.Option(help="Address to listen on (keep it loopback).")] = (
        "127.0.0.1"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the simulated world.")] = 0,
    log_level: Annotated[str, typer.Option(help="Lowest log level written.")] = "info",
) -> None:
    """Serve every installed agency simulator until Ctrl-C or SIGTERM, one port each in name
    order, and record their URLs in <HUB_DATA_DIR>/simulators.json for `hub simulators fault`."""
    settings = load_settings()
    configure_logging(log_level)
    connectors = load_connectors()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    running = serve_simulators(
        connectors,
        sorted(connectors),
        host=host,
        base_port=base_port or None,
        registry_dir=settings.data_dir,
        seed=seed,
    )
    try:
        for name, run in running.items():
            console.print(f"simulator {name}: {run.server.url}", highlight=False)
        console.print(
            f"simulators serving; registry {registry_path(settings.data_dir)}", highlight=False
        )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop_simulators(running, settings.data_dir)


def _complete_mode(incomplete: str) -> list[str]:
    return [mode for mode in FAULT_MODES if mode.startswith(incomplete)]


@simulators_app.command("fault")
def fault(
    agency: Annotated[str, typer.Argument(help="The agency whose simulator to switch.")],
    mode: Annotated[
        str,
        typer.Argument(help=f"One of: {', '.join(FAULT_MODES)}.", autocompletion=_complete_mode),
    ],
) -> None:
    """Switch a running simulator (of `hub simulators serve` or `hub serve`) to a fault mode;
    `none` heals it."""
    url = switch_fault(load_settings().data_dir, load_connectors(), agency, mode)
    console.print(f"{agency} simulator at {url}: fault {mode}", highlight=False)


@simulators_app.command("sms")
def sms(
    telco: Annotated[str, typer.Argument(help="The telco whose SMSC simulator delivers it.")],
    msisdn: Annotated[str, typer.Argument(help="The resident's number, e.g. 96891234567.")],
    text: Annotated[str, typer.Argument(help="What the resident writes, e.g. '12345 AB P101 60'.")],
) -> None:
    """Send a resident's SMS to the short code through a running telco SMSC simulator (of `hub
    serve`): it reaches the hub as a deliver_sm, and the reply goes back to that SMSC."""
    smsc_id = inject_sms(load_settings().data_dir, load_connectors(), telco, msisdn, text)
    console.print(f"{telco} SMSC delivered message {smsc_id}", highlight=False)
