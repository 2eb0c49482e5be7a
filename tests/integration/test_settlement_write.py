"""A settling transaction's writes (issue 18): on PostgreSQL history, outbox, audit entries and
the head's update go in one statement of column arrays; SQLite keeps one statement per table.
Both must store what the statements of before stored, leave a chain `hub audit verify`
accepts, seal checkpoints when due, write nothing on a rollback, and keep one chain when two
engines commit at once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, event, insert, select, text, update
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.chain import AuditDraft, append_entries
from hub.audit.entry import GENESIS_HASH, payload, payload_hash
from hub.audit.sealing import Checkpointer
from hub.audit.verify import verify_store
from hub.config import Settings
from hub.contracts.envelope import CloudEvent
from hub.messages.unit_of_work import SharedTransaction, UnitOfWork
from hub.store.engine import WRITE_INTENT, make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AuditCheckpoint, AuditEntry, AuditHead, MessageHistory, OutboxEvent
from tests.conftest import fresh_database

HISTORY = cast(Table, MessageHistory.__table__)
OUTBOX = cast(Table, OutboxEvent.__table__)
ENTRIES = cast(Table, AuditEntry.__table__)
HEAD = cast(Table, AuditHead.__table__)
AT = datetime(2026, 12, 7, 6, 30, 15, 123456, tzinfo=UTC)
ARABIC = "طلب تصريح موقف — سالم الحارثي"
NESTED = {
    "name_ar": ARABIC,
    "reasons": [{"code": "ok", "message_ar": "مقبول", "weight": 0.25}, None, True],
    "depth": {"a": {"b": {"c": [1, -2, 3.5]}}},
    "قيمة": "مفتاح عربي",
    "quote": 'a "quoted" \\ line\nbreak',
}


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return Settings(
        data_dir=tmp_path, database_url=url, audit_checkpoint_every=7, audit_checkpoint_seconds=3600
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def reference_engine(postgres_admin: Engine) -> Iterator[Engine]:
    """A second PostgreSQL database, written with the statements of before."""
    with fresh_database(postgres_admin) as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


BOTH = pytest.mark.parametrize("settings", ["sqlite", "postgres"], indirect=True)
POSTGRES = pytest.mark.parametrize("settings", ["postgres"], indirect=True)


def fixed_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[AuditDraft]]:
    """History, outbox rows and drafts with fixed times: Arabic, nested JSON, NULL ids."""
    history = [
        {"message_id": f"m{n}", "status": s, "attempt": n, "detail": d, "at": AT}
        for n, (s, d) in enumerate(
            [
                ("pending", ["a list first", {"ar": ARABIC}]),  # not a second array dimension
                ("completed", NESTED),
                ("rejected", None),  # JSON null, as the row path stores it
                ("retrying", {}),
            ]
        )
    ]
    outbox = [
        {
            "id": f"r{n}",
            "message_id": f"m{n}",
            "exchange": "municipal.out",
            "routing_key": "permit.parking.completed",
            "body": f'{{"data": {{"owner_ar": "{ARABIC}", "n": {n}}}}}',
            "created_at": AT,
            "attempts": 0,
        }
        for n in range(2)
    ]
    drafts = [
        AuditDraft("message.received", {"type": "permit"}, "c1", "m1", recorded_at=AT.isoformat()),
        AuditDraft("record.changed", NESTED, None, None, recorded_at=AT.isoformat()),
        AuditDraft("result.queued", {"ar": ARABIC}, "c1", None, "operator", AT.isoformat()),
    ]
    return history, outbox, drafts


def reference_write(
    session: Session,
    history: list[dict[str, Any]],
    outbox: list[dict[str, Any]],
    drafts: list[AuditDraft],
) -> None:
    """The statements of before: one multi-row INSERT per table, the head read and updated."""
    session.execute(insert(HISTORY).returning(HISTORY.c.id), history)
    session.execute(insert(OUTBOX).returning(OUTBOX.c.id), outbox)
    session.execute(select(HEAD.c.seq).where(HEAD.c.id == 1).with_for_update())
    placed = chained(drafts)
    session.execute(insert(ENTRIES).returning(ENTRIES.c.seq), placed)
    session.execute(
        update(HEAD)
        .where(HEAD.c.id == 1)
        .values(seq=placed[-1]["seq"], entry_hash=placed[-1]["entry_hash"])
    )


def chained(drafts: list[AuditDraft]) -> list[dict[str, Any]]:
    """The entries the drafts make on an empty chain, hashed here from `hub.audit.entry`."""
    placed, prev = [], GENESIS_HASH
    for seq, d in enumerate(drafts, start=1):
        content = payload(
            seq, d.recorded_at, d.correlationid, d.message_id, d.kind, d.actor, d.detail, prev
        )
        prev = payload_hash(content)
        placed.append(content | {"entry_hash": prev})
    return placed


def stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every settled table as PostgreSQL holds it, JSON as its stored text."""
    queries = {
        "history": "SELECT id, message_id, status, attempt, detail::text, at FROM message_history",
        "outbox": "SELECT id, message_id, exchange, routing_key, body, created_at, sent_at, "
        "attempts FROM outbox",
        "entries": "SELECT seq, recorded_at, correlationid, message_id, kind, actor, "
        "detail::text, prev_hash, entry_hash FROM audit_entries",
        "head": "SELECT id, seq, entry_hash FROM audit_head",
    }
    with engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(text(sql)))) for name, sql in queries.items()}


