"""The pipeline against a real SQLite store and a fake vehicle register (no broker)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.agencies.gateway import AgencyGateway
from hub.audit.chain import compute_hash
from hub.audit.entry import GENESIS_HASH
from hub.contracts.registry import ContractRegistry
from hub.errors import PermanentAgencyError, TransientAgencyError
from hub.flows import default_flows
from hub.pipeline import Outcome, Pipeline
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AuditEntry, Message, OutboxEvent, ParkingPermit
from tests.fakes import FakeRopConnector, FakeVehicleRegister, vehicle


@pytest.fixture
def register() -> FakeVehicleRegister:
    return FakeVehicleRegister(
        {
            ("12345", "AB"): vehicle("12345", "AB", "09123456"),
            ("4411", "R"): vehicle("4411", "R", "07654321", expiry="2025-01-31"),
        }
    )


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """The same pipeline tests on the embedded store and on PostgreSQL."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def pipeline(sessions: sessionmaker[Session], register: FakeVehicleRegister) -> Pipeline:
    contracts = ContractRegistry.load()
    connector = FakeRopConnector(register)
    gateway = AgencyGateway({"rop": connector}, {"rop": register}, contracts)
    return Pipeline(sessions, contracts, default_flows(), gateway, [60.0, 300.0])


def request(**data: Any) -> bytes:
    body = {
        "application_no": "PKA-2026-000001",
        "plate": {"number": "12345", "code": "AB"},
        "civil_id": "09123456",
        "zone": "qurum",
        "months": 3,
    } | data
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "urn:test",
            "type": "permit.parking.requested",
            "data": body,
        }
    ).encode()


def handle(pipeline: Pipeline, body: bytes):  # type: ignore[no-untyped-def]
    return asyncio.run(pipeline.handle(body))


