"""The store's connection pool covers the threads that use it at once: beyond the pool,
every checkout opens (and every return closes) a connection, a new PostgreSQL backend each."""

from __future__ import annotations

import threading

from sqlalchemy import text

from hub.store.engine import make_engine

THREADS = 10
ROUNDS = 15


def backends_seen(url: str, pool_size: int) -> set[int]:
    engine = make_engine(url, pool_size=pool_size)
    seen: set[int] = set()
    barrier = threading.Barrier(THREADS, timeout=30)

    def use_the_store() -> None:
        for _ in range(ROUNDS):
            barrier.wait()  # every thread holds a connection at the same time
            with engine.connect() as conn:
                seen.add(int(conn.scalar(text("SELECT pg_backend_pid()")) or 0))
                barrier.wait()

    threads = [threading.Thread(target=use_the_store) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    engine.dispose()
    return seen


def test_a_pool_as_large_as_the_threads_keeps_its_connections(postgres_url: str) -> None:
    assert len(backends_seen(postgres_url, pool_size=THREADS)) == THREADS


def test_a_pool_smaller_than_the_threads_opens_connections_again_and_again(
    postgres_url: str,
) -> None:
    """Why the runtime sizes the pool from the prefetch: 10 threads on a pool of 5 (and 5
    overflow) churn through new backends."""
    assert len(backends_seen(postgres_url, pool_size=5)) > THREADS
