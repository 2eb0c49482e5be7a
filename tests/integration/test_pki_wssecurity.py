"""WS-Security XML signatures between the hub and a SOAP agency that requires them (the ROP
simulator on loopback): signed requests answered with signed replies; a reply with a bad
signature, an unsigned one and one from a foreign CA refused as permanent agency errors; the
agency refusing unsigned, foreign-CA, expired-certificate and replayed requests, each by
its reason."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.rop import RopSimulator, connector
from hub.agencies.connector import CallContext, CallPolicy, Endpoint
from hub.errors import PermanentAgencyError
from hub.pki.authority import CertificateAuthority
from hub.pki.material import read_certificate, read_private_key
from hub.serving import LoopbackServer
from hub.soap.signature import WsSigning, sign_envelope

POLICY = CallPolicy(timeout_s=2.0, attempts=1)
CTX = CallContext(correlation_id="corr-wss", message_id="msg-wss")
KNOWN = {"plate_number": "12345", "plate_code": "AB"}


def _identity(ca: CertificateAuthority, name: str, **kwargs: Any) -> WsSigning:
    cert = ca.issue(name, "partner", **kwargs)
    return WsSigning(
        read_private_key(cert.with_name(cert.stem + "-key.pem")),
        read_certificate(cert),
        ca.certificate,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, WsSigning]:
    root = tmp_path_factory.mktemp("wss")
    ca = CertificateAuthority.create(root / "ca")
    stranger = CertificateAuthority.create(root / "stranger")
    long_ago = datetime.now(UTC) - timedelta(days=30)
    return {
        "hub": _identity(ca, "muscat-hub"),
        "rop": _identity(ca, "rop-agency"),
        "foreign": replace(_identity(stranger, "muscat-hub"), trust_anchor=ca.certificate),
        "expired": _identity(ca, "old-hub", days=1, not_before=long_ago),
    }


@pytest.fixture(scope="module")
def agency(pki: dict[str, WsSigning]) -> Iterator[tuple[RopSimulator, LoopbackServer]]:
    simulator = RopSimulator(seed=0, latency_s=0.0, stall_s=5.0)
    simulator.require_signatures(pki["rop"])
    with LoopbackServer(simulator.app) as server:
        yield simulator, server


def ask(
    agency: tuple[RopSimulator, LoopbackServer], signing: WsSigning | None
) -> Mapping[str, Any]:
    simulator, server = agency

    async def run() -> Mapping[str, Any]:
        endpoint = Endpoint(server.url, simulator.credentials, ws_signing=signing)
        client = connector.client(endpoint)
        try:
            return await client.call("vehicle_inquiry", KNOWN, CTX)
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_a_signed_request_gets_a_signed_reply(
    agency: tuple[RopSimulator, LoopbackServer], pki: dict[str, WsSigning]
) -> None:
    reply = ask(agency, pki["hub"])
    assert reply["found"] is True


@pytest.mark.parametrize(
    ("who", "reason"),
    [(None, "unsigned"), ("foreign", "wrong-ca"), ("expired", "expired-certificate")],
)
def test_the_agency_refuses_a_request_by_its_reason(
    agency: tuple[RopSimulator, LoopbackServer],
    pki: dict[str, WsSigning],
    who: str | None,
    reason: str,
) -> None:
    with pytest.raises(PermanentAgencyError, match=f"signature refused: {reason}"):
        ask(agency, pki[who] if who else None)


def test_a_replayed_request_is_refused(
    agency: tuple[RopSimulator, LoopbackServer], pki: dict[str, WsSigning]
) -> None:
    simulator, server = agency
    envelope = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/>'
        b'<soap:Body><x:Nothing xmlns:x="urn:x"/></soap:Body></soap:Envelope>'
    )
    signed = sign_envelope(envelope, pki["hub"])
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    first = httpx.post(server.url, content=signed, headers=headers, timeout=5)
    again = httpx.post(server.url, content=signed, headers=headers, timeout=5)
    assert "signature refused" not in first.text  # past the signature (then no credentials)
    assert again.status_code == 500 and "signature refused: replayed" in again.text


def test_a_reply_with_a_bad_signature_is_an_agency_error(
    agency: tuple[RopSimulator, LoopbackServer], pki: dict[str, WsSigning]
) -> None:
    simulator, _ = agency
    simulator.tamper_signed_replies = True
    try:
        with pytest.raises(PermanentAgencyError, match="reply signature refused: wrongly-signed"):
            ask(agency, pki["hub"])
    finally:
        simulator.tamper_signed_replies = False


def test_an_unsigned_reply_is_refused_where_signatures_are_required(
    pki: dict[str, WsSigning], tmp_path: Path
) -> None:
    plain = RopSimulator(seed=0, latency_s=0.0, stall_s=5.0)  # signs nothing, checks nothing
    with LoopbackServer(plain.app) as server:
        with pytest.raises(PermanentAgencyError, match="reply signature refused: unsigned"):
            ask((plain, server), pki["hub"])
        lenient = replace(pki["hub"], require_signed_replies=False)
        assert ask((plain, server), lenient)["found"] is True
