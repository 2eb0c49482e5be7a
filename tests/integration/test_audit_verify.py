"""`verify_store` on a real trail (messages through the pipeline) in SQLite and PostgreSQL,
after tampering with raw SQL the way someone with database access but without the key could."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import JSON, Engine, bindparam, text

from hub.agencies.gateway import AgencyGateway
from hub.audit.chain import AuditDraft, append_entries
from hub.audit.checkpoint import CheckpointSigner
from hub.audit.entry import StoredEntry
from hub.audit.findings import ProblemKind, VerifyResult
from hub.audit.journal import CheckpointJournal
from hub.audit.keys import existing_signing_key
from hub.audit.sealing import Checkpointer
from hub.audit.verify import verify_chain, verify_store
from hub.config import Settings
from hub.contracts.registry import ContractRegistry
from hub.flows import default_flows
from hub.pipeline import Pipeline
from hub.store.engine import WRITE_INTENT, make_engine, make_session_factory
from hub.store.migrate import upgrade
from tests.fakes import FakeRopConnector, FakeVehicleRegister, vehicle

TARGET = 10  # the entry tampered with: well inside the trail, with checkpoints on both sides


@dataclass
class Trail:
    settings: Settings
    engine: Engine

    def sql(self, statement: str, **params: Any) -> None:
        query = text(statement)
        if "detail" in params:
            query = query.bindparams(bindparam("detail", type_=JSON))
        with self.engine.begin() as conn:
            conn.execute(query, params)

    def rows(self) -> list[StoredEntry]:
        with self.engine.connect() as conn:
            result = conn.execute(
                text(
                    "SELECT seq, recorded_at, correlationid, message_id, kind, actor, detail,"
                    " prev_hash, entry_hash FROM audit_entries ORDER BY seq"
                ).columns(detail=JSON)
            )
            return [StoredEntry(*row) for row in result]

    def checkpoint_seqs(self) -> list[int]:
        with self.engine.connect() as conn:
            return list(conn.scalars(text("SELECT seq FROM audit_checkpoints ORDER BY seq")))

    def next_checkpoint(self, seq: int) -> int:
        return min(cp for cp in self.checkpoint_seqs() if cp >= seq)


def parking_request(number: int, **data: Any) -> bytes:
    body = {
        "application_no": f"PKA-2026-{number:06d}",
        "plate": {"number": "12345", "code": "AB"},
        "civil_id": "09123456",
        "zone": "qurum",
        "months": 3,
    } | data
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:test"}
    return json.dumps(event | {"type": "permit.parking.requested", "data": body}).encode()


@pytest.fixture(params=["sqlite", "postgres"])
def trail(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trail]:
    """Six cases (five issued, one rejected) through the pipeline, checkpointed every 5."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = Settings(data_dir=tmp_path, database_url=url, audit_checkpoint_every=5)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    register = FakeVehicleRegister({("12345", "AB"): vehicle("12345", "AB", "09123456")})
    contracts = ContractRegistry.load()
    gateway = AgencyGateway({"rop": FakeRopConnector(register)}, {"rop": register}, contracts)
    pipeline = Pipeline(
        sessions,
        contracts,
        default_flows(),
        gateway,
        [60.0],
        sealer=Checkpointer.from_settings(settings),
    )
    for number in range(5):
        asyncio.run(pipeline.handle(parking_request(number)))
    asyncio.run(pipeline.handle(parking_request(9, months=99)))
    yield Trail(settings, engine)
    engine.dispose()


def first_problem(trail: Trail) -> tuple[int, ProblemKind, str]:
    result = verify_store(trail.settings)
    assert not result.ok and result.first is not None
    return result.first.seq, result.first.kind, result.first.detail


def test_untouched_trail_verifies(trail: Trail) -> None:
    result: VerifyResult = verify_store(trail.settings)
    assert result.ok, result.problems
    assert result.entries == len(trail.rows()) > 30
    assert result.checkpoints == result.external_checkpoints == len(trail.checkpoint_seqs()) >= 5
    assert result.unmirrored == 0


def test_edited_detail_is_named(trail: Trail) -> None:
    trail.sql("UPDATE audit_entries SET detail = :detail WHERE seq = :seq", seq=TARGET, detail={})
    assert first_problem(trail)[:2] == (TARGET, ProblemKind.EDITED)


