"""`hub partners add|list|revoke` through a real process, what the store keeps of a secret,
and the gate's decisions (keys, grants, the shared rate-limit window) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zeep
from zeep.exceptions import Fault
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from hub.api.gate import CallInfo, Credentials, PartnerGate, RateLimited
from hub.api.grants import ALL_GRANTS, soap_grant
from hub.api.partners import PartnerError, PartnerRegistry, SecretHasher
from hub.errors import Forbidden, Unauthorised
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from tests.e2e.harness import hub_env, run_cli
from tests.integration.partner_hub import PartnerHub

SECRET = re.compile(r"^[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$")
LICENCE = "/api/v1/licences/MCT-TL-000001"


def _add(env: dict[str, str], name: str, *grants: str) -> str:
    args = [arg for grant in grants for arg in ("--grant", grant)]
    result = run_cli(env, "partners", "add", name, *args)
    assert result.returncode == 0, result.stderr
    secret = result.stdout.rstrip("\n").splitlines()[-1]
    assert SECRET.match(secret), result.stdout
    return secret


def test_add_prints_the_secret_alone_on_its_last_line_and_keeps_only_a_hash(
    tmp_path: Path,
) -> None:
    env = hub_env(tmp_path)
    secret = _add(env, "medc", "soap.ElectricityNotifications.ConnectionCompleted")
    store = (tmp_path / "hub.sqlite3").read_bytes()
    wal = tmp_path / "hub.sqlite3-wal"
    assert secret.encode() not in store + (wal.read_bytes() if wal.exists() else b"")
    listed = {args: run_cli(env, "partners", *args) for args in (("list",), ("list", "--json"))}
    for shown in listed.values():
        assert shown.returncode == 0 and "medc" in shown.stdout
        assert secret not in shown.stdout and secret.split(".")[1] not in shown.stdout
    row = json.loads(listed[("list", "--json")].stdout.splitlines()[0])
    assert row["grants"] == ["soap.ElectricityNotifications.ConnectionCompleted"]
    assert row["revoked_at"] is None and row["key_id"] == secret.split(".")[0]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["add", "x", "--grant", "licence.read"], "did you mean 'licences.read'"),
        (["add", "bad name!", "--grant", "licences.read"], "invalid partner name"),
        (["revoke", "nobody"], "no partner named 'nobody'"),
    ],
)
def test_refusals_are_one_line_and_non_zero(tmp_path: Path, args: list[str], reason: str) -> None:
    result = run_cli(hub_env(tmp_path), "partners", *args)
    assert result.returncode == 1
    assert reason in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_name_is_never_reused(tmp_path: Path) -> None:
    env = hub_env(tmp_path)
    _add(env, "rop", "licences.read")
    again = run_cli(env, "partners", "add", "rop", "--grant", "licences.read")
    assert again.returncode == 1 and "already exists" in again.stderr


def test_the_grants_command_lists_every_grant(tmp_path: Path) -> None:
    listed = run_cli(hub_env(tmp_path), "partners", "grants")
    assert listed.returncode == 0
    for name in ALL_GRANTS:
        assert name in listed.stdout


def test_a_revoked_secret_gets_401_and_a_soap_fault_at_once(tmp_path: Path) -> None:
    env = hub_env(tmp_path)
    grants = ["licences.read", soap_grant("MunicipalRecords", "GetLicence")]
    secret = _add(env, "moci", *grants)
    with PartnerHub(tmp_path, partner_pepper=None) as hub:  # the CLI's pepper and store
        headers = {"X-Api-Key": secret}
        assert httpx.get(hub.url + LICENCE, headers=headers).status_code == 404
        soap = zeep.Client(
            f"{hub.url}/soap/MunicipalRecords?wsdl",
            wsse=UsernameToken("moci", secret),
            transport=Transport(timeout=10),
        )
        assert soap.service.GetLicence(LicenceNo="MCT-TL-000001").Found is False
        revoked = run_cli(env, "partners", "revoke", "moci")
        assert revoked.returncode == 0
        assert httpx.get(hub.url + LICENCE, headers=headers).status_code == 401
        with pytest.raises(Fault, match="authentication failed"):
            soap.service.GetLicence(LicenceNo="MCT-TL-000001")
        assert [e.detail["partner"] for e in hub.audit("partner.revoked")] == ["moci"]
    listed = json.loads(run_cli(env, "partners", "list", "--json").stdout.splitlines()[0])
    assert listed["revoked_at"] is not None


def test_the_digest_depends_on_the_pepper_and_the_whole_secret() -> None:
    key_id, secret = SecretHasher.new_secret()
    hasher = SecretHasher(b"pepper-one")
    stored = hasher.digest(secret)
    assert secret not in stored and len(stored) == 64
    assert hasher.matches(secret, stored)
    assert not hasher.matches(secret + "x", stored)
    assert not hasher.matches(secret, None)
    assert not SecretHasher(b"pepper-two").matches(secret, stored)
    assert SecretHasher.key_id_of(secret) == key_id


class Clock:
    """A clock the test moves by hand, so window edges are exact."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PartnerRegistry]:
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgres"
        else f"sqlite:///{tmp_path / 'gate.sqlite3'}"
    )
    engine = make_engine(url)
    upgrade(engine)
    yield PartnerRegistry(make_session_factory(engine), SecretHasher(b"gate-test"))
    engine.dispose()


def test_the_rate_window_is_shared_and_resets(registry: PartnerRegistry) -> None:
    _, secret = registry.add("labour", ["licences.read"], rate_limit=2)
    sessions = registry._sessions
    clock = Clock(1_000_000.0)
    # Two gates over one store stand for two uvicorn workers: one budget between them.
    gates = [
        PartnerGate(sessions, registry, rate_limit=100, window_s=60, clock=clock) for _ in range(2)
    ]
    call = CallInfo("GET /api/v1/licences/{licence_no}", "licences.read")
    credentials = Credentials("rest", secret)
    assert gates[0].admit(credentials, call) == "labour"
    assert gates[1].admit(credentials, call) == "labour"
    clock.now += 15
    with pytest.raises(RateLimited) as limited:
        gates[0].admit(credentials, call)
    assert limited.value.retry_after == 5  # the window began at 999960 and ends at 1000020
    clock.now += 5
    assert gates[1].admit(credentials, call) == "labour"


def test_the_gate_refuses_unknown_revoked_and_ungranted_callers(
    registry: PartnerRegistry,
) -> None:
    _, secret = registry.add("occi", ["parking-permits.read"])
    gate = PartnerGate(registry._sessions, registry, rate_limit=10, window_s=60)
    call = CallInfo("GET /api/v1/licences/{licence_no}", "licences.read")
    with pytest.raises(Forbidden):
        gate.admit(Credentials("rest", secret), call)
    with pytest.raises(Unauthorised):
        gate.admit(Credentials("soap", secret, "someone-else"), call)
    registry.revoke("occi")
    with pytest.raises(Unauthorised):
        gate.admit(Credentials("rest", secret), call)
    with pytest.raises(PartnerError):
        registry.revoke("nobody")
