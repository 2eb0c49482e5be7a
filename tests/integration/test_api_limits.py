"""The request time limit: a caller that stops sending mid-body is answered (a problem for
REST, a SOAP fault for SOAP) instead of holding the server, and nothing is recorded."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.integration.partner_hub import PartnerHub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    with PartnerHub(tmp_path_factory.mktemp("limits"), http_request_timeout_s=0.3) as served:
        yield served


def _stalled_request(hub: PartnerHub, path: str, content_type: str, key: str = "") -> bytes:
    """Send headers promising 100 bytes and only 10 of them; return what the server says."""
    where = urlsplit(hub.url)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: {content_type}\r\n"
        f"X-Api-Key: {key}\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((where.hostname, where.port), timeout=10) as conn:
        conn.sendall(head.encode() + b"0123456789")
        reply = b""
        for _ in range(100):  # bounded: the server closes after its answer
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply


def test_a_stalled_rest_upload_gets_a_503_problem(hub: PartnerHub) -> None:
    _, key = hub.partner("push.moci.cr-status")
    outbox = hub.outbox_count()
    reply = _stalled_request(hub, "/api/v1/push/moci/cr-status", "application/json", key)
    assert reply.startswith(b"HTTP/1.1 503")
    assert b"application/problem+json" in reply and b"urn:muscat-hub:problem:timeout" in reply
    assert hub.outbox_count() == outbox


def test_a_stalled_soap_upload_gets_a_server_fault(hub: PartnerHub) -> None:
    before = len(hub.audit())
    reply = _stalled_request(hub, "/soap/MunicipalRecords", "text/xml; charset=utf-8")
    assert reply.startswith(b"HTTP/1.1 503")
    assert b"<faultcode>soap:Server</faultcode>" in reply
    assert len(hub.audit()) == before  # the body never arrived: the caller was not looked up
