"""One case the demo leaves for an operator: ROP answers it with a reply that breaks its
contract (a permanent failure, so the message stops at once as `failed`), then ROP is healed.
The operations console (`hub console`, Dead letters) shows it and replays it to done; the
demo's own counts leave it out."""

from __future__ import annotations

import time

from sqlalchemy import select

from hub.bus.publisher import Publisher
from hub.bus.topology import IN_EXCHANGE
from hub.demo.cases import parking_cases
from hub.runtime.build import HubRuntime
from hub.store.tables import Message, MessageStatus

FAULT = "contract-break"
CONSOLE_HINT = (
    "one parking case failed on a broken ROP reply; replay it from Dead letters in `hub console`"
)
WAIT_S = 15.0


def leave_case_for_console(runtime: HubRuntime, publisher: Publisher, run_id: str) -> str | None:
    """Send one parking case while ROP's replies break their contract; its event id once it
    has stopped (None when ROP is not simulated here or the case did not stop in time)."""
    running = runtime.simulators.get("rop")
    if running is None:
        return None
    case = next(
        c for c in parking_cases(10, f"{run_id}C", seed=7) if c.scenario.startswith("owner")
    )
    running.simulator.set_fault(FAULT)
    try:
        publisher.publish(case.body(), exchange=IN_EXCHANGE, routing_key=case.type)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            with runtime.sessions() as session:
                status = session.scalar(select(Message.status).where(Message.id == case.event_id))
            if status in (MessageStatus.FAILED, MessageStatus.DEAD):
                return case.event_id
            time.sleep(0.1)
        return None
    finally:
        running.simulator.set_fault("none")
