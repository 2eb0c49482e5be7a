"""The plugin API: everything a connector package may import from the hub, and nothing else.

A connector (an agency, a telco, a payment provider) is a separate package registered under
the entry-point group `hub.connectors`. It describes itself with `CallPolicy`, `Endpoint`
and `Operation`, answers through an `AgencyClient` that raises the errors below (their class
decides retries), and serves its simulator with the SOAP toolkit or its own ASGI app. The
import-linter contract in pyproject.toml keeps connectors to this module.
"""

from hub.agencies.connector import (
    CORRELATION_HEADER,
    FAULT_MODES,
    AgencyClient,
    CallContext,
    CallPolicy,
    Connector,
    Endpoint,
    Health,
    Operation,
    Simulator,
    stamp_correlation,
)
from hub.agencies.exchanges import record_reply, record_request
from hub.contracts.registry import schema_file_validator
from hub.errors import (
    AgencyAuthError,
    AgencyError,
    AgencyRateLimited,
    ConfigurationError,
    PermanentAgencyError,
    TransientAgencyError,
)
from hub.pki.jws import JwsRefused, sign_detached, verify_detached
from hub.soap import (
    AUTHENTICATION_FAILED,
    CONTENT_TYPE,
    SOAP_ENV,
    WSSE,
    Handler,
    SoapEndpoint,
    SoapFault,
    SoapMessage,
    XmlRejected,
    check_username_token,
    fault_response,
    hardened_parser,
    load_schema,
    parse_xml,
    publish_schema,
    publish_wsdl,
    schema_errors,
    split_envelope,
)
from hub.soap.signature import (
    ReplayGuard,
    SignatureRefused,
    WsSigning,
    sign_envelope,
    verify_envelope,
)

__all__ = [
    "AUTHENTICATION_FAILED",
    "CONTENT_TYPE",
    "CORRELATION_HEADER",
    "FAULT_MODES",
    "SOAP_ENV",
    "WSSE",
    "AgencyAuthError",
    "AgencyClient",
    "AgencyError",
    "AgencyRateLimited",
    "CallContext",
    "CallPolicy",
    "ConfigurationError",
    "Connector",
    "Endpoint",
    "Handler",
    "Health",
    "Operation",
    "PermanentAgencyError",
    "Simulator",
    "SoapEndpoint",
    "SoapFault",
    "SoapMessage",
    "TransientAgencyError",
    "XmlRejected",
    "check_username_token",
    "fault_response",
    "hardened_parser",
    "load_schema",
    "parse_xml",
    "publish_schema",
    "publish_wsdl",
    "schema_errors",
    "schema_file_validator",
    "split_envelope",
    "stamp_correlation",
    # the national PKI: the exact bytes of each exchange, for sealing (docs/PKI.md)
    "record_reply",
    "record_request",
    "ReplayGuard",
    "SignatureRefused",
    "WsSigning",
    "sign_envelope",
    "verify_envelope",
    # detached JWS over a JSON body (Invest Easy's signed decisions, docs/PARTNERS.md)
    "JwsRefused",
    "sign_detached",
    "verify_detached",
]