def test_deleted_entry_is_named(trail: Trail) -> None:
    trail.sql("DELETE FROM audit_entries WHERE seq = :seq", seq=TARGET)
    seq, kind, detail = first_problem(trail)
    assert (seq, kind) == (TARGET, ProblemKind.DELETED)
    assert f"jumps from seq {TARGET - 1} to seq {TARGET + 1}" in detail


def test_inserted_entry_is_named(trail: Trail) -> None:
    before = trail.rows()[TARGET - 2]
    trail.sql("UPDATE audit_entries SET seq = -seq WHERE seq >= :seq", seq=TARGET)
    trail.sql("UPDATE audit_entries SET seq = 1 - seq WHERE seq < 0")
    fake = before._replace(seq=TARGET, kind="record.changed", prev_hash=before.entry_hash)
    fake = fake._replace(detail={"permit_no": "MCT-PK-FORGED"}, entry_hash="")
    fake = fake._replace(entry_hash=fake.hash_as(TARGET))
    trail.sql(
        "INSERT INTO audit_entries (seq, recorded_at, correlationid, message_id, kind, actor,"
        " detail, prev_hash, entry_hash) VALUES (:seq, :recorded_at, :correlationid,"
        " :message_id, :kind, :actor, :detail, :prev_hash, :entry_hash)",
        **fake._asdict(),
    )
    assert first_problem(trail)[:2] == (TARGET, ProblemKind.INSERTED)


def test_swapped_entries_are_named(trail: Trail) -> None:
    trail.sql("UPDATE audit_entries SET seq = -1 WHERE seq = :seq", seq=TARGET)
    trail.sql("UPDATE audit_entries SET seq = :seq WHERE seq = :seq + 1", seq=TARGET)
    trail.sql("UPDATE audit_entries SET seq = :seq + 1 WHERE seq = -1", seq=TARGET)
    seq, kind, detail = first_problem(trail)
    assert (seq, kind, detail) == (
        TARGET,
        ProblemKind.REORDERED,
        f"entries {TARGET} and {TARGET + 1} were swapped",
    )


def test_truncated_tail_is_named_from_the_external_file(trail: Trail) -> None:
    keep = trail.checkpoint_seqs()[2]
    kept_hash = trail.rows()[keep - 1].entry_hash
    last = len(trail.rows())
    # A careful truncation: entries, the checkpoints that mention them and the head, all cut.
    trail.sql("DELETE FROM audit_entries WHERE seq > :seq", seq=keep)
    trail.sql("DELETE FROM audit_checkpoints WHERE seq > :seq", seq=keep)
    trail.sql("UPDATE audit_head SET seq = :seq, entry_hash = :h", seq=keep, h=kept_hash)
    seq, kind, detail = first_problem(trail)
    assert (seq, kind) == (keep + 1, ProblemKind.TRUNCATED)
    assert f"ends at seq {keep}" in detail and "external file" in detail
    assert max(trail.checkpoint_seqs()) < last


@pytest.mark.parametrize("resign", ["unsigned", "new key"])
def test_chain_recomputed_without_the_key_is_named(trail: Trail, resign: str) -> None:
    entries = trail.rows()
    entries[TARGET - 1] = entries[TARGET - 1]._replace(detail={"decision": "issued"})
    prev = entries[TARGET - 2].entry_hash
    for index in range(TARGET - 1, len(entries)):
        entry = entries[index]._replace(prev_hash=prev)
        entries[index] = entry._replace(entry_hash=entry.hash_as(entry.seq))
        prev = entries[index].entry_hash
        trail.sql(
            "UPDATE audit_entries SET detail = :detail, prev_hash = :p, entry_hash = :h"
            " WHERE seq = :seq",
            detail=entry.detail,
            p=entry.prev_hash,
            h=entries[index].entry_hash,
            seq=entry.seq,
        )
    trail.sql("UPDATE audit_head SET entry_hash = :h", h=prev)
    forger = CheckpointSigner(Ed25519PrivateKey.generate())
    for cp_seq in trail.checkpoint_seqs():
        if cp_seq < TARGET:
            continue
        cp = forger.sign(cp_seq, entries[cp_seq - 1].entry_hash, datetime.now(UTC))
        signature = "" if resign == "unsigned" else cp.signature
        trail.sql(
            "UPDATE audit_checkpoints SET head_hash = :h, key_id = :k, signature = :s"
            " WHERE seq = :seq",
            h=cp.head_hash,
            k=cp.key_id,
            s=signature,
            seq=cp_seq,
        )
    result = verify_store(trail.settings)
    checkpoint = trail.next_checkpoint(TARGET)
    assert result.first is not None
    assert (result.first.seq, result.first.kind) == (checkpoint, ProblemKind.RECOMPUTED)
    assert {(p.seq, p.kind) for p in result.problems} >= {
        (checkpoint, ProblemKind.BAD_SIGNATURE),
        (checkpoint, ProblemKind.CHECKPOINT_DIFFERS),
    }


