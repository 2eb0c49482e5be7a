"""The worker with several deliveries in flight, on the embedded broker: they overlap, each is
acknowledged once its outcome is in, a crashed one goes back to the queue flagged redelivered,
and stopping lets those in flight finish instead of dropping them."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hub.bus.outbox import OutboxRelay
from hub.bus.publisher import Publisher
from hub.bus.redelivery import RedeliveryScheduler
from hub.bus.topology import IN_EXCHANGE, declare_topology
from hub.bus.worker import LoopThread, Worker
from hub.messages.outcome import Handled, Outcome
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade

pytestmark = pytest.mark.timeout(60)
PREFETCH = 4


@dataclass
class SlowPipeline:
    """Stands in for the pipeline: each delivery takes `delay_s`; `crash_once` bodies raise
    on their first delivery, as a hub whose store is briefly down would."""

    delay_s: float
    crash_once: set[bytes] = field(default_factory=set)
    in_flight: int = 0
    most_in_flight: int = 0
    deliveries: list[tuple[bytes, bool]] = field(default_factory=list)

    async def handle(
        self, body: bytes, replay: Any = None, *, redelivered: bool = False, **amqp: Any
    ) -> Handled:
        self.deliveries.append((body, redelivered))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        if body in self.crash_once:
            self.crash_once.discard(body)
            raise RuntimeError("store unreachable")
        return Handled(Outcome.DONE, body.decode())


@dataclass
class RunningWorker:
    worker: Worker
    stop: threading.Event
    thread: threading.Thread
    publisher: Publisher
    broker_file: Path

    def send(self, bodies: list[bytes]) -> None:
        for body in bodies:
            self.publisher.publish(body, exchange=IN_EXCHANGE, routing_key="permit.test")

    def left_in_queue(self) -> int:
        with sqlite3.connect(self.broker_file) as db:
            return int(db.execute("SELECT count(*) FROM messages").fetchone()[0])


def wait_for(check: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[SlowPipeline], RunningWorker]]:
    started: list[tuple[RunningWorker, LoopThread]] = []
    broker_file = tmp_path / "broker.sqlite3"
    url = f"embedded+sqlite:///{broker_file}"
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    upgrade(engine)
    sessions = make_session_factory(engine)

    def run(pipeline: SlowPipeline) -> RunningWorker:
        publisher = Publisher(url)
        declare_topology(publisher.producer.channel, url)
        loop = asyncio.new_event_loop()
        loop_thread = LoopThread(loop, executor_threads=PREFETCH + 2).start()
        stop = threading.Event()
        worker = Worker(
            url,
            pipeline,  # type: ignore[arg-type]  # the pipeline's shape, without a store
            OutboxRelay(sessions, publisher),
            RedeliveryScheduler(publisher, url),
            loop=loop,
            prefetch=PREFETCH,
            stop=stop,
        )
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        running = RunningWorker(worker, stop, thread, publisher, broker_file)
        started.append((running, loop_thread))
        return running

    yield run
    for running, loop_thread in started:
        running.stop.set()
        running.thread.join(15)
        loop_thread.stop()
        running.worker.close()
        running.publisher.close()
    engine.dispose()


def test_deliveries_overlap_up_to_the_prefetch_and_each_is_acknowledged(
    start: Callable[[SlowPipeline], RunningWorker],
) -> None:
    pipeline = SlowPipeline(delay_s=0.3)
    running = start(pipeline)
    running.send([f"m{n}".encode() for n in range(8)])
    assert wait_for(lambda: running.worker.handled == 8)
    assert 1 < pipeline.most_in_flight <= PREFETCH
    assert wait_for(lambda: running.left_in_queue() == 0)
    assert sorted(body for body, _ in pipeline.deliveries) == [f"m{n}".encode() for n in range(8)]


def test_a_crashed_delivery_goes_back_flagged_redelivered_and_the_others_are_kept(
    start: Callable[[SlowPipeline], RunningWorker],
) -> None:
    pipeline = SlowPipeline(delay_s=0.05, crash_once={b"m1"})
    running = start(pipeline)
    running.send([b"m0", b"m1", b"m2"])
    assert wait_for(lambda: running.worker.handled == 3)
    assert [flag for body, flag in pipeline.deliveries if body == b"m1"] == [False, True]
    assert len(pipeline.deliveries) == 4
    assert wait_for(lambda: running.left_in_queue() == 0)


def test_stopping_lets_the_deliveries_in_flight_finish(
    start: Callable[[SlowPipeline], RunningWorker],
) -> None:
    pipeline = SlowPipeline(delay_s=1.0)
    running = start(pipeline)
    running.send([b"m0", b"m1", b"m2"])
    assert wait_for(lambda: pipeline.in_flight == 3)
    running.stop.set()
    running.thread.join(15)
    assert not running.thread.is_alive()
    assert running.worker.handled == 3
    assert running.left_in_queue() == 0  # all acknowledged: none comes back to a new worker
