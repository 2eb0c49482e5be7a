"""Contract checks per second, jsonschema alone (as before issue 18's compiled path) against the
hub's path (jsonschema-rs says "valid", jsonschema decides the rest), on the four contracts a
parking request meets: the event, ROP's request and reply, the result. CPU time of this process.

    .venv/bin/python -m bench.contract_checks [--seconds 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from hub.contracts.registry import ContractRegistry

PARKING_CONTRACTS = (
    "urn:muscat-hub:events:permit.parking.requested:1.0",
    "urn:muscat-hub:canonical:vehicle-inquiry-request:1.0",
    "urn:muscat-hub:canonical:vehicle-inquiry-response:1.0",
    "urn:muscat-hub:events:permit.parking.completed:1.0",
)


def per_second(check: Callable[[], object], seconds: float) -> float:
    """Calls of `check` per CPU second, over about `seconds` of CPU."""
    calls, started = 0, time.process_time()
    while (spent := time.process_time() - started) < seconds:
        for _ in range(200):
            check()
        calls += 200
    return calls / spent


def both_paths(
    registry: ContractRegistry, contract_id: str, instance: Any, seconds: float
) -> tuple[float, float]:
    """Checks per CPU second of `instance`: jsonschema alone, then the hub's path."""
    reference = registry.validator(contract_id).reference
    before = per_second(lambda: list(reference.iter_errors(instance)), seconds)
    after = per_second(lambda: registry.errors(contract_id, instance), seconds)
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    seconds = parser.parse_args().seconds
    registry = ContractRegistry.load()
    print(f"{'contract':55} {'jsonschema/s':>13} {'hub path/s':>11} {'x':>6}")
    reference_us = fast_us = 0.0
    for contract_id in PARKING_CONTRACTS:
        example = registry.get(contract_id).examples[0]
        before, after = both_paths(registry, contract_id, example, seconds)
        reference_us += 1e6 / before
        fast_us += 1e6 / after
        print(f"{contract_id:55} {before:13,.0f} {after:11,.0f} {after / before:6.1f}")
    print(f"one parking message's four checks: {reference_us:.0f} us -> {fast_us:.1f} us of CPU")
    broken = dict(registry.get(PARKING_CONTRACTS[0]).examples[0]) | {"months": 5}
    before, after = both_paths(registry, PARKING_CONTRACTS[0], broken, seconds)
    print(f"an invalid parking request (errors written): {before:,.0f}/s -> {after:,.0f}/s")


if __name__ == "__main__":
    main()
