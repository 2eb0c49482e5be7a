"""The exact bytes of each agency exchange, caught on the wire and sealed (docs/PKI.md).

HTTP connectors install `record_request` and `record_reply` as httpx event hooks (beside
`stamp_correlation`); while the gateway runs an attempt, they append what went out and what
came back to that attempt's list. After the attempt the gateway hands the list to
`ExchangeSeals`, which signs each item and stores it with the message it served, in a
transaction of its own: what was said was said, whatever the message's outcome.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

import httpx
import structlog
from sqlalchemy.orm import Session, sessionmaker

from hub.config import Settings
from hub.pki.material import PkiFiles
from hub.pki.seal import ExchangeSealer, Seal
from hub.soap.signature import WsSigning
from hub.store.tables import SealedExchange

log = structlog.get_logger("hub.agencies.exchanges")

Exchange = tuple[str, bytes]  # ("request" | "reply", the bytes on the wire)
current_exchanges: ContextVar[list[Exchange] | None] = ContextVar("current_exchanges", default=None)


async def record_request(request: httpx.Request) -> None:
    """httpx request hook: keep the request line and the body about to be sent (bodies here
    are never streamed). Headers are left out: they carry the hub's credentials."""
    caught = current_exchanges.get()
    if caught is not None:
        line = f"{request.method} {request.url}\n\n".encode()
        caught.append(("request", line + request.read()))


async def record_reply(response: httpx.Response) -> None:
    """httpx response hook: keep the status line and the reply's body as it arrived."""
    caught = current_exchanges.get()
    if caught is not None:
        line = f"HTTP {response.status_code}\n\n".encode()
        caught.append(("reply", line + await response.aread()))


class ExchangeSeals:
    """Seals an attempt's exchanges and keeps them in `sealed_exchanges`."""

    def __init__(self, sealer: ExchangeSealer, sessions: sessionmaker[Session]) -> None:
        self._sealer = sealer
        self._sessions = sessions

    @classmethod
    def from_settings(
        cls, settings: Settings, sessions: sessionmaker[Session]
    ) -> ExchangeSeals | None:
        """Sealing when a signing certificate is configured; None: exchanges are not sealed."""
        files = PkiFiles.from_settings(settings)
        if files.signing_cert is None or files.signing_key is None:
            return None
        return cls(ExchangeSealer(files.signing_identity()), sessions)

    async def keep(
        self,
        agency: str,
        operation: str,
        correlation_id: str,
        message_id: str,
        exchanges: list[Exchange],
    ) -> None:
        if not exchanges:
            return
        seals = [
            self._sealer.seal(agency, operation, direction, message_id, body)
            for direction, body in exchanges
        ]
        try:
            await asyncio.to_thread(self._store, correlation_id, seals)
        except Exception as exc:  # evidence lost must show, but must not fail the call
            log.error("exchanges.not_sealed", agency=agency, error=str(exc)[:200])

    def _store(self, correlation_id: str, seals: list[Seal]) -> None:
        with self._sessions.begin() as session:
            session.add_all(
                SealedExchange(
                    correlationid=correlation_id,
                    message_id=seal.message_id,
                    agency=seal.agency,
                    operation=seal.operation,
                    direction=seal.direction,
                    body=seal.body,
                    sha256=seal.sha256,
                    sealed_at=seal.sealed_at,
                    signature=seal.signature,
                    signer_serial=seal.signer_serial,
                )
                for seal in seals
            )


def ws_signing(settings: Settings) -> WsSigning:
    """WS-Security for an agency configured with `ws_security`: the municipality's signing
    identity, trusting the national CA; a clear error when either is not configured."""
    files = PkiFiles.from_settings(settings)
    identity = files.signing_identity()
    return WsSigning(identity.key, identity.certificate, files.trust_anchor())


def body_signing(settings: Settings) -> WsSigning | None:
    """The municipality's signing identity for connectors that sign each body they send (a
    detached JWS), whenever a signing certificate is configured; None: bodies go unsigned."""
    files = PkiFiles.from_settings(settings)
    if files.signing_cert is None or files.signing_key is None:
        return None
    identity = files.signing_identity()
    anchor = files.trust_anchor() if files.ca_cert is not None else identity.certificate
    return WsSigning(identity.key, identity.certificate, anchor)
