"""The Celery worker a team would write instead of the hub: the same work in a task, acked late
(after the work, the same promise as the hub), on the same RabbitMQ.

    celery -A bench.celery_app worker --pool prefork --concurrency 1   (the benchmark starts it)

Celery's default pool (prefork), one child. The solo pool stalled for seconds at a time in
bursts (4 messages delivered and unacknowledged, the worker idle in epoll; 31-138 msgs/s
against 320 for prefork), which measured Celery's event loop, not the work.

Settings come from BENCH_BROKER_URL, BENCH_DATABASE_URL, BENCH_ROP_URL.
"""

from __future__ import annotations

import os

from celery import Celery

from bench.bare_work import BareParkingWork

app = Celery("bench", broker=os.environ.get("BENCH_BROKER_URL", "amqp://"))
app.conf.update(
    task_acks_late=True,
    task_serializer="json",
    accept_content=["json"],
    task_default_queue="bench.celery",
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
_work: BareParkingWork | None = None


def _worker_work() -> BareParkingWork:
    """One set of clients per worker process, made on its first task."""
    global _work
    if _work is None:
        _work = BareParkingWork(
            os.environ["BENCH_BROKER_URL"],
            os.environ["BENCH_DATABASE_URL"],
            os.environ["BENCH_ROP_URL"],
        )
    return _work


@app.task(name="bench.parking")
def parking(body: str) -> None:
    _worker_work().process(body.encode("utf-8"))
