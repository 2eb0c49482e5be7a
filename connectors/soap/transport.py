"""Judge each raw SOAP reply before zeep reads it: HTTP status, well-formedness, the agency XSD.

zeep sees a reply only after it was parsed, and hides the HTTP status and Retry-After of the
failures the retry policy needs; an httpx transport sees the raw response, so the verdict is
made here and zeep only ever deserialises replies that are well-formed and valid.
"""

from __future__ import annotations

import httpx
from lxml import etree

from connectors.replies import ReplyRejected, retry_after_seconds
from hub.soap import SoapFault, XmlRejected, parse_xml, schema_errors, split_envelope


def _soap_fault_inside(content: bytes) -> bool:
    try:
        return split_envelope(parse_xml(content)).is_fault
    except (XmlRejected, SoapFault):
        return False


def judge_reply(
    status: int,
    headers: httpx.Headers,
    content: bytes,
    schema: etree.XMLSchema,
    schema_name: str = "the agency XSD",
) -> None:
    """Raise `ReplyRejected` unless zeep may read this reply to a SOAP POST.

    A SOAP fault (HTTP 500) passes, so zeep raises it with its faultcode: Client or Server.
    """
    if status == 429:
        raise ReplyRejected(
            "rate limited (HTTP 429)",
            transient=True,
            retry_after=retry_after_seconds(headers.get("retry-after")),
        )
    if status == 500 and _soap_fault_inside(content):
        return
    if status >= 500:
        raise ReplyRejected(
            f"HTTP {status} without a SOAP fault",
            transient=True,
            retry_after=retry_after_seconds(headers.get("retry-after")),
        )
    if status in (401, 403):
        raise ReplyRejected(f"authentication failed (HTTP {status})", transient=False)
    if status != 200:
        raise ReplyRejected(f"unexpected HTTP {status}", transient=False)
    try:
        message = split_envelope(parse_xml(content))
    except XmlRejected as exc:
        raise ReplyRejected(f"reply is unreadable: {exc}", transient=False) from None
    except SoapFault as exc:
        reason = f"reply is not a usable SOAP 1.1 envelope: {exc.string}"
        raise ReplyRejected(reason, transient=False) from None
    if message.is_fault:
        return
    errors = schema_errors(schema, message.payload)
    if errors:
        reason = f"reply breaks {schema_name}: {'; '.join(errors[:3])}"
        raise ReplyRejected(reason, transient=False)


class CheckedTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport; every POST reply is judged before the caller gets it."""

    def __init__(
        self,
        schema: etree.XMLSchema,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        schema_name: str = "the agency XSD",
    ) -> None:
        self._schema = schema
        self._schema_name = schema_name
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method != "POST":
            return response
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        judge_reply(
            response.status_code, response.headers, content, self._schema, self._schema_name
        )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
