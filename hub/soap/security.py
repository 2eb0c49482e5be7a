"""WS-Security UsernameToken: who is calling, and is it who we expect.

Reading the token and checking it are separate so that an endpoint which stores only password
hashes (the hub's partners) can read the token and verify it its own way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from lxml import etree

from hub.soap.envelope import WSSE, WSU, SoapFault

PASSWORD_DIGEST = "#PasswordDigest"
AUTHENTICATION_FAILED = "authentication failed"
DIGEST_NOT_SUPPORTED = (
    "authentication failed: PasswordDigest is not supported (the hub keeps only a hash of "
    "the secret); send the password as PasswordText over TLS"
)


@dataclass(frozen=True)
class UsernameToken:
    """The credentials a SOAP request carried; `password` is the text or the digest as sent."""

    username: str
    password: str
    digest: bool = False
    nonce: bytes = b""
    created: str = ""

    def matches(self, username: str, password: str) -> bool:
        """True when the token proves knowledge of `password` for `username`, in either form."""
        if not hmac.compare_digest(self.username.encode(), username.encode()):
            return False
        if not self.digest:
            return hmac.compare_digest(self.password.encode(), password.encode())
        expected = hashlib.sha1(self.nonce + self.created.encode() + password.encode()).digest()
        return hmac.compare_digest(base64.b64encode(expected), self.password.encode())


def read_username_token(header: etree._Element | None) -> UsernameToken:
    """The UsernameToken of a SOAP Header; a missing or incomplete one is a soap:Client fault.

    The fault never says which part was wrong, so it tells a guesser nothing.
    """
    token = None
    if header is not None:
        token = header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        raise SoapFault.client(AUTHENTICATION_FAILED)
    username = token.findtext(f"{{{WSSE}}}Username")
    password_node = token.find(f"{{{WSSE}}}Password")
    if not username or password_node is None or password_node.text is None:
        raise SoapFault.client(AUTHENTICATION_FAILED)
    digest = password_node.get("Type", "").endswith(PASSWORD_DIGEST)
    nonce = b""
    if digest:
        try:
            nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "", validate=True)
        except binascii.Error:
            raise SoapFault.client(AUTHENTICATION_FAILED) from None
    return UsernameToken(
        username=username.strip(),
        password=password_node.text.strip(),
        digest=digest,
        nonce=nonce,
        created=(token.findtext(f"{{{WSU}}}Created") or "").strip(),
    )


def check_username_token(header: etree._Element | None, username: str, password: str) -> str:
    """The caller's user name when its UsernameToken matches the expected credentials."""
    token = read_username_token(header)
    if not token.matches(username, password):
        raise SoapFault.client(AUTHENTICATION_FAILED)
    return token.username