def test_failing_checkpoint_signature_is_named(trail: Trail) -> None:
    checkpoint = trail.next_checkpoint(TARGET)
    bogus = base64.b64encode(bytes(64)).decode()
    trail.sql(
        "UPDATE audit_checkpoints SET signature = :s WHERE seq = :seq", s=bogus, seq=checkpoint
    )
    seq, kind, detail = first_problem(trail)
    assert (seq, kind) == (checkpoint, ProblemKind.BAD_SIGNATURE)
    assert detail == "database checkpoint signature does not match the checkpoint"


def test_checkpoints_deleted_from_the_database_are_named(trail: Trail) -> None:
    checkpoint = trail.next_checkpoint(TARGET)
    trail.sql("DELETE FROM audit_checkpoints WHERE seq = :seq", seq=checkpoint)
    assert first_problem(trail)[:2] == (checkpoint, ProblemKind.CHECKPOINT_MISSING)


def verify_with(trail: Trail, workers: int, batch_size: int = 4) -> VerifyResult:
    """verify_chain on the trail, hashes recomputed here (0) or in worker processes."""
    key = existing_signing_key(trail.settings)
    assert key is not None
    return verify_chain(
        make_session_factory(trail.engine),
        public_key=key.public_key(),
        journal=CheckpointJournal.from_settings(trail.settings),
        batch_size=batch_size,
        workers=workers,
    )


TAMPERING = {
    "none": [],
    "edited": ["UPDATE audit_entries SET kind = 'forged' WHERE seq = 10"],
    "deleted": ["DELETE FROM audit_entries WHERE seq = 10"],
    "swapped": [
        "UPDATE audit_entries SET seq = -1 WHERE seq = 10",
        "UPDATE audit_entries SET seq = 10 WHERE seq = 11",
        "UPDATE audit_entries SET seq = 11 WHERE seq = -1",
    ],
    "relinked": ["UPDATE audit_entries SET prev_hash = entry_hash WHERE seq = 10"],
    "bad signature": [
        "UPDATE audit_checkpoints SET signature = 'AAAA' WHERE seq ="
        " (SELECT MIN(seq) FROM audit_checkpoints WHERE seq >= 10)"
    ],
    "checkpoint deleted": [
        "DELETE FROM audit_checkpoints WHERE seq = (SELECT MAX(seq) FROM audit_checkpoints)"
    ],
}


@pytest.mark.parametrize("tampering", TAMPERING)
def test_worker_processes_find_what_one_process_finds(trail: Trail, tampering: str) -> None:
    for statement in TAMPERING[tampering]:
        trail.sql(statement)
    here, there = verify_with(trail, workers=0), verify_with(trail, workers=2)
    assert [str(p) for p in there.problems] == [str(p) for p in here.problems]
    assert (there.entries, there.unsealed) == (here.entries, here.unsealed)
    assert here.ok == (tampering == "none")


def test_entries_the_fast_canonical_form_steps_aside_for_verify(trail: Trail) -> None:
    # Floats RFC 8785 writes its own way, keys whose UTF-16 order differs, Arabic, control
    # characters, the largest safe integer: written by the hub, read back as stored text.
    sessions = make_session_factory(trail.engine)
    details: list[dict[str, Any]] = [
        {"whole": 12.0, "tiny": 1e-7, "huge": 1e21, "neg": -0.0, "latency_ms": 3.25},
        {"\U0001f600": "emoji key", "\ue000": "private use", "a": 1},
        {"owner": "سالم بن حمد الحارثي", "ctl": "\x01\n\t\x7f", "n": 2**53 - 1},
        {"nested": [[[{"deep": [1, 2.5, None, True]}]]]},
    ]
    with sessions.begin() as session:
        session.connection(execution_options=WRITE_INTENT)
        append_entries(session, [AuditDraft("test.odd", detail) for detail in details])
    for workers in (0, 2):
        result = verify_with(trail, workers, batch_size=5)
        assert result.ok, result.problems
        assert result.entries == len(trail.rows())
