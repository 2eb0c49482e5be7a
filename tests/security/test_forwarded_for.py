"""Item 9 of the security review: `X-Forwarded-For` names the client only when the connection
comes from a configured proxy (HUB_TRUSTED_PROXIES); from anyone else it is ignored, so a
caller cannot choose the address it is audited and throttled under."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.partner_hub import PartnerHub

READ = "/api/v1/licences/MCT-TL-000001"


def _from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def _clients(hub: PartnerHub, partner: str) -> list[object]:
    return [e.detail.get("client") for e in hub.audit("partner.call", partner=partner)]


@pytest.fixture
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    with PartnerHub(tmp_path_factory.mktemp("xff-bare"), auth_fail_limit=3) as served:
        yield served


@pytest.fixture
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    root = tmp_path_factory.mktemp("xff-proxied")
    with PartnerHub(root, trusted_proxies="127.0.0.1, 10.1.0.0/16") as served:
        yield served


def test_without_trusted_proxies_the_header_is_ignored(bare: PartnerHub) -> None:
    name, secret = bare.partner("licences.read")
    with _from("127.0.0.1") as caller:
        reply = caller.get(
            f"{bare.url}{READ}", headers={"X-Api-Key": secret, "X-Forwarded-For": "10.9.9.9"}
        )
    assert reply.status_code == 404
    assert _clients(bare, name) == ["127.0.0.1"]


def test_a_rotating_header_does_not_escape_the_failed_auth_throttle(bare: PartnerHub) -> None:
    with _from("127.0.0.1") as attacker:
        codes = [
            attacker.get(
                f"{bare.url}{READ}",
                headers={"X-Api-Key": f"k{n}.wrong", "X-Forwarded-For": f"10.0.0.{n}"},
            ).status_code
            for n in range(6)
        ]
    assert codes == [401] * 3 + [429] * 3


def test_a_configured_proxy_names_the_client(proxied: PartnerHub) -> None:
    name, secret = proxied.partner("licences.read")
    headers = {"X-Api-Key": secret, "X-Forwarded-For": "10.9.9.9"}
    with _from("127.0.0.1") as proxy:
        assert proxy.get(f"{proxied.url}{READ}", headers=headers).status_code == 404
    with _from("127.0.0.2") as stranger:
        assert stranger.get(f"{proxied.url}{READ}", headers=headers).status_code == 404
    assert _clients(proxied, name) == ["10.9.9.9", "127.0.0.2"]


def test_a_proxy_list_that_is_not_addresses_is_a_configuration_error() -> None:
    from hub.config import load_settings
    from hub.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="trusted_proxies"):
        load_settings(trusted_proxies="10.0.0.1, proxy.example")
