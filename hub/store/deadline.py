"""A psycopg connection that gives up on a round trip after a deadline: against a peer that
keeps the socket open and answers nothing (a proxy or firewall that lost the other side),
neither TCP keepalives nor TCP_USER_TIMEOUT help, since something still acknowledges our
packets. psycopg waits on its socket in one place (`Connection.wait`, given a timeout since
3.2); past it the connection is closed, so SQLAlchemy sees a disconnect and drops it."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors
from psycopg.abc import RV, PQGen

WAIT_INTERVAL_S = 0.1  # psycopg's own: how often a wait looks for Ctrl-C


def deadline_connection_class(timeout_s: float) -> type[psycopg.Connection[Any]]:
    class DeadlineConnection(psycopg.Connection[Any]):
        def wait(
            self, gen: PQGen[RV], interval: float = WAIT_INTERVAL_S, timeout: float | None = None
        ) -> RV:
            try:
                return super().wait(gen, interval, timeout if timeout is not None else timeout_s)
            except errors._WaitTimeout:  # noqa: SLF001  (psycopg's own signal for it)
                self.pgconn.finish()  # its state is unknown: never reused
                raise psycopg.OperationalError(
                    f"no answer from the database within {timeout_s:g} s; connection closed"
                ) from None

    return DeadlineConnection
