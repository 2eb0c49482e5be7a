"""The console's operators: add, remove, list and check a password. Passwords are hashed with
Argon2id (argon2-cffi; the choice is in docs/CONSOLE.md); every change and every sign-in, good
or bad, joins the audit trail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from hub.console.roles import ROLES
from hub.errors import HubError
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import ConsoleOperator, ConsoleSession

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$")
PASSWORD_MIN = 12
_HASHER = PasswordHasher()
# Checked when the name is unknown, so an unknown name costs the same work as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password anyone has")


class OperatorError(HubError):
    """An operator that cannot be added or removed as asked."""


@dataclass(frozen=True)
class OperatorInfo:
    name: str
    role: str
    created_at: datetime


class OperatorBook:
    """The console_operators table behind `hub operators` and the sign-in page."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, name: str, password: str, role: str, *, actor: str) -> OperatorInfo:
        if not NAME_PATTERN.match(name):
            raise OperatorError(
                f"invalid operator name {name!r}: letters, digits, '.', '_' or '-', at most 60"
            )
        if role not in ROLES:
            raise OperatorError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        if len(password) < PASSWORD_MIN:
            raise OperatorError(f"the password must be at least {PASSWORD_MIN} characters")
        with UnitOfWork(self._sessions, actor=actor) as uow:
            if uow.session.get(ConsoleOperator, name) is not None:
                raise OperatorError(f"operator {name!r} already exists")
            row = ConsoleOperator(name=name, password_hash=_HASHER.hash(password), role=role)
            uow.session.add(row)
            uow.session.flush()
            uow.audit("console.operator.added", operator=name, role=role)
            uow.commit()
            return OperatorInfo(row.name, row.role, row.created_at)

    def remove(self, name: str, *, actor: str) -> None:
        """Remove an operator and end every session they had, at once."""
        with UnitOfWork(self._sessions, actor=actor) as uow:
            row = uow.session.get(ConsoleOperator, name)
            if row is None:
                raise OperatorError(f"no operator named {name!r}")
            uow.session.delete(row)
            uow.session.execute(delete(ConsoleSession).where(ConsoleSession.operator == name))
            uow.audit("console.operator.removed", operator=name, role=row.role)
            uow.commit()

    def list(self) -> list[OperatorInfo]:
        with self._sessions() as session:
            rows = session.scalars(select(ConsoleOperator).order_by(ConsoleOperator.name))
            return [OperatorInfo(r.name, r.role, r.created_at) for r in rows]

    def authenticate(self, name: str, password: str, client: str | None) -> OperatorInfo | None:
        """The operator when the password matches; None otherwise. Both are audited: a
        sign-in under the operator's name, a failure under `console` with the name tried."""
        with self._sessions() as session:
            row = session.get(ConsoleOperator, name[:100])
            stored = (row.password_hash, row.role, row.created_at) if row else None
        ok = _matches(stored[0] if stored else _DUMMY_HASH, password) and stored is not None
        actor = f"operator:{name}" if ok else "console"
        with UnitOfWork(self._sessions, actor=actor[:100]) as uow:
            if ok:
                uow.audit("console.signed-in", operator=name, client=client)
            else:
                uow.audit("console.sign-in-failed", tried=name[:100], client=client)
            uow.commit()
        if not ok or stored is None:
            return None
        return OperatorInfo(name, stored[1], stored[2])


def _matches(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
