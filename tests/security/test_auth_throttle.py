"""Item 3 of the security review: failed authentication is throttled per client address and
per claimed partner (429 with Retry-After), summarised in the audit trail instead of one row
per attempt, and a flood of wrong keys leaves real partners answered. The attacker speaks from
127.0.0.2, the real partner from 127.0.0.1 (both loopback)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from hub.api.grants import soap_grant
from tests.integration.partner_hub import PartnerHub
from tests.integration.test_api_soap import RECORDS, envelope

LIMIT = 5
READ = "/api/v1/licences/MCT-TL-000001"


@pytest.fixture
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    root = tmp_path_factory.mktemp("throttle")
    with PartnerHub(root, auth_fail_limit=LIMIT, auth_fail_window_s=3600) as served:
        yield served


def _from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def _denials(hub: PartnerHub) -> list[str]:
    return [e.kind for e in hub.audit() if e.kind.startswith("partner.denied")]


def test_an_address_past_the_limit_gets_429_with_retry_after(hub: PartnerHub) -> None:
    with _from("127.0.0.2") as attacker:
        codes = [
            attacker.get(f"{hub.url}{READ}", headers={"X-Api-Key": f"k{n}.wrong"}).status_code
            for n in range(LIMIT + 7)
        ]
        refused = attacker.get(f"{hub.url}{READ}", headers={"X-Api-Key": "x.y"})
    assert codes == [401] * LIMIT + [429] * 7
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert _denials(hub) == ["partner.denied"] * LIMIT  # the rest wait for the summary
    _, secret = hub.partner("licences.read")
    with _from("127.0.0.1") as real:
        assert real.get(f"{hub.url}{READ}", headers={"X-Api-Key": secret}).status_code == 404


def test_guesses_at_one_partner_from_many_addresses_are_throttled_but_not_its_own(
    hub: PartnerHub,
) -> None:
    name, secret = hub.partner(soap_grant(RECORDS, "GetLicence"))
    payload = "<mr:GetLicenceRequest><mr:LicenceNo>MCT-TL-1</mr:LicenceNo></mr:GetLicenceRequest>"
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    statuses = []
    for address in ("127.0.0.3", "127.0.0.4", "127.0.0.5"):
        with _from(address) as guesser:
            for _ in range(3):
                body = envelope(payload, (name, "guess"))
                reply = guesser.post(f"{hub.url}/soap/{RECORDS}", content=body, headers=headers)
                statuses.append(reply.status_code)
    assert statuses.count(429) >= 3 and b"retry after" in reply.content
    assert reply.headers["Retry-After"]
    with _from("127.0.0.1") as own:
        body = envelope(payload, (name, secret))
        reply = own.post(f"{hub.url}/soap/{RECORDS}", content=body, headers=headers)
    assert reply.status_code == 200, reply.text


def test_denials_of_a_window_become_one_summary_entry(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("summary")
    with PartnerHub(root, auth_fail_limit=2, auth_fail_window_s=1) as hub:
        with _from("127.0.0.6") as attacker:
            for _ in range(6):
                attacker.get(f"{hub.url}{READ}", headers={"X-Api-Key": "k.wrong"})
            time.sleep(1.1)  # the 1 s window has ended: the next call closes it
            attacker.get(f"{hub.url}{READ}", headers={"X-Api-Key": "k.wrong"})
        summaries = hub.audit("partner.denied.summary")
    client = [s.detail for s in summaries if s.detail["scope"] == "client"]
    assert len(client) >= 1
    assert sum(int(s["failures"]) + int(s["throttled"]) for s in client) >= 6 - 2


def test_a_flood_of_wrong_keys_keeps_the_audit_bounded_and_real_partners_answered(
    hub: PartnerHub,
) -> None:
    """Not a timing test: real partners' latency is printed, the pass/fail is 200s and the
    number of audit rows."""
    _, secret = hub.partner("licences.read")

    def flood(worker: int) -> list[int]:
        with _from("127.0.0.2") as attacker:
            return [
                attacker.get(
                    f"{hub.url}{READ}", headers={"X-Api-Key": f"w{worker}.{n}"}
                ).status_code
                for n in range(25)
            ]

    def real() -> list[tuple[int, float]]:
        answers = []
        with _from("127.0.0.1") as partner:
            for _ in range(20):
                started = time.perf_counter()
                code = partner.get(f"{hub.url}{READ}", headers={"X-Api-Key": secret}).status_code
                answers.append((code, time.perf_counter() - started))
        return answers

    with ThreadPoolExecutor(max_workers=9) as pool:
        floods = [pool.submit(flood, worker) for worker in range(8)]
        answered = pool.submit(real).result()
        codes = [code for f in floods for code in f.result()]
    assert len(codes) == 200 and set(codes) <= {401, 429} and codes.count(429) >= 150
    assert [code for code, _ in answered] == [404] * 20  # admitted: the licence is not there
    assert len(_denials(hub)) <= LIMIT + 8  # at most the limit, and those already in flight
    latencies = [s for _, s in answered]
    print(f"real partner during the flood: median {statistics.median(latencies) * 1000:.0f} ms")
