"""`hub demo`: a self-contained run on the embedded default. It starts the hub in this process
(worker + agency simulators), feeds a realistic mixed batch through `municipal.in` exactly as
the municipal systems would, takes one agency down for a few seconds part-way, sends the agency
pushes that follow, collects every result from `municipal.out`, and shows what happened."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kombu.connection import Connection
from kombu.simple import SimpleQueue
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from hub.bus.publisher import Publisher
from hub.bus.topology import IN_EXCHANGE, results_queue
from hub.config import Settings
from hub.demo.batch import first_wave, pushes
from hub.demo.cases import DemoCase
from hub.demo.console_case import CONSOLE_HINT, leave_case_for_console
from hub.demo.investeasy import InvestEasyDemo, render_investeasy
from hub.demo.payments import PaymentCase, PaymentDemo, payment_cases
from hub.demo.report import STOPPED_TYPE, render, show_payments
from hub.demo.sms import SmsCase, SmsDemo, sms_cases
from hub.observability import configure_logging
from hub.runtime.build import HubRuntime, build_runtime
from hub.runtime.worker_thread import WorkerThread
from hub.store.tables import Message, MessageStatus

# A short ladder and circuit keep the demo short; production waits minutes.
DEMO_SETTINGS = {
    "retry_ladder": "1s,2s,3s,5s,5s,5s,5s",
    "circuit_reset_s": 2.0,
    # Renewals wait for their fee (hub/demo/payments.py pays some); parking permits are issued
    # at once, as the batch's report expects.
    "payments_billing": True,
    "payments_billed_services": ["licence-renewal"],
}
FAULT_AGENCY, FAULT_MODE, FAULT_SECONDS = "labour", "outage", 3.0
STOPPED = (MessageStatus.FAILED, MessageStatus.DEAD)


@dataclass
class DemoReport:
    cases: list[DemoCase]
    results: list[dict[str, Any]]
    elapsed_s: float
    log_path: Path
    fault: str
    sms: list[SmsCase]
    payments: list[PaymentCase] | None = None


class FaultWindow:
    """Switches one agency's simulator to a fault once a third of the cases are decided, and
    back a few seconds later: the cases that needed it wait, retry and still end right."""

    def __init__(self, runtime: HubRuntime, total: int) -> None:
        running = runtime.simulators.get(FAULT_AGENCY)
        self._simulator = running.simulator if running else None
        self._start_at = total // 3
        self._ends: float | None = None
        self.description = f"{FAULT_AGENCY} {FAULT_MODE} for {FAULT_SECONDS:g} s"

    def tick(self, decided: int) -> None:
        if self._simulator is None:
            return
        if self._ends is None and decided >= self._start_at:
            self._simulator.set_fault(FAULT_MODE)
            self._ends = time.monotonic() + FAULT_SECONDS
        elif self._ends is not None and time.monotonic() >= self._ends:
            self._simulator.set_fault("none")
            self._simulator = None

    def finish(self) -> None:
        """End the fault when its time is up even if the first wave was decided sooner (a
        small batch): what follows (payments, Invest Easy) needs the agency back."""
        if self._simulator is None or self._ends is None:
            return
        time.sleep(max(0.0, min(self._ends - time.monotonic(), FAULT_SECONDS)))
        self._simulator.set_fault("none")
        self._simulator = None


class StoppedMessages:
    """Asks the store which messages ended without a result (failed or dead)."""

    def __init__(self, runtime: HubRuntime) -> None:
        self._sessions = runtime.sessions

    def ids(self, candidates: set[str]) -> set[str]:
        if not candidates:
            return set()
        with self._sessions() as session:
            query = select(Message.id).where(
                Message.id.in_(candidates), Message.status.in_(STOPPED)
            )
            return set(session.scalars(query))

    def as_results(self, candidates: set[str]) -> list[dict[str, Any]]:
        """Shaped like results, so the summary can show them beside the answered cases."""
        with self._sessions() as session:
            query = select(Message).where(Message.id.in_(candidates), Message.status.in_(STOPPED))
            return [
                {
                    "type": STOPPED_TYPE,
                    "id": row.id,
                    "causationid": row.id,
                    "data": {"status": row.status, "last_error": row.last_error or ""},
                }
                for row in session.scalars(query)
            ]


class ResultReader:
    """The demo's own results queue on municipal.out, as a municipal backend would bind one."""

    def __init__(self, broker_url: str, stopped: StoppedMessages) -> None:
        self._connection = Connection(broker_url)
        self._queue = results_queue(f"demo.results.{uuid.uuid4().hex[:8]}", broker_url)
        self._queue(self._connection.default_channel).declare()
        self._simple = SimpleQueue(self._connection.channel(), self._queue)
        self._stopped = stopped

    def collect(
        self,
        causes: set[str],
        timeout_s: float,
        on_progress: Callable[[int], None],
        quiet_s: float = 1.0,
    ) -> list[dict[str, Any]]:
        """Results caused by `causes`, until each has one (or ended without one) and a quiet
        moment has passed (a duplicate would show up then), or the time is up."""
        results: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        quiet_until: float | None = None
        ended: set[str] = set()
        next_look = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            answered = {r["causationid"] for r in results}
            if time.monotonic() >= next_look:
                ended, next_look = self._stopped.ids(causes - answered), time.monotonic() + 1.0
            on_progress(len(answered | ended))
            if causes <= answered | ended:
                quiet_until = quiet_until or time.monotonic() + quiet_s
                if time.monotonic() >= quiet_until:
                    break
            try:
                message = self._simple.get(block=True, timeout=0.2)
            except self._simple.Empty:
                continue
            event = json.loads(message.body)
            message.ack()
            if event.get("causationid") in causes:
                results.append(event)
        return results

    def close(self) -> None:
        self._simple.close()
        self._queue(self._connection.default_channel).delete()
        self._connection.release()


