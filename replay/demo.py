"""`hub demo`: a self-contained run on the embedded default. It starts the hub in this process
(worker + agency simulators), feeds a realistic batch through `municipal.in` exactly as a
municipal backend would, collects the results from `municipal.out`, and shows what happened."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kombu.connection import Connection
from kombu.simple import SimpleQueue
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub.bus.publisher import Publisher
from hub.bus.service import WorkerThread
from hub.bus.topology import IN_EXCHANGE, results_queue
from hub.config import Settings
from hub.observability import configure_logging
from hub.runtime import build_runtime
from replay.demo_cases import DemoCase, parking_cases


@dataclass
class DemoReport:
    sent: int
    results: list[dict[str, Any]]
    elapsed_s: float
    log_path: Path


def _collect(
    simple: SimpleQueue, wanted: set[str], timeout_s: float, progress: Progress, task: Any
) -> list[dict[str, Any]]:
    """Results whose cause is one of ours, until all came or the time is up."""
    results: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    seen: set[str] = set()
    while seen < wanted and time.monotonic() < deadline:
        try:
            message = simple.get(block=True, timeout=0.5)
        except simple.Empty:
            continue
        event = json.loads(message.body)
        message.ack()
        if event.get("causationid") in wanted:
            results.append(event)
            seen.add(event["causationid"])
            progress.update(task, completed=len(seen))
    return results


def run_demo(settings: Settings, console: Console, *, count: int, timeout_s: float) -> DemoReport:
    log_path = settings.data_dir / "logs" / "demo.jsonl"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("a", encoding="utf-8")
    configure_logging(settings.log_level, log_file)
    console.print(f"[bold]Muscat integration hub demo[/] (data in {settings.data_dir.resolve()})")
    cases = parking_cases(count, run_id=uuid.uuid4().hex[:6].upper())
    started = time.monotonic()
    with build_runtime(settings) as runtime:
        queue_name = f"demo.results.{uuid.uuid4().hex[:8]}"
        connection = Connection(runtime.broker_url)
        queue = results_queue(queue_name, runtime.broker_url)
        queue(connection.default_channel).declare()
        simple = SimpleQueue(connection.channel(), queue)
        worker = WorkerThread(runtime).start()
        try:
            with Publisher(runtime.broker_url) as publisher:
                ids = _send(publisher, cases)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("cases decided", total=len(ids))
                results = _collect(simple, set(ids), timeout_s, progress, task)
            # A quiet moment: a second result for the duplicate would show up here.
            results += _collect(simple, set(ids), 1.0, progress, task)
        finally:
            worker.stop()
            simple.close()
            queue(connection.default_channel).delete()
            connection.release()
    report = DemoReport(len(cases), results, time.monotonic() - started, log_path)
    _render(console, cases, report)
    log_file.close()
    return report


def _send(publisher: Publisher, cases: list[DemoCase]) -> list[str]:
    ids: list[str] = []
    for case in cases:
        body = case.body()
        publisher.publish(body, exchange=IN_EXCHANGE, routing_key=case.type)
        if case.send_twice:
            publisher.publish(body, exchange=IN_EXCHANGE, routing_key=case.type)
        ids.append(case.event_id)
    return ids


def _outcome(result: dict[str, Any]) -> tuple[str, str]:
    data = result["data"]
    if result["type"] == "hub.message.rejected":
        return "rejected", ", ".join(e["field"] for e in data["errors"])
    reasons = ", ".join(r["code"] for r in data.get("reasons", [])) or "-"
    return data["decision"], reasons


def _render(console: Console, cases: list[DemoCase], report: DemoReport) -> None:
    by_id = {case.event_id: case for case in cases}
    table = Table(title="What happened", show_lines=False)
    for column in ("scenario", "outcome", "reasons / failing fields", "cases"):
        table.add_column(column)
    tally = Counter((by_id[r["causationid"]].scenario, *_outcome(r)) for r in report.results)
    for (scenario, outcome, reasons), number in sorted(tally.items()):
        style = {"issued": "green", "refused": "yellow", "rejected": "red"}.get(outcome, "")
        table.add_row(scenario, f"[{style}]{outcome}[/]", reasons, str(number))
    console.print(table)
    refused = next((r for r in report.results if r["data"].get("decision") == "refused"), None)
    if refused:
        reason = refused["data"]["reasons"][0]
        console.print(
            f"A refusal as the Baladiyati app shows it:\n  {reason['en']}\n  {reason['ar']}"
        )
    answered = {r["causationid"] for r in report.results}
    duplicates = len(report.results) - len(answered)
    missing = len(cases) - len(answered)
    twice = sum(1 for c in cases if c.send_twice)
    console.print(
        f"{len(cases)} requests sent ({twice} of them twice), {len(answered)} answered, "
        f"{duplicates} duplicate results, {missing} unanswered, "
        f"{report.elapsed_s:.1f} s. Logs: {report.log_path}",
        highlight=False,
    )
    if missing:
        raise SystemExit(f"hub: {missing} request(s) got no result within the time limit")
