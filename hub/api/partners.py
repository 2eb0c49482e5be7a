"""Partners and their secrets: register, list, revoke, and recognise a caller by its secret.

A secret is `<key id>.<random>`: the key id finds the partner's row without scanning, the whole
secret is checked against the stored HMAC-SHA256 under a server-side pepper with a
constant-time compare. Secrets are 256-bit random tokens, so a slow password KDF would add
latency to every call without adding strength; the pepper means a copy of the table alone
cannot be used to test guesses. The same secret is the REST `X-Api-Key` and the SOAP
UsernameToken password (the user name is the partner's name).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.api.grants import check_grants
from hub.audit.sealing import Checkpointer
from hub.config import Settings
from hub.errors import HubError
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import Partner

log = structlog.get_logger("hub.partners")

PEPPER_FILE = "partner-pepper"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$")
# A secret that cannot match anything still costs one HMAC, so an unknown partner and a wrong
# secret take the same work.
_NO_MATCH = "0" * 64


class PartnerError(HubError):
    """A partner cannot be added or revoked as asked (bad name, duplicate, unknown)."""


def load_pepper(settings: Settings) -> bytes:
    """The HMAC key for partner secrets: HUB_PARTNER_PEPPER, else a random one kept in a file
    under the data directory (created on first use, readable by the owner only).

    Every process that checks secrets must share it: with a shared store on several machines,
    set HUB_PARTNER_PEPPER.
    """
    if settings.partner_pepper is not None:
        return settings.partner_pepper.get_secret_value().encode("utf-8")
    if not settings.is_embedded:
        log.warning("partners.pepper_from_file", hint="set HUB_PARTNER_PEPPER on shared stores")
    return _pepper_file(settings.data_dir / PEPPER_FILE)


def _pepper_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32))
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        raise HubError(f"{path} is damaged (too short); restore it or set HUB_PARTNER_PEPPER")
    return text.encode("ascii")


class SecretHasher:
    """HMAC-SHA256 of secrets under the pepper; new secrets carry their key id."""

    def __init__(self, pepper: bytes) -> None:
        self._pepper = pepper

    def digest(self, secret: str) -> str:
        return hmac.new(self._pepper, secret.encode("utf-8"), hashlib.sha256).hexdigest()

    def matches(self, secret: str, stored: str | None) -> bool:
        """Constant-time check of `secret` against a stored digest (None: no such partner)."""
        return hmac.compare_digest(self.digest(secret), stored or _NO_MATCH) and stored is not None

    @staticmethod
    def new_secret() -> tuple[str, str]:
        """A fresh (key id, secret) pair."""
        key_id = secrets.token_hex(8)
        return key_id, f"{key_id}.{secrets.token_urlsafe(32)}"

    @staticmethod
    def key_id_of(secret: str) -> str:
        return secret.split(".", 1)[0] if "." in secret else ""


@dataclass(frozen=True)
class PartnerInfo:
    """What `hub partners list` shows: never the secret or its hash."""

    name: str
    key_id: str
    grants: list[str]
    rate_limit: int | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _info(row: Partner) -> PartnerInfo:
    return PartnerInfo(
        row.name, row.key_id, list(row.grants), row.rate_limit, row.created_at, row.revoked_at
    )


class PartnerRegistry:
    """The partners table behind the CLI and the endpoints."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        hasher: SecretHasher,
        sealer: Checkpointer | None = None,
    ) -> None:
        self._sessions = sessions
        self.hasher = hasher
        self.sealer = sealer  # signs audit checkpoints when due (the gate's units use it too)

    def add(
        self,
        name: str,
        grants: list[str],
        *,
        rate_limit: int | None = None,
        actor: str = "operator",
    ) -> tuple[PartnerInfo, str]:
        """Register a partner; returns it and its secret, which is not kept anywhere."""
        if not NAME_PATTERN.match(name):
            raise PartnerError(
                f"invalid partner name {name!r}: letters, digits, '.', '_' or '-', at most 60"
            )
        if not grants:
            raise PartnerError("give at least one --grant")
        if rate_limit is not None and rate_limit < 1:
            raise PartnerError("the rate limit must be at least 1 call per window")
        granted = check_grants(grants)
        key_id, secret = self.hasher.new_secret()
        with UnitOfWork(self._sessions, actor=actor, sealer=self.sealer) as uow:
            if uow.session.get(Partner, name) is not None:
                raise PartnerError(f"partner {name!r} already exists (names are never reused)")
            row = Partner(
                name=name,
                key_id=key_id,
                secret_hash=self.hasher.digest(secret),
                grants=granted,
                rate_limit=rate_limit,
            )
            uow.session.add(row)
            uow.session.flush()
            uow.audit("partner.added", partner=name, key_id=key_id, grants=granted)
            uow.commit()
            return _info(row), secret

    def revoke(self, name: str, *, actor: str = "operator") -> PartnerInfo:
        """Stop a partner's secret working, at once, in every process."""
        with UnitOfWork(self._sessions, actor=actor, sealer=self.sealer) as uow:
            row = uow.session.get(Partner, name)
            if row is None:
                raise PartnerError(f"no partner named {name!r}")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
                uow.audit("partner.revoked", partner=name, key_id=row.key_id)
                uow.commit()
            return _info(row)

    def list(self) -> list[PartnerInfo]:
        with self._sessions() as session:
            return [_info(row) for row in session.scalars(select(Partner).order_by(Partner.name))]

    def by_key(self, session: Session, secret: str) -> Partner | None:
        """The active partner whose REST key this is, or None."""
        key_id = self.hasher.key_id_of(secret)
        row = None
        if key_id:
            row = session.scalars(select(Partner).where(Partner.key_id == key_id)).first()
        return self._checked(row, secret)

    def by_name(self, session: Session, name: str, secret: str) -> Partner | None:
        """The active partner with this SOAP user name and password, or None."""
        return self._checked(session.get(Partner, name), secret)

    def _checked(self, row: Partner | None, secret: str) -> Partner | None:
        ok = self.hasher.matches(secret, row.secret_hash if row is not None else None)
        if not ok or row is None or row.revoked_at is not None:
            return None
        return row
