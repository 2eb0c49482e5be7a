"""The one door every partner call goes through: who is calling, may it, has it called too
often. Each decision is audited in the same transaction that counts the call.

The rate limit is a fixed-window counter kept in the store (one row per partner, updated with
an atomic upsert), so every uvicorn worker and every machine sharing the store enforce one
budget per partner. It costs one small write per call, in the transaction that writes the
call's audit entry anyway.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from hub.api.auth_throttle import AuthThrottle
from hub.api.grants import holds, scopes_of
from hub.api.partners import PartnerRegistry
from hub.errors import Forbidden, HubError, Unauthorised
from hub.messages.unit_of_work import UnitOfWork
from hub.pki.revocation import CertificateVerdict, PartnerCertificateCheck
from hub.store.tables import Partner, PartnerRateWindow

Channel = Literal["rest", "soap"]
ANONYMOUS = "anonymous"


class RateLimited(HubError):
    """The partner used up its calls for this window; `retry_after` seconds until the next."""

    def __init__(self, partner: str, retry_after: int) -> None:
        super().__init__(f"partner {partner} is over its rate limit")
        self.retry_after = retry_after


class AuthThrottled(RateLimited):
    """Too many failed authentications from this address (or against this partner name)."""

    def __init__(self, retry_after: int) -> None:
        HubError.__init__(self, "too many failed authentications")
        self.retry_after = retry_after


class Admitted(str):
    """The admitted partner's name, carrying the scopes its grant for this call has."""

    scopes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, name: str, scopes: frozenset[str]) -> Admitted:
        admitted = cls(name)
        admitted.scopes = scopes
        return admitted


class CertificateRefused(Unauthorised):
    """A mutual TLS client certificate that cannot stand for a partner; `reason` says why
    (certificate-revoked, certificate-expired, certificate-wrong-ca, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"client certificate refused: {reason}")
        self.reason = reason


class SignatureRefusedByGate(Unauthorised):
    """A SOAP message whose WS-Security signature cannot be accepted; `reason` says why
    (signature-unsigned, -wrongly-signed, -wrong-ca, -expired-certificate, -stale,
    -replayed, -not-the-partner)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"message signature refused: {reason}")
        self.reason = reason


class UnknownOperation(HubError):
    """An authenticated caller named an operation the service does not have."""


@dataclass(frozen=True)
class Credentials:
    """What a request carried: a REST key, or a SOAP user name and password, and the client
    certificate of a mutual TLS connection (DER), which when present is what identifies it."""

    channel: Channel
    secret: str | None
    username: str | None = None
    digest: bool = False  # a SOAP PasswordDigest: cannot be checked against a stored hash
    certificate: bytes | None = None
    # a WS-Security signature on the message: who signed it, or why it is refused
    signer: str | None = None
    signature_problem: str | None = None


@dataclass(frozen=True)
class CallInfo:
    """The call being admitted, as the audit trail names it."""

    operation: str  # e.g. "GET /api/v1/licences/{licence_no}" or "MunicipalRecords.GetLicence"
    grant: str | None  # None: the operation does not exist
    client: str | None = None
    reference: str | None = None  # the partner's own X-Correlation-Id, already validated


