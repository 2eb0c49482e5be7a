"""Calls per second and client CPU per call against the ROP simulator: the hub's SOAP client
(templates, reply read once) beside zeep's AsyncClient over the same httpx transport (what the
client was before issue 18), alternated round by round in one process.

    python -m bench.soap_calls [--calls 2000] [--rounds 3]

The simulator runs in a process of its own (bench.services), so the CPU counted here is the
client's: request, WS-Security header, httpx, the transport's XSD check and reading the reply.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import zeep
from zeep.helpers import serialize_object
from zeep.proxy import AsyncServiceProxy
from zeep.transports import AsyncTransport
from zeep.wsse.username import UsernameToken

from bench import services
from connectors.rop import connector
from connectors.rop.client import SERVICE
from connectors.soap.operations import ZEEP_SETTINGS
from connectors.soap.transport import CheckedTransport
from hub.agencies.connector import CallContext, CallPolicy, Endpoint

CREDENTIALS = {"username": "hub", "password": "rop-sim-secret"}
REQUEST = {"plate_number": "12345", "plate_code": "AB"}
CTX = CallContext(correlation_id="bench-soap", message_id="bench-soap")

Call = Callable[[], Awaitable[Mapping[str, Any]]]


async def fast_client(url: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    client = connector.with_policy(CallPolicy(timeout_s=5.0)).client(Endpoint(url, CREDENTIALS))
    return (lambda: client.call("vehicle_inquiry", REQUEST, CTX)), client.aclose


async def zeep_client(url: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    http = httpx.AsyncClient(timeout=5.0, transport=CheckedTransport(SERVICE.schema()))
    with httpx.Client() as wsdl_http:
        client = zeep.AsyncClient(  # type: ignore[no-untyped-call]
            str(SERVICE.wsdl_path),
            transport=AsyncTransport(client=http, wsdl_client=wsdl_http),  # type: ignore[no-untyped-call]
            wsse=UsernameToken(CREDENTIALS["username"], CREDENTIALS["password"]),  # type: ignore[no-untyped-call]
            settings=ZEEP_SETTINGS,
        )
    proxy = AsyncServiceProxy(  # type: ignore[no-untyped-call]
        client, client.wsdl.bindings[SERVICE.binding], address=url
    )
    spec = SERVICE.operations["vehicle_inquiry"]

    async def call() -> Mapping[str, Any]:
        reply = await proxy.VehicleInquiry(**spec.to_soap(REQUEST))
        return spec.to_canonical(serialize_object(reply, dict) or {})  # type: ignore[no-untyped-call]

    return call, http.aclose


async def measure(
    make: Callable[[str], Awaitable[tuple[Call, Any]]], url: str, calls: int
) -> tuple[float, float]:
    """(calls per second, client CPU ms per call) for `calls` sequential calls."""
    call, close = await make(url)
    try:
        for _ in range(50):  # warm-up: connections, caches
            await call()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(calls):
            await call()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await close()
    return calls / wall, cpu * 1000 / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"zeep": [], "fast": []}
    with services.rop_simulator() as url:
        for round_no in range(args.rounds):
            for name, make in (("zeep", zeep_client), ("fast", fast_client)):
                rate, cpu = asyncio.run(measure(make, url, args.calls))
                results[name].append((rate, cpu))
                print(f"round {round_no + 1} {name}: {rate:.0f} calls/s, {cpu:.3f} ms CPU/call")
    for name, rows in results.items():
        rate = statistics.median(r for r, _ in rows)
        cpu = statistics.median(c for _, c in rows)
        print(f"median {name}: {rate:.0f} calls/s, {cpu:.3f} ms CPU/call")


if __name__ == "__main__":
    main()