def parsed_details(entries: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [(*row[:6], json.loads(row[6]), *row[7:]) for row in entries]


def statements(engine: Engine) -> list[str]:
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    return sent


@POSTGRES
def test_one_statement_stores_what_the_statements_of_before_stored(
    sessions: sessionmaker[Session], engine: Engine, reference_engine: Engine
) -> None:
    history, outbox, drafts = fixed_rows()
    sent = statements(engine)
    with sessions() as session:
        written = append_entries(session, drafts, alongside=[(HISTORY, history), (OUTBOX, outbox)])
        session.commit()
    assert len(sent) == 2 and "FOR UPDATE" in sent[0]  # the head under lock, then the writes
    assert all(table in sent[1] for table in ("message_history", "outbox", "audit_entries"))
    with make_session_factory(reference_engine)() as session:
        reference_write(session, history, outbox, drafts)
        session.commit()
    new, before = stored(engine), stored(reference_engine)
    # Audit details are stored as the RFC 8785 text the writer hashed (tests/integration/
    # test_audit_canonical.py), the statements of before wrote json.dumps' text: equal values.
    assert new | {"entries": []} == before | {"entries": []}
    assert parsed_details(new["entries"]) == parsed_details(before["entries"])
    assert f'"name_ar":"{ARABIC}"' in [row[6] for row in new["entries"]][1]
    assert written == chained(drafts)
    assert new["head"] == [(1, 3, written[-1]["entry_hash"])]


def collect(shared: SharedTransaction, units: int) -> list[UnitOfWork]:
    """`units` units of one group commit; the second has no outbox row, every other has no
    correlation id."""
    made = []
    for n in range(units):
        corr = f"corr-{n}" if n % 2 == 0 else None
        with shared.unit(correlationid=corr, message_id=f"m-{uuid.uuid4().hex[:8]}") as uow:
            assert uow.message_id is not None
            uow.history(uow.message_id, "pending", 0)
            uow.history(uow.message_id, "completed", 1, owner_ar=ARABIC, nested=NESTED)
            uow.audit("message.received", name_ar=ARABIC, n=n)
            uow.record_changed("parking_permit", f"A{n}", None, {"owner_ar": ARABIC})
            if n != 1:
                uow.emit(result_event(uow.message_id, n))
            uow.commit()
        made.append(uow)
    return made


def result_event(message_id: str, n: int) -> CloudEvent:
    return CloudEvent(
        specversion="1.0",
        id=f"res-{message_id}",
        source="urn:muscat-hub",
        type="permit.parking.completed",
        data={"owner_ar": ARABIC, "n": n},
        causationid=message_id,
        correlationid=f"corr-{n}",
    )


def settled(sessions: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    with sessions() as session:
        return {
            "history": [
                tuple(r)
                for r in session.execute(
                    select(
                        HISTORY.c.message_id,
                        HISTORY.c.status,
                        HISTORY.c.attempt,
                        HISTORY.c.detail,
                    ).order_by(HISTORY.c.id)
                )
            ],
            "outbox": [
                tuple(r)
                for r in session.execute(
                    select(OUTBOX.c.id, OUTBOX.c.message_id, OUTBOX.c.body).order_by(OUTBOX.c.id)
                )
            ],
            "entries": [
                tuple(r)
                for r in session.execute(
                    select(
                        ENTRIES.c.seq,
                        ENTRIES.c.correlationid,
                        ENTRIES.c.message_id,
                        ENTRIES.c.kind,
                        ENTRIES.c.detail,
                    ).order_by(ENTRIES.c.seq)
                )
            ],
        }


def expected(units: list[UnitOfWork]) -> dict[str, list[tuple[Any, ...]]]:
    """What the units collected, in the order they joined the group commit."""
    return {
        "history": [
            (row["message_id"], row["status"], row["attempt"], row["detail"])
            for unit in units
            for row in unit._history
        ],
        "outbox": sorted(
            (row.id, row.message_id, row.body) for unit in units for row in unit.emitted
        ),
        "entries": [
            (n, draft.correlationid, draft.message_id, draft.kind, draft.detail)
            for n, draft in enumerate((d for unit in units for d in unit._audit), start=1)
        ],
    }


@BOTH
@pytest.mark.parametrize("units", [1, 5])
def test_group_commit_stores_every_units_rows_and_a_chain_that_verifies(
    settings: Settings, sessions: sessionmaker[Session], units: int
) -> None:
    with SharedTransaction(sessions) as shared:
        made = collect(shared, units)
        shared.commit()
    assert settled(sessions) == expected(made)
    assert settled(sessions)["outbox"][0][2].count(ARABIC) == 1
    result = verify_store(settings)
    assert result.ok, result.problems
    # two audits each and result.queued for every unit but the second
    assert result.entries == 3 * units - (units > 1)


@BOTH
def test_a_unit_with_history_only_leaves_the_chain_alone(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with UnitOfWork(sessions, message_id="m-only") as uow:
        uow.history("m-only", "pending", 0, note_ar=ARABIC)
        uow.commit()
    assert settled(sessions)["history"] == [("m-only", "pending", 0, {"note_ar": ARABIC})]
    with sessions() as session:
        assert session.execute(select(HEAD.c.seq, HEAD.c.entry_hash)).one() == (0, GENESIS_HASH)


@BOTH
def test_entries_with_no_correlation_or_message_id_at_all(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with UnitOfWork(sessions) as uow:  # every value of two columns NULL
        uow.audit("console.login", operator_ar=ARABIC)
        uow.audit("console.logout")
        uow.commit()
    assert settled(sessions)["entries"] == [
        (1, None, None, "console.login", {"operator_ar": ARABIC}),
        (2, None, None, "console.logout", {}),
    ]
    result = verify_store(settings)
    assert result.ok and result.entries == 2, result.problems


@BOTH
def test_a_failed_write_rolls_the_whole_settlement_back(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with SharedTransaction(sessions) as shared:
        first = collect(shared, 2)
        shared.commit()
    before = settled(sessions)
    with SharedTransaction(sessions) as shared:
        again = collect(shared, 3)
        again[2].emitted[0].id = first[0].emitted[0].id  # a result id already in the outbox
        with pytest.raises(IntegrityError):
            shared.commit()
    assert settled(sessions) == before  # no history, no entries, no head move
    with sessions() as session:
        assert session.execute(select(HEAD.c.seq)).scalar_one() == len(before["entries"])
    result = verify_store(settings)
    assert result.ok and result.entries == len(before["entries"]), result.problems


@POSTGRES
def test_a_value_too_long_for_its_column_is_refused_not_cut(
    sessions: sessionmaker[Session],
) -> None:
    with UnitOfWork(sessions, message_id="m-long") as uow:
        uow.history("m-long", "x" * 21, 0)  # status is VARCHAR(20)
        with pytest.raises(DataError, match="too long"):
            uow.commit()
    assert settled(sessions)["history"] == []


@POSTGRES
def test_a_naive_time_is_refused_in_an_array_as_in_a_row(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        naive = {"message_id": "m", "status": "pending", "attempt": 0, "detail": {}}
        with pytest.raises(StatementError, match="naive datetime"):
            append_entries(
                session,
                [AuditDraft("x", {})],
                alongside=[(HISTORY, [naive | {"at": datetime(2026, 12, 7)}])],
            )


@BOTH
def test_checkpoints_are_sealed_when_due_with_the_head_locked(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    sealer = Checkpointer.from_settings(settings)
    for _ in range(4):
        with SharedTransaction(sessions, sealer) as shared:
            collect(shared, 2)  # 5 entries per commit
            shared.commit()
    with sessions() as session:
        seqs = list(session.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)))
    assert seqs == [5, 15]  # the first commit's head, then the first head 7 or more past it
    result = verify_store(settings)
    assert result.ok, result.problems
    assert result.checkpoints == result.external_checkpoints == 2


def race(
    factory: sessionmaker[Session], sealer: Checkpointer, commits: int
) -> list[list[UnitOfWork]]:
    made = []
    for _ in range(commits):
        with SharedTransaction(factory, sealer) as shared:
            made.append(collect(shared, 2))
            shared.commit()
    return made


@BOTH
def test_two_engines_settling_at_once_leave_one_unbroken_chain(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    second = make_engine(settings.resolved_database_url)
    factories = [sessions, make_session_factory(second)]
    sealers = [Checkpointer.from_settings(settings) for _ in factories]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(race, factories[n % 2], sealers[n % 2], 12) for n in range(4)]
        batches = [batch for future in futures for batch in future.result(timeout=120)]
    second.dispose()
    result = verify_store(settings)
    assert result.ok, result.problems
    assert result.entries == 4 * 12 * 5
    rows = settled(sessions)
    assert [row[0] for row in rows["entries"]] == list(range(1, 4 * 12 * 5 + 1))
    units = [unit for batch in batches for unit in batch]
    assert len(rows["history"]) == 2 * len(units)
    assert len(rows["outbox"]) == len(units) // 2
    with sessions() as session:
        session.connection(execution_options=WRITE_INTENT)
        assert session.execute(select(HEAD.c.seq)).scalar_one() == 4 * 12 * 5
