"""zeep's WS-Security hook for agencies that require signed messages: the UsernameToken,
then an XML signature over the Body and a Timestamp on the way out; the reply's signature
checked on the way in (a bad or missing one is an agency error, never retried)."""

from __future__ import annotations

from typing import Any

from lxml import etree
from zeep.wsse.username import UsernameToken

from connectors.replies import ReplyRejected
from hub.plugin import SOAP_ENV, SignatureRefused, WsSigning, sign_envelope, verify_envelope


class SignedUsernameToken:
    """A zeep `wsse` object: `apply` to each request, `verify` each reply."""

    def __init__(self, username: str, password: str, signing: WsSigning) -> None:
        self._token = UsernameToken(username, password)  # type: ignore[no-untyped-call]
        self._signing = signing

    def apply(self, envelope: etree._Element, headers: dict[str, Any]) -> tuple[Any, Any]:
        envelope, headers = self._token.apply(envelope, headers)  # type: ignore[no-untyped-call]
        signed = sign_envelope(etree.tostring(envelope), self._signing)
        return etree.fromstring(signed), headers

    def verify(self, envelope: etree._Element) -> None:
        is_fault = envelope.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault") is not None
        try:
            verify_envelope(
                etree.tostring(envelope),
                self._signing.trust_anchor,
                max_age_s=self._signing.max_age_s,
            )
        except SignatureRefused as exc:
            if exc.reason == "unsigned" and (is_fault or not self._signing.require_signed_replies):
                return  # a fault is judged by its code; an unsigned reply where allowed
            raise ReplyRejected(f"reply signature refused: {exc}", transient=False) from None
