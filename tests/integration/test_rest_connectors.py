"""The MOCI, OCCI and labour clients against their simulators on loopback: what is particular
to each (OAuth tokens, API key, HTTP Basic, not-found), beyond the conformance suite."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator, Mapping
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors import world
from connectors.labour import connector as labour_connector
from connectors.labour.simulator import LabourSimulator
from connectors.moci import connector as moci_connector
from connectors.moci.auth import ClientCredentials
from connectors.moci.client import MociClient
from connectors.moci.simulator import MociSimulator
from connectors.occi import connector as occi_connector
from connectors.occi.simulator import OcciSimulator
from connectors.replies import agency_error
from connectors.rest.client import AgencySchemas, ReplyRejected
from hub.agencies.connector import CallContext, CallPolicy, Connector, Endpoint
from hub.errors import (
    AgencyAuthError,
    AgencyRateLimited,
    ConfigurationError,
    PermanentAgencyError,
    TransientAgencyError,
)
from hub.serving import LoopbackServer

POLICY = CallPolicy(timeout_s=0.5, attempts=1)
CTX = CallContext("case-rest", "msg-rest")
EXAMPLE = {"cr_no": world.EXAMPLE_CR}
UNKNOWN = {"cr_no": world.unknown_cr_numbers(1)[0]}


@pytest.fixture(scope="module")
def moci() -> Iterator[tuple[MociSimulator, LoopbackServer]]:
    sim = MociSimulator(latency_s=0.1, stall_s=5.0)
    with LoopbackServer(sim.app) as server:
        yield sim, server


@pytest.fixture(scope="module")
def occi() -> Iterator[tuple[OcciSimulator, LoopbackServer]]:
    sim = OcciSimulator(latency_s=0.1, stall_s=5.0)
    with LoopbackServer(sim.app) as server:
        yield sim, server


@pytest.fixture(scope="module")
def labour() -> Iterator[tuple[LabourSimulator, LoopbackServer]]:
    sim = LabourSimulator(latency_s=0.1, stall_s=5.0)
    with LoopbackServer(sim.app) as server:
        yield sim, server


def run(work: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(work())


def ask_moci(
    url: str, credentials: Mapping[str, str], *requests: Mapping[str, Any]
) -> tuple[list[Mapping[str, Any]], MociClient]:
    """Several registrations through one client (closed after), and the client to inspect."""
    client = moci_connector.with_policy(POLICY).client(Endpoint(url, credentials))

    async def work() -> list[Mapping[str, Any]]:
        try:
            return [await client.call("commercial_registration", r, CTX) for r in requests]
        finally:
            await client.aclose()

    return run(work), client


def test_moci_fetches_one_token_and_reuses_it(moci: tuple[MociSimulator, LoopbackServer]) -> None:
    sim, server = moci
    issued = sim.tokens_issued
    replies, client = ask_moci(server.url, sim.credentials, EXAMPLE, EXAMPLE, UNKNOWN)
    assert [r["found"] for r in replies] == [True, True, False]
    assert client.auth.fetches == 1 and sim.tokens_issued == issued + 1


def test_moci_fetches_a_new_token_once_after_a_401(
    moci: tuple[MociSimulator, LoopbackServer],
) -> None:
    sim, server = moci
    client = moci_connector.with_policy(POLICY).client(Endpoint(server.url, sim.credentials))

    async def work() -> Mapping[str, Any]:
        try:
            await client.call("commercial_registration", EXAMPLE, CTX)
            sim.revoke_tokens()  # the agency rotated its keys
            return await client.call("commercial_registration", EXAMPLE, CTX)
        finally:
            await client.aclose()

    assert run(work)["registration"]["name_ar"] == "شركة النور للتجارة ش.م.م"
    assert client.auth.fetches == 2


def test_moci_gives_up_when_a_fresh_token_is_refused_too(
    moci: tuple[MociSimulator, LoopbackServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, server = moci
    monkeypatch.setattr(sim, "authorised", lambda request: False)
    with pytest.raises(AgencyAuthError, match="credentials refused") as caught:
        ask_moci(server.url, sim.credentials, EXAMPLE)
    assert caught.value.http_status == 401


def test_moci_renews_the_token_shortly_before_it_expires(
    moci: tuple[MociSimulator, LoopbackServer],
) -> None:
    sim, server = moci
    now = [1000.0]
    auth = ClientCredentials(
        f"{server.url}/oauth/token",
        sim.credentials["client_id"],
        sim.credentials["client_secret"],
        AgencySchemas("moci"),
        timeout_s=1.0,
        clock=lambda: now[0],
    )

    async def work() -> list[str]:
        try:
            first = await auth.token()
            now[0] += sim.token_ttl_s - 31  # still comfortably valid
            second = await auth.token()
            now[0] += 2  # within the last 30 s of its life: renew now
            return [first, second, await auth.token()]
        finally:
            await auth.aclose()

    first, second, third = run(work)
    assert first == second != third
    assert auth.fetches == 2


def test_moci_refused_client_credentials_are_permanent(
    moci: tuple[MociSimulator, LoopbackServer],
) -> None:
    sim, server = moci
    wrong = dict(sim.credentials) | {"client_secret": "guess"}
    with pytest.raises(AgencyAuthError, match="HTTP 401") as caught:
        ask_moci(server.url, wrong, EXAMPLE)
    assert caught.value.http_status == 401 and not isinstance(caught.value, TransientAgencyError)


def test_moci_token_endpoint_down_is_transient(moci: tuple[MociSimulator, LoopbackServer]) -> None:
    sim, server = moci
    sim.set_fault("outage")
    try:
        with pytest.raises(TransientAgencyError, match="503") as caught:
            ask_moci(server.url, sim.credentials, EXAMPLE)
    finally:
        sim.set_fault("none")
    assert not isinstance(caught.value, AgencyRateLimited)  # no Retry-After: an outage


def test_moci_rate_limited_at_the_token_endpoint_or_the_api(
    moci: tuple[MociSimulator, LoopbackServer],
) -> None:
    """Both halves of the OAuth exchange say "slow down" the same way."""
    sim, server = moci
    client = moci_connector.with_policy(POLICY).client(Endpoint(server.url, sim.credentials))
    caught: list[AgencyRateLimited] = []

    async def work() -> None:
        try:
            for has_token in (False, True):
                sim.set_fault("rate-limit")
                try:
                    await client.call("commercial_registration", EXAMPLE, CTX)
                except AgencyRateLimited as exc:
                    caught.append(exc)
                sim.set_fault("none")
                if not has_token:  # now fetch a token, so the next 429 comes from the API
                    await client.call("commercial_registration", EXAMPLE, CTX)
        finally:
            sim.set_fault("none")
            await client.aclose()

    run(work)
    assert [(e.http_status, e.retry_after) for e in caught] == [(429, 1.0), (429, 1.0)]
    assert client.auth.fetches == 1  # the second 429 came from the API, with a cached token


def test_moci_token_reply_is_checked_against_its_schema() -> None:
    """A token endpoint answering 200 without a usable token is refused, not cached."""

    async def careless(request: Request) -> JSONResponse:
        return JSONResponse({"access_token": "short", "token_type": "mac"})

    app = Starlette(routes=[Route("/oauth/token", careless, methods=["POST"])])
    with LoopbackServer(app) as server:
        auth = ClientCredentials(
            f"{server.url}/oauth/token", "a", "b", AgencySchemas("moci"), timeout_s=1.0
        )

        async def work() -> str:
            try:
                return await auth.token()
            finally:
                await auth.aclose()

        with pytest.raises(ReplyRejected, match="token.schema.json") as caught:
            run(work)
    assert not caught.value.transient and auth.fetches == 0


def test_missing_credentials_are_a_configuration_error() -> None:
    endpoint = Endpoint("http://127.0.0.1:9", {})
    for connector in (moci_connector, occi_connector, labour_connector):
        with pytest.raises(ConfigurationError, match="credential"):
            connector.client(endpoint)


def test_a_404_that_is_not_the_agencys_answer_is_permanent(
    occi: tuple[OcciSimulator, LoopbackServer],
) -> None:
    sim, server = occi
    client = occi_connector.with_policy(POLICY).client(
        Endpoint(f"{server.url}/wrong-prefix", sim.credentials)
    )

    async def work() -> Mapping[str, Any]:
        try:
            return await client.call("chamber_membership", EXAMPLE, CTX)
        finally:
            await client.aclose()

    with pytest.raises(PermanentAgencyError, match="not JSON|breaks"):
        run(work)


def occi_membership(server: LoopbackServer, sim: OcciSimulator, cr_no: str) -> Mapping[str, Any]:
    client = occi_connector.with_policy(POLICY).client(Endpoint(server.url, sim.credentials))

    async def work() -> Mapping[str, Any]:
        try:
            return await client.call("chamber_membership", {"cr_no": cr_no}, CTX)
        finally:
            await client.aclose()

    return run(work)


def test_occi_tells_lapsed_and_absent_memberships(
    occi: tuple[OcciSimulator, LoopbackServer],
) -> None:
    sim, server = occi
    [lapsed, *_] = world.with_weakness("occi-lapsed")
    [absent, *_] = world.with_weakness("occi-none")
    reply = occi_membership(server, sim, lapsed.cr_no)
    assert reply["membership"]["valid_until"] == str(lapsed.occi_valid_until)
    assert reply["membership"]["grade_name_ar"].startswith("الدرجة")
    assert occi_membership(server, sim, absent.cr_no) == {"found": False}
    assert occi_membership(server, sim, UNKNOWN["cr_no"]) == {"found": False}


def test_labour_reports_a_withheld_clearance_with_its_reason(
    labour: tuple[LabourSimulator, LoopbackServer],
) -> None:
    sim, server = labour
    withheld = world.with_weakness("no-clearance")
    client = labour_connector.with_policy(POLICY).client(Endpoint(server.url, sim.credentials))

    async def work() -> list[Mapping[str, Any]]:
        try:
            return [await client.call("labour_standing", {"cr_no": e.cr_no}, CTX) for e in withheld]
        finally:
            await client.aclose()

    for e, reply in zip(withheld, run(work), strict=True):
        standing = reply["standing"]
        assert standing["clearance"] is False
        assert (standing["clearance_reason_en"], standing["clearance_reason_ar"]) == (
            e.clearance_reason_en,
            e.clearance_reason_ar,
        )
        assert standing["omanisation_ratio"] == e.omanisation_ratio


def test_the_three_agencies_agree_on_an_establishment(
    moci: tuple[MociSimulator, LoopbackServer],
    occi: tuple[OcciSimulator, LoopbackServer],
    labour: tuple[LabourSimulator, LoopbackServer],
) -> None:
    [registration], _ = ask_moci(moci[1].url, moci[0].credentials, EXAMPLE)
    membership = occi_membership(occi[1], occi[0], world.EXAMPLE_CR)
    client = labour_connector.with_policy(POLICY).client(
        Endpoint(labour[1].url, labour[0].credentials)
    )

    async def work() -> Mapping[str, Any]:
        try:
            return await client.call("labour_standing", EXAMPLE, CTX)
        finally:
            await client.aclose()

    standing = run(work)
    names = {
        (registration["registration"]["name_en"], registration["registration"]["name_ar"]),
        (membership["membership"]["name_en"], membership["membership"]["name_ar"]),
        (standing["standing"]["name_en"], standing["standing"]["name_ar"]),
    }
    assert names == {("Al Noor Trading LLC", "شركة النور للتجارة ش.م.م")}


RestAgency = tuple[Connector, Any, LoopbackServer, str]


@pytest.fixture(params=["moci", "occi", "labour"])
def rest_agency(
    request: pytest.FixtureRequest,
    moci: tuple[MociSimulator, LoopbackServer],
    occi: tuple[OcciSimulator, LoopbackServer],
    labour: tuple[LabourSimulator, LoopbackServer],
) -> Iterator[RestAgency]:
    """Each REST agency with its own way to authenticate (OAuth 2.0, API key, HTTP Basic):
    its connector, simulator, server and operation; the fault is cleared afterwards."""
    agencies: dict[str, RestAgency] = {
        "moci": (moci_connector.with_policy(POLICY), *moci, "commercial_registration"),
        "occi": (occi_connector.with_policy(POLICY), *occi, "chamber_membership"),
        "labour": (labour_connector.with_policy(POLICY), *labour, "labour_standing"),
    }
    agency = agencies[request.param]
    try:
        yield agency
    finally:
        agency[1].set_fault("none")


def call_agency(agency: RestAgency, credentials: Mapping[str, str] | None = None) -> Any:
    connector, sim, server, operation = agency
    sent = sim.credentials if credentials is None else credentials
    client = connector.client(Endpoint(server.url, sent))

    async def work() -> Mapping[str, Any]:
        try:
            return await client.call(operation, EXAMPLE, CTX)
        finally:
            await client.aclose()

    return run(work)


def test_refused_credentials_raise_the_auth_class(rest_agency: RestAgency) -> None:
    wrong = {key: f"wrong-{value}" for key, value in rest_agency[1].credentials.items()}
    with pytest.raises(AgencyAuthError) as caught:
        call_agency(rest_agency, wrong)
    assert isinstance(caught.value, PermanentAgencyError)
    assert not isinstance(caught.value, TransientAgencyError)
    assert caught.value.http_status == 401 and caught.value.agency == rest_agency[0].name


def test_a_429_raises_the_rate_limit_class_with_retry_after(rest_agency: RestAgency) -> None:
    rest_agency[1].set_fault("rate-limit")
    with pytest.raises(AgencyRateLimited) as caught:
        call_agency(rest_agency)
    assert isinstance(caught.value, TransientAgencyError)
    assert (caught.value.http_status, caught.value.retry_after) == (429, 1.0)


def test_a_503_with_retry_after_is_a_rate_limit_and_without_it_an_outage(
    rest_agency: RestAgency, monkeypatch: pytest.MonkeyPatch
) -> None:
    """503 with Retry-After is the agency saying when to come back (maintenance, shedding
    load); a bare 503 says nothing, so it stays a plain transient error."""
    sim = rest_agency[1]
    sim.set_fault("outage")
    with pytest.raises(TransientAgencyError) as bare:
        call_agency(rest_agency)
    assert not isinstance(bare.value, AgencyRateLimited) and bare.value.retry_after is None
    monkeypatch.setattr(
        sim, "unavailable", lambda: Response(status_code=503, headers={"Retry-After": "2"})
    )
    with pytest.raises(AgencyRateLimited, match="HTTP 503") as told:
        call_agency(rest_agency)
    assert (told.value.http_status, told.value.retry_after) == (503, 2.0)


@pytest.mark.parametrize(("status", "auth"), [(403, True), (400, False)])
def test_a_403_is_refused_credentials_and_a_400_is_not(status: int, auth: bool) -> None:
    async def answer(request: Request) -> JSONResponse:
        return JSONResponse({"message": "no"}, status_code=status)

    app = Starlette(routes=[Route("/{path:path}", answer)])
    with LoopbackServer(app) as server:
        client = occi_connector.with_policy(POLICY).client(Endpoint(server.url, {"api_key": "k"}))

        async def work() -> Mapping[str, Any]:
            try:
                return await client.call("chamber_membership", EXAMPLE, CTX)
            finally:
                await client.aclose()

        with pytest.raises(PermanentAgencyError, match=f"HTTP {status}") as caught:
            run(work)
    assert isinstance(caught.value, AgencyAuthError) is auth
    assert not isinstance(caught.value, TransientAgencyError)


@pytest.mark.parametrize(
    ("rejected", "kind"),
    [
        (ReplyRejected("r", transient=False, refusal="auth", status=403), AgencyAuthError),
        (ReplyRejected("r", transient=True, refusal="rate-limit", status=429), AgencyRateLimited),
        (ReplyRejected("r", transient=True, refusal="auth"), TransientAgencyError),
        (ReplyRejected("r", transient=False, refusal="rate-limit"), PermanentAgencyError),
        (ReplyRejected("r", transient=True, retry_after=3.0), TransientAgencyError),
        (ReplyRejected("r", transient=False), PermanentAgencyError),
    ],
)
def test_saying_why_never_changes_whether_to_retry(rejected: ReplyRejected, kind: type) -> None:
    """`transient` alone picks the base class; a refusal only picks a subclass of it."""
    error = agency_error("occi", "chamber_membership", rejected)
    assert type(error) is kind
    assert isinstance(error, TransientAgencyError) is rejected.transient
    if isinstance(error, TransientAgencyError):
        assert error.retry_after == rejected.retry_after
