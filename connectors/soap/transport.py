"""Judge each raw SOAP reply before the client reads it: HTTP status, well-formedness, the
agency XSD.

An httpx transport sees the raw response, with the HTTP status and Retry-After the retry policy
needs, so the verdict is made here; the envelope parsed for it travels on with the response
(`judged_reply`), so the client reads only replies that are well-formed and valid, and never
parses one twice.
"""

from __future__ import annotations

import httpx
from lxml import etree

from connectors.http_transport import AiohttpTransport
from connectors.replies import ReplyRejected, judge_status
from hub.plugin import (
    AUTHENTICATION_FAILED,
    SOAP_ENV,
    WSSE,
    SoapFault,
    SoapMessage,
    XmlRejected,
    parse_xml,
    schema_errors,
    split_envelope,
)

JUDGED_REPLY = "muscat.judged_reply"  # the response extension holding the parsed SoapMessage


def _soap_fault_inside(content: bytes) -> SoapMessage | None:
    """A reply that is a well-formed SOAP 1.1 fault, else None."""
    try:
        message = split_envelope(parse_xml(content))
    except (XmlRejected, SoapFault):
        return None
    return message if message.is_fault else None


def auth_fault(fault: etree._Element) -> bool:
    """True when a SOAP fault refuses our credentials: a WS-Security fault code (WSS 1.0
    section 12: wsse:FailedAuthentication, wsse:InvalidSecurityToken, ...), or the soap:Client
    fault the agencies' WSDLs document for a missing or wrong UsernameToken."""
    node = fault.find("faultcode")
    if node is None or not node.text:
        return False
    prefix, _, local = node.text.strip().rpartition(":")
    namespace = node.nsmap.get(prefix or None)
    if namespace == WSSE:
        return True
    string = (fault.findtext("faultstring") or "").strip()
    return namespace == SOAP_ENV and local == "Client" and string == AUTHENTICATION_FAILED


def _pass_fault(fault: etree._Element) -> None:
    """Let a SOAP fault through for the client to raise, unless it refuses our credentials."""
    if auth_fault(fault):
        code = (fault.findtext("faultcode") or "").strip()
        string = (fault.findtext("faultstring") or "").strip()
        reason = f"credentials refused (SOAP fault {code}: {string})"
        raise ReplyRejected(reason, transient=False, refusal="auth")  # the fault said, not HTTP


def judge_reply(
    status: int,
    headers: httpx.Headers,
    content: bytes,
    schema: etree.XMLSchema,
    schema_name: str = "the agency XSD",
) -> SoapMessage:
    """The parsed reply to a SOAP POST, or `ReplyRejected` when the client may not read it.

    A SOAP fault (HTTP 500) passes, so the client raises it with its faultcode: Client or
    Server; except one refusing our credentials, rejected here as such (`refusal="auth"`).
    """
    fault = _soap_fault_inside(content) if status == 500 else None
    if fault is not None:
        _pass_fault(fault.payload)
        return fault
    judge_status(status, headers, unexplained=" without a SOAP fault")
    try:
        message = split_envelope(parse_xml(content))
    except XmlRejected as exc:
        raise ReplyRejected(f"reply is unreadable: {exc}", transient=False) from None
    except SoapFault as exc:
        reason = f"reply is not a usable SOAP 1.1 envelope: {exc.string}"
        raise ReplyRejected(reason, transient=False) from None
    if message.is_fault:
        _pass_fault(message.payload)
        return message
    errors = schema_errors(schema, message.payload)
    if errors:
        reason = f"reply breaks {schema_name}: {'; '.join(errors[:3])}"
        raise ReplyRejected(reason, transient=False)
    return message


class CheckedTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport; every POST reply is judged before the caller gets it, and
    carries its parsed envelope under `JUDGED_REPLY` in the response's extensions."""

    def __init__(
        self,
        schema: etree.XMLSchema,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        schema_name: str = "the agency XSD",
    ) -> None:
        self._schema = schema
        self._schema_name = schema_name
        self._inner = inner or AiohttpTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method != "POST":
            return response
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        response.extensions[JUDGED_REPLY] = judge_reply(
            response.status_code, response.headers, content, self._schema, self._schema_name
        )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
