"""WS-Security on the way out and in: each request's envelope with its UsernameToken (and, for
agencies that require signed messages, an XML signature over the Body and a Timestamp); each
reply's signature checked (a bad or missing one is an agency error, never retried).

The UsernameToken is zeep's own (`zeep.wsse.username.UsernameToken`), rendered once per
endpoint: with a password in text, as the agencies ask, it holds nothing that changes per
call. The signature, its Timestamp and its ids are made fresh per request by `sign_envelope`.
"""

from __future__ import annotations

from copy import deepcopy

from lxml import etree
from zeep.wsse.username import UsernameToken

from connectors.replies import ReplyRejected
from hub.plugin import SOAP_ENV, WSSE, SignatureRefused, WsSigning, sign_envelope, verify_envelope

ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
HEADER = f"{{{SOAP_ENV}}}Header"
BODY = f"{{{SOAP_ENV}}}Body"


def username_token_header(username: str, password: str) -> etree._Element:
    """The wsse:Security header block exactly as zeep's UsernameToken renders it."""
    envelope = etree.Element(ENVELOPE, nsmap={"soap-env": SOAP_ENV})
    etree.SubElement(envelope, HEADER)
    etree.SubElement(envelope, BODY)
    token = UsernameToken(username, password)  # type: ignore[no-untyped-call]
    token.apply(envelope, {})  # type: ignore[no-untyped-call]
    security = envelope.find(f"{HEADER}/{{{WSSE}}}Security")
    if security is None:  # zeep always adds it; a changed zeep should fail loudly here
        raise RuntimeError("zeep's UsernameToken added no wsse:Security header")
    return security


class WsSecurity:
    """One endpoint's WS-Security: `envelope` for each request, `check_reply` for each reply."""

    def __init__(self, username: str, password: str, signing: WsSigning | None) -> None:
        self._security = username_token_header(username, password)
        self._signing = signing

    def envelope(self, payload: etree._Element) -> bytes:
        """The SOAP 1.1 request carrying `payload`, with the token, signed when required."""
        envelope = etree.Element(ENVELOPE, nsmap={"soap-env": SOAP_ENV})
        etree.SubElement(envelope, HEADER).append(deepcopy(self._security))
        etree.SubElement(envelope, BODY).append(payload)
        content = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        if self._signing is None:
            return bytes(content)
        return sign_envelope(content, self._signing)

    def check_reply(self, content: bytes, is_fault: bool) -> None:
        """For a signing endpoint: the reply's signature must hold (an unsigned fault, or an
        unsigned reply where the endpoint allows it, passes); `ReplyRejected` otherwise."""
        if self._signing is None:
            return
        try:
            verify_envelope(content, self._signing.trust_anchor, max_age_s=self._signing.max_age_s)
        except SignatureRefused as exc:
            if exc.reason == "unsigned" and (is_fault or not self._signing.require_signed_replies):
                return  # a fault is judged by its code; an unsigned reply where allowed
            raise ReplyRejected(f"reply signature refused: {exc}", transient=False) from None