class PartnerGate:
    """Authenticate, authorise and rate-limit one call; audit the outcome either way."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        registry: PartnerRegistry,
        *,
        rate_limit: int,
        window_s: int,
        auth_fail_limit: int = 10,
        auth_fail_window_s: int = 60,
        clock: Callable[[], float] = time.time,
        certificates: PartnerCertificateCheck | None = None,
    ) -> None:
        """`certificates`: checks mutual TLS client certificates (None: they are ignored)."""
        self._sessions = sessions
        self._certificates = certificates
        self._registry = registry
        self._rate_limit = rate_limit
        self._window_s = window_s
        self._clock = clock
        self._throttle = AuthThrottle(auth_fail_limit, auth_fail_window_s, clock)

    def admit(self, credentials: Credentials, call: CallInfo) -> Admitted:
        """The partner's name with its grant's scopes (`Admitted`), or the refusal
        (`Unauthorised`, `UnknownOperation`, `Forbidden`, `RateLimited`) after its
        `partner.denied` entry is committed."""
        refusal: HubError | None = None
        claimed = _claimed(credentials)
        summaries = self._throttle.ended()
        retry_after = self._throttle.retry_after(call.client, claimed)
        if retry_after is not None:
            self._summarise(summaries)
            raise AuthThrottled(retry_after)
        with UnitOfWork(
            self._sessions,
            correlationid=None,  # a partner's header never names a hub case (see pushes)
            actor=ANONYMOUS,
            sealer=self._registry.sealer,
        ) as uow:
            for summary in summaries:
                uow.audit("partner.denied.summary", **summary)
            verdict = self._certificate(credentials)
            if verdict is None:
                partner = self._authenticate(uow.session, credentials)
                reason = "missing-credentials" if not credentials.secret else "wrong-credentials"
            else:
                partner, reason = self._by_certificate(uow.session, verdict)
            audited = True
            detail: dict[str, object] = {
                "channel": credentials.channel,
                "operation": call.operation,
                "grant": call.grant,
                "client": call.client,
            }
            if call.reference is not None:
                detail["reference"] = call.reference
            if verdict is not None:
                detail["certificate"] = {"serial": verdict.serial, "sha256": verdict.fingerprint}
            if partner is None:
                if credentials.username:
                    detail["claimed_partner"] = credentials.username[:60]
                elif verdict is not None and verdict.partner:
                    detail["claimed_partner"] = verdict.partner[:60]
                refusal = (
                    Unauthorised("authentication failed")
                    if verdict is None
                    else CertificateRefused(reason)
                )
                # In full up to the address's limit; past it, counted in the window's summary.
                audited = self._throttle.failed(call.client, claimed)
            else:
                uow.actor = partner.name
                detail["partner"] = partner.name
                reason = _signature_problem(credentials, partner.name)
                if reason:
                    refusal = SignatureRefusedByGate(reason)
                else:
                    reason, refusal = self._authorise(uow.session, partner, call)
            if refusal is None:
                uow.audit("partner.call", **detail)
            elif audited:
                uow.audit("partner.denied", reason=reason, **detail)
            uow.commit()
        if refusal is not None:
            raise refusal
        assert partner is not None
        return Admitted.of(partner.name, scopes_of(partner.grants, call.grant or ""))

    def _summarise(self, summaries: list[dict[str, object]]) -> None:
        if not summaries:
            return
        with UnitOfWork(
            self._sessions, correlationid=None, actor=ANONYMOUS, sealer=self._registry.sealer
        ) as uow:
            for summary in summaries:
                uow.audit("partner.denied.summary", **summary)
            uow.commit()

    def _certificate(self, credentials: Credentials) -> CertificateVerdict | None:
        if credentials.certificate is None or self._certificates is None:
            return None
        return self._certificates.check(credentials.certificate)

    def _by_certificate(
        self, session: Session, verdict: CertificateVerdict
    ) -> tuple[Partner | None, str]:
        """The active partner a good certificate names (its common name), or the reason not."""
        if verdict.problem is not None:
            return None, verdict.problem
        row = session.get(Partner, verdict.partner) if verdict.partner else None
        if row is None or row.revoked_at is not None:
            return None, "certificate-unknown-partner"
        return row, ""

    def _authenticate(self, session: Session, credentials: Credentials) -> Partner | None:
        if not credentials.secret or credentials.digest:
            return None
        if credentials.channel == "soap":
            if not credentials.username:
                return None
            return self._registry.by_name(session, credentials.username, credentials.secret)
        return self._registry.by_key(session, credentials.secret)

    def _authorise(
        self, session: Session, partner: Partner, call: CallInfo
    ) -> tuple[str, HubError | None]:
        if call.grant is None:
            return "unknown-operation", UnknownOperation(f"unknown operation {call.operation}")
        if not holds(partner.grants, call.grant):
            return "not-granted", Forbidden(f"not granted {call.grant}")
        limit = partner.rate_limit or self._rate_limit
        retry_after = self._count_call(session, partner.name, limit)
        if retry_after is not None:
            return "rate-limited", RateLimited(partner.name, retry_after)
        return "", None

    def _count_call(self, session: Session, partner: str, limit: int) -> int | None:
        """Count one call in the current window; seconds to wait when it is over `limit`."""
        now = self._clock()
        start = int(now // self._window_s) * self._window_s
        dialect = session.get_bind().dialect.name
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        window = PartnerRateWindow
        stmt = insert(window).values(partner=partner, window_start=start, calls=1)
        upsert = stmt.on_conflict_do_update(
            index_elements=[window.partner],
            set_={
                "calls": case((window.window_start == start, window.calls + 1), else_=1),
                "window_start": start,
            },
        ).returning(window.calls)
        calls = int(session.execute(upsert).scalar_one())
        if calls <= limit:
            return None
        return max(1, math.ceil(start + self._window_s - now))


def _signature_problem(credentials: Credentials, partner: str) -> str:
    """Why the message's signature cannot stand for this partner ("" when it can or when the
    message carries none and none is required)."""
    if credentials.signature_problem:
        return credentials.signature_problem
    if credentials.signer is not None and credentials.signer != partner:
        return "signature-not-the-partner"
    return ""


def _claimed(credentials: Credentials) -> str | None:
    """Whom a caller claims to be: the SOAP user name, or the key id of a REST key."""
    if credentials.username:
        return credentials.username[:60]
    if credentials.secret and "." in credentials.secret:
        return "key:" + credentials.secret.split(".", 1)[0][:40]
    return None
