"""Signed-in browsers: a random cookie whose SHA-256 is the session's key, an idle and an
absolute expiry, and a CSRF token per session that every form carries back."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from hub.store.engine import WRITE_INTENT
from hub.store.tables import ConsoleOperator, ConsoleSession

TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SignedIn:
    """The operator behind one request."""

    name: str
    role: str
    csrf_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a form's CSRF token with the expected one."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


class SessionBook:
    """The console_sessions table: open at sign-in, find on every request, close at sign-out."""

    def __init__(self, sessions: sessionmaker[Session], idle_s: int, max_s: int) -> None:
        self._sessions = sessions
        self._idle = timedelta(seconds=idle_s)
        self._max = timedelta(seconds=max_s)

    def open(self, operator: str) -> tuple[str, SignedIn]:
        """A new session for `operator`: the cookie value (shown once) and who it signs in."""
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        csrf = secrets.token_urlsafe(32)
        with self._sessions.begin() as session:
            session.connection(execution_options=WRITE_INTENT)
            row = session.get(ConsoleOperator, operator)
            if row is None:
                raise LookupError(operator)
            session.add(
                ConsoleSession(
                    token_hash=_hash(token),
                    operator=operator,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self._max,
                )
            )
            return token, SignedIn(operator, row.role, csrf)

    def find(self, token: str | None) -> SignedIn | None:
        """The session of this cookie while it is valid; an expired one is removed. The last
        use is written at most once a minute, so reading pages seldom takes the write lock."""
        if not token:
            return None
        key = _hash(token)
        now = datetime.now(UTC)
        with self._sessions() as session:
            row = session.get(ConsoleSession, key)
            if row is None:
                return None
            operator = session.get(ConsoleOperator, row.operator)
            expired = (
                operator is None or now >= row.expires_at or now - row.last_seen_at >= self._idle
            )
            stale = now - row.last_seen_at >= TOUCH_EVERY
            found = (
                None if operator is None else SignedIn(row.operator, operator.role, row.csrf_token)
            )
        if expired or stale:
            with self._sessions.begin() as session:
                session.connection(execution_options=WRITE_INTENT)
                if expired:
                    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == key))
                else:
                    session.execute(
                        update(ConsoleSession)
                        .where(ConsoleSession.token_hash == key)
                        .values(last_seen_at=now)
                    )
        return None if expired else found

    def close(self, token: str | None) -> None:
        if not token:
            return
        with self._sessions.begin() as session:
            session.connection(execution_options=WRITE_INTENT)
            session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
