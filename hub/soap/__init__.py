"""A small server-side SOAP 1.1 toolkit: hardened parsing, envelopes and faults,
WS-Security UsernameToken checks, XSD checks of payloads, WSDL publishing, a Starlette endpoint.

Shared by the agency simulators and the hub's own SOAP endpoints; it knows no agency.
"""

from hub.soap.endpoint import (
    Authenticator,
    BodyTooLarge,
    Handler,
    SoapEndpoint,
    fault_response,
    read_body,
    reply_response,
)
from hub.soap.envelope import (
    CONTENT_TYPE,
    SOAP_ENV,
    WSSE,
    WSSE_SECURITY,
    WSU,
    SoapFault,
    SoapMessage,
    XmlRejected,
    fault_envelope,
    hardened_parser,
    parse_xml,
    read_envelope,
    reply_envelope,
    split_envelope,
)
from hub.soap.schema import load_schema, schema_errors
from hub.soap.security import (
    AUTHENTICATION_FAILED,
    DIGEST_NOT_SUPPORTED,
    UsernameToken,
    check_username_token,
    read_username_token,
)
from hub.soap.wsdl import publish_schema, publish_wsdl, soap_actions

__all__ = [
    "AUTHENTICATION_FAILED",
    "DIGEST_NOT_SUPPORTED",
    "CONTENT_TYPE",
    "SOAP_ENV",
    "WSSE",
    "WSSE_SECURITY",
    "WSU",
    "Authenticator",
    "BodyTooLarge",
    "Handler",
    "SoapEndpoint",
    "SoapFault",
    "SoapMessage",
    "UsernameToken",
    "XmlRejected",
    "check_username_token",
    "fault_envelope",
    "fault_response",
    "hardened_parser",
    "load_schema",
    "parse_xml",
    "publish_schema",
    "publish_wsdl",
    "soap_actions",
    "read_body",
    "read_envelope",
    "read_username_token",
    "reply_envelope",
    "reply_response",
    "schema_errors",
    "split_envelope",
]