def count(sessions: sessionmaker[Session], table: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_owner_gets_permit_with_one_result(pipeline: Pipeline, sessions) -> None:  # type: ignore[no-untyped-def]
    handled = handle(pipeline, request())
    assert handled.outcome is Outcome.DONE
    [result] = handled.emitted
    body = json.loads(result.body)
    assert result.routing_key == "permit.parking.completed"
    assert body["data"]["decision"] == "issued"
    assert body["data"]["permit_no"].startswith("MCT-PK-")
    assert body["causationid"] == handled.message_id
    with sessions() as session:
        permit = session.scalars(select(ParkingPermit)).one()
        assert permit.status == "issued" and permit.owner_name_ar == "عائشة البلوشية"
        assert session.get(Message, handled.message_id).status == "done"  # type: ignore[union-attr]


def test_same_message_twice_changes_the_record_once(pipeline: Pipeline, sessions, register) -> None:  # type: ignore[no-untyped-def]
    body = request()
    first, second = handle(pipeline, body), handle(pipeline, body)
    assert (first.outcome, second.outcome) == (Outcome.DONE, Outcome.DUPLICATE)
    assert second.emitted == []
    assert count(sessions, OutboxEvent) == 1
    assert count(sessions, ParkingPermit) == 1
    assert len(register.calls) == 1


def test_lapsed_registration_refused_with_arabic_reason(pipeline: Pipeline) -> None:
    handled = handle(pipeline, request(plate={"number": "4411", "code": "R"}, civil_id="07654321"))
    data = json.loads(handled.emitted[0].body)["data"]
    assert data["decision"] == "refused"
    assert data["reasons"][0]["code"] == "registration-lapsed"
    assert "انتهت" in data["reasons"][0]["ar"]


def test_invalid_message_is_rejected_naming_fields_and_changes_nothing(
    pipeline: Pipeline,
    sessions,
    register,  # type: ignore[no-untyped-def]
) -> None:
    body = json.loads(request(months=5))
    del body["data"]["civil_id"]
    handled = handle(pipeline, json.dumps(body).encode())
    assert handled.outcome is Outcome.REJECTED
    [answer] = handled.emitted
    assert answer.routing_key == "hub.message.rejected"
    data = json.loads(answer.body)["data"]
    assert {e["field"] for e in data["errors"]} == {"data.civil_id", "data.months"}
    assert data["reason"] == "contract"
    assert register.calls == []
    assert count(sessions, ParkingPermit) == 0
    with sessions() as session:
        assert session.get(Message, body["id"]).status == "rejected"  # type: ignore[union-attr]
    assert handle(pipeline, json.dumps(body).encode()).outcome is Outcome.DUPLICATE


def test_undecodable_body_is_rejected_under_its_digest(pipeline: Pipeline, sessions) -> None:  # type: ignore[no-untyped-def]
    handled = handle(pipeline, b"\x00garbage")
    assert handled.outcome is Outcome.REJECTED
    assert handled.message_id.startswith("sha256:")
    assert json.loads(handled.emitted[0].body)["data"]["reason"] == "envelope"


def test_unknown_type_is_rejected(pipeline: Pipeline) -> None:
    body = json.loads(request())
    body["type"] = "permit.boat.requested"
    handled = handle(pipeline, json.dumps(body).encode())
    data = json.loads(handled.emitted[0].body)["data"]
    assert (data["reason"], data["errors"][0]["field"]) == ("unknown-type", "type")


def test_transient_fault_retries_along_the_ladder_then_dies(
    pipeline: Pipeline,
    sessions,
    register,  # type: ignore[no-untyped-def]
) -> None:
    register.fail_with = TransientAgencyError("rop", "vehicle_inquiry", "503 from agency")
    body = request()
    outcomes = [handle(pipeline, body) for _ in range(3)]
    assert [h.outcome for h in outcomes] == [Outcome.RETRY, Outcome.RETRY, Outcome.DEAD]
    assert [h.retry_in_s for h in outcomes[:2]] == [60.0, 300.0]
    assert len(register.calls) == 3 * 2  # two in-process attempts per delivery
    with sessions() as session:
        row = session.get(Message, outcomes[0].message_id)
        assert row is not None and row.status == "dead" and row.attempts == 3
        assert "503" in (row.last_error or "") and row.agency == "rop"
    assert count(sessions, ParkingPermit) == 0


def test_agency_comes_back_and_retried_message_completes(pipeline: Pipeline, register) -> None:  # type: ignore[no-untyped-def]
    register.fail_with = TransientAgencyError("rop", "vehicle_inquiry", "timeout")
    body = request()
    assert handle(pipeline, body).outcome is Outcome.RETRY
    register.fail_with = None
    assert handle(pipeline, body).outcome is Outcome.DONE


def test_permanent_fault_fails_without_retry(pipeline: Pipeline, sessions, register) -> None:  # type: ignore[no-untyped-def]
    register.fail_with = PermanentAgencyError("rop", "vehicle_inquiry", "SOAP Client fault")
    handled = handle(pipeline, request())
    assert handled.outcome is Outcome.FAILED and handled.retry_in_s is None
    assert len(register.calls) == 1


def test_contract_breaking_reply_is_never_stored(pipeline: Pipeline, sessions, register) -> None:  # type: ignore[no-untyped-def]
    register.reply_override = {"found": True, "vehicle": {"plate_number": "12345"}}
    handled = handle(pipeline, request())
    assert handled.outcome is Outcome.FAILED
    assert count(sessions, ParkingPermit) == 0
    with sessions() as session:
        assert "breaks contract" in (session.get(Message, handled.message_id).last_error or "")  # type: ignore[union-attr]


def test_audit_entries_form_one_chain(pipeline: Pipeline, sessions) -> None:  # type: ignore[no-untyped-def]
    handle(pipeline, request())
    handle(pipeline, request(application_no="PKA-2026-000002"))
    with sessions() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    kinds = [e.kind for e in entries]
    assert {
        "message.received",
        "message.validated",
        "agency.call",
        "record.changed",
        "result.queued",
        "message.done",
    } <= set(kinds)
    previous = GENESIS_HASH
    for expected_seq, entry in enumerate(entries, start=1):
        assert entry.seq == expected_seq
        assert entry.prev_hash == previous
        assert entry.entry_hash == compute_hash(entry)
        previous = entry.entry_hash
    call = next(e for e in entries if e.kind == "agency.call")
    assert call.detail["request_digest"].startswith("sha256:")
    assert call.detail["outcome"] == "ok" and call.detail["attempt"] == 1


def test_open_circuit_sends_work_to_the_ladder_without_calling(
    pipeline: Pipeline, sessions: sessionmaker[Session], register: FakeVehicleRegister
) -> None:
    breaker = pipeline._gateway.breakers["rop"]
    breaker.open()
    handled = handle(pipeline, request())
    # Waiting on an open circuit uses no step of the ladder: back when a trial call may go.
    assert handled.outcome is Outcome.RETRY and 1.0 <= (handled.retry_in_s or 0) <= 30.0
    assert register.calls == []
    with sessions() as session:
        row = session.get(Message, handled.message_id)
        assert row is not None and row.status == "retrying" and row.attempts == 0
        assert "circuit open" in (row.last_error or "")