def _send(publisher: Publisher, cases: list[DemoCase]) -> None:
    for case in cases:
        body = case.body()
        publisher.publish(body, exchange=IN_EXCHANGE, routing_key=case.type)
        if case.send_twice:
            publisher.publish(body, exchange=IN_EXCHANGE, routing_key=case.type)


def run_demo(settings: Settings, console: Console, *, count: int, timeout_s: float) -> DemoReport:
    settings = settings.model_copy(update=DEMO_SETTINGS)
    log_path = settings.data_dir / "logs" / "demo.jsonl"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("a", encoding="utf-8")
    configure_logging(settings.log_level, log_file)
    console.print(f"[bold]Muscat integration hub demo[/] (data in {settings.data_dir.resolve()})")
    run_id = uuid.uuid4().hex[:6].upper()
    cases = first_wave(count, run_id)
    started = time.monotonic()
    for_console: str | None = None
    with build_runtime(settings) as runtime:
        stopped = StoppedMessages(runtime)
        reader = ResultReader(runtime.broker_url, stopped)
        fault = FaultWindow(runtime, len(cases))
        sms = SmsDemo(runtime, sms_cases(run_id))
        used = {str(v) for c in cases for v in c.data.values() if isinstance(v, str)}
        payments = PaymentDemo(runtime, payment_cases(used))
        worker = WorkerThread(runtime).start()  # last: everything above may still refuse
        try:
            with (
                Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=console,
                ) as progress,
                Publisher(runtime.broker_url) as publisher,
            ):
                task = progress.add_task("cases decided", total=len(cases))

                def first_wave_progress(decided: int) -> None:
                    progress.update(task, completed=decided)
                    fault.tick(decided)

                _send(publisher, cases)
                results = reader.collect(
                    {c.event_id for c in cases}, timeout_s, first_wave_progress
                )
                fault.finish()
                follow_ups = pushes(results)
                push_task = progress.add_task("agency pushes", total=len(follow_ups))
                _send(publisher, follow_ups)
                results += reader.collect(
                    {c.event_id for c in follow_ups},
                    30,
                    lambda n: progress.update(push_task, completed=n),
                )
                sms_task = progress.add_task("SMS bookings", total=len(sms.cases))
                sms.run(60, lambda n: progress.update(sms_task, completed=n))
                pay_task = progress.add_task("payments", total=len(payments.cases))
                payments.run(60, lambda n: progress.update(pay_task, completed=n))
                invest = InvestEasyDemo(runtime, run_id)
                invest.run(60)
                for_console = leave_case_for_console(runtime, publisher, run_id)
            everything = cases + follow_ups
            answered = {r["causationid"] for r in results}
            results += stopped.as_results({c.event_id for c in everything} - answered)
        finally:
            worker.stop()
            reader.close()
    report = DemoReport(
        everything,
        results,
        time.monotonic() - started,
        log_path,
        fault.description,
        sms.cases,
        payments.cases,
    )
    render(
        console,
        report.cases,
        report.results,
        report.elapsed_s,
        str(log_path),
        report.fault,
        report.sms,
    )
    if for_console:
        console.print(
            f"Left for an operator: {CONSOLE_HINT} (message {for_console})", highlight=False
        )
    render_investeasy(console, invest)
    show_payments(console, payments.cases)
    log_file.close()
    unanswered = {c.event_id for c in cases} - {r["causationid"] for r in results}
    if unanswered:
        raise SystemExit(f"hub: {len(unanswered)} request(s) got no result within the time limit")
    unpaid = [c for c in payments.cases if c.outcome not in ("renewed", "settled with ROP")]
    if unpaid:
        raise SystemExit(f"hub: {len(unpaid)} payment case(s) not completed within the time limit")
    unreplied = [c for c in sms.cases if not c.reply]
    if unreplied:
        raise SystemExit(f"hub: {len(unreplied)} SMS got no reply within the time limit")
    return report
