"""The records store's tables: messages and their history, records, audit trail, outbox, and
the console's operators and sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are UTC-aware on the way in and out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class EncodedJson(str):
    """JSON text its producer has already written (the audit chain's canonical bytes of a
    detail): stored as these very characters, so a reader of the text sees what was hashed."""


def _json_as_is(text: str) -> str:
    return text


class JsonKeepingText(TypeDecorator[Any]):
    """`JSON` that stores an `EncodedJson` value's text as it is and serialises anything else as
    `JSON` does; read back, both are parsed as `JSON` parses them."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Any:
        general = super().bind_processor(dialect)
        psycopg = dialect.driver == "psycopg"  # psycopg takes JSON text wrapped in its `Json`
        if psycopg:
            from psycopg.types.json import Json

        def process(value: Any) -> Any:
            if type(value) is EncodedJson:
                return Json(str(value), dumps=_json_as_is) if psycopg else str(value)
            return general(value) if general is not None else value

        return process


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class MessageStatus:
    """A message's states; replay and `hub replay list --status` use these names."""

    PENDING = "pending"
    RETRYING = "retrying"
    FAILED = "failed"
    DEAD = "dead"
    REJECTED = "rejected"
    DONE = "done"
    ALL = (PENDING, RETRYING, FAILED, DEAD, REJECTED, DONE)
    FINAL = (REJECTED, DONE)


class Message(Base):
    """One inbound message, keyed by its event id (the inbox): its state and its raw envelope."""

    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str | None] = mapped_column(String(200), index=True)
    source: Mapped[str | None] = mapped_column(String(400))
    correlationid: Mapped[str] = mapped_column(String(200), index=True)
    causationid: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    agency: Mapped[str | None] = mapped_column(String(50), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    envelope: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # `attempts` at the last replay: the retry ladder counts only deliveries after it.
    ladder_base: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Unexpected errors (bugs, not agency errors) met so far: at the limit the message fails.
    unexpected_errors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ReplayMode:
    """What a replay did: re-drove the message through the flow, or re-published its results."""

    REDRIVE = "re-drive"
    REPUBLISH = "re-publish"


class MessageReplay(Base):
    """One operator's replay of one message (who, why, what it did); `hub replay show` lists
    them, and an unpublished re-drive tells the next replay that a crash interrupted it."""

    __tablename__ = "message_replays"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), index=True)
    operator: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(20))
    previous_status: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column()


class MessageHistory(Base):
    """Every step one message went through, newest last: what `hub replay show` prints."""

    __tablename__ = "message_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ParkingPermit(Base):
    """A parking permit application and the hub's decision on it."""

    __tablename__ = "parking_permits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_no: Mapped[str] = mapped_column(String(40), unique=True)
    permit_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    plate_number: Mapped[str] = mapped_column(String(5))
    plate_code: Mapped[str] = mapped_column(String(2))
    civil_id: Mapped[str] = mapped_column(String(9))
    zone: Mapped[str] = mapped_column(String(40))
    months: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    owner_name_en: Mapped[str | None] = mapped_column(String(200))
    owner_name_ar: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    correlationid: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_parking_permits_plate", "plate_number", "plate_code"),)


class TradeLicence(Base):
    """A trade licence: the establishment, its commercial registration and the last checks."""

    __tablename__ = "trade_licences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    licence_no: Mapped[str] = mapped_column(String(40), unique=True)
    cr_no: Mapped[str] = mapped_column(String(20), index=True)
    name_en: Mapped[str] = mapped_column(String(300))
    name_ar: Mapped[str] = mapped_column(String(300))
    activities: Mapped[list[Any]] = mapped_column(default=list)
    premises: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), index=True)
    expiry: Mapped[date | None] = mapped_column(Date)
    last_checks: Mapped[list[Any]] = mapped_column(default=list)
    correlationid: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BuildingPermit(Base):
    """A building permit and the state of its electricity connection."""

    __tablename__ = "building_permits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    permit_no: Mapped[str] = mapped_column(String(40), unique=True)
    owner_civil_id: Mapped[str] = mapped_column(String(9))
    owner_name_en: Mapped[str | None] = mapped_column(String(200))
    owner_name_ar: Mapped[str | None] = mapped_column(String(200))
    plot_no: Mapped[str] = mapped_column(String(40))
    wilayat: Mapped[str] = mapped_column(String(40))
    load_kva: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30), index=True)
    electricity_request_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    connected_at: Mapped[datetime | None] = mapped_column()
    correlationid: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ParkingViolation(Base):
    """A parking fine paid online and whether ROP has been told it is settled."""

    __tablename__ = "parking_violations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    violation_no: Mapped[str] = mapped_column(String(40), unique=True)
    plate_number: Mapped[str] = mapped_column(String(5))
    plate_code: Mapped[str] = mapped_column(String(2))
    amount: Mapped[str] = mapped_column(String(20))
    payment_reference: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), index=True)
    settled_at: Mapped[datetime | None] = mapped_column()
    correlationid: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AgencyCircuit(Base):
    """The last known state of an agency's circuit, written by the worker that changed it."""

    __tablename__ = "agency_circuits"

    agency: Mapped[str] = mapped_column(String(50), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    worker: Mapped[str] = mapped_column(String(200))


class Partner(Base):
    """An agency allowed to call the partner endpoints: its grants and the hash of its secret
    (the secret itself is shown once, at `hub partners add`, and never stored)."""

    __tablename__ = "partners"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    grants: Mapped[list[Any]] = mapped_column(default=list)
    rate_limit: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class PartnerRateWindow(Base):
    """A partner's calls in its current fixed window, shared by every HTTP worker process."""

    __tablename__ = "partner_rate_windows"

    partner: Mapped[str] = mapped_column(String(60), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer)
    calls: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """One step of the audit trail; `entry_hash` chains it to the entry before (append-only)."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    recorded_at: Mapped[str] = mapped_column(String(40))
    correlationid: Mapped[str | None] = mapped_column(String(200), index=True)
    message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonKeepingText, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """A single row holding the chain's head; writers lock it so the chain stays one line."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed statement that the chain reached `seq` with `head_hash`; also kept in a file
    outside the database, so a truncated or recomputed chain cannot pass for the real one."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))


class OutboxEvent(Base):
    """A result committed with the change that caused it; the relay publishes it, marks it sent."""

    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), index=True)
    exchange: Mapped[str] = mapped_column(String(100))
    routing_key: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class AgencyAnswer(Base):
    """An agency's answer to a delivery that then ended `retrying`, kept so the retry need not
    ask again where the operation allows reuse (`Operation.reuse_answer_s`); removed when the
    message reaches a final state."""

    __tablename__ = "agency_answers"

    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    agency: Mapped[str] = mapped_column(String(50), primary_key=True)
    operation: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(80), primary_key=True)
    reply: Mapped[dict[str, Any]] = mapped_column()
    answered_at: Mapped[datetime] = mapped_column()


class ParkingBooking(Base):
    """A street parking booking a resident made by SMS; sending again before it ends extends it
    (`minutes` and `amount` are the totals)."""

    __tablename__ = "parking_bookings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    plate_number: Mapped[str] = mapped_column(String(5))
    plate_code: Mapped[str] = mapped_column(String(2))
    parking_code: Mapped[str] = mapped_column(String(10))
    telco: Mapped[str] = mapped_column(String(20))
    msisdn: Mapped[str] = mapped_column(String(15))
    language: Mapped[str] = mapped_column(String(2))
    minutes: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 3))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    correlationid: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_parking_bookings_spot", "plate_number", "plate_code", "parking_code"),
        Index("ix_parking_bookings_ends_at", "ends_at"),
    )


class ParkingSmsRequest(Base):
    """Every parking SMS the hub read and what came of it: booked, extended, or refused with
    its reason (a refusal changes nothing else)."""

    __tablename__ = "parking_sms_requests"

    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    telco: Mapped[str] = mapped_column(String(20))
    msisdn: Mapped[str] = mapped_column(String(15))
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(30))
    ticket_no: Mapped[str | None] = mapped_column(String(20))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsoleOperator(Base):
    """A person who may sign in to `hub console`; only the hash of the password is kept."""

    __tablename__ = "console_operators"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsoleSession(Base):
    """One signed-in browser: the SHA-256 of its cookie (the cookie itself is never stored),
    its CSRF token, and when it stops being valid."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator: Mapped[str] = mapped_column(String(100), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class InvestEasyApplication(Base):
    """An Invest Easy approval request and its one decision: what the portal was told, the
    licence and fee it carried, and whether the portal confirmed it."""

    __tablename__ = "investeasy_applications"

    application_ref: Mapped[str] = mapped_column(String(40), primary_key=True)
    cr_no: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(30))
    decision: Mapped[str] = mapped_column(String(30))
    licence_no: Mapped[str | None] = mapped_column(String(40))
    fee_omr: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    callback: Mapped[dict[str, Any]] = mapped_column()
    receipt: Mapped[str | None] = mapped_column(String(60))
    confirmed_at: Mapped[datetime | None] = mapped_column()
    correlationid: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IsnadTender(Base):
    """A tender filed with Isnad, and the sequence of the last status change relayed for it
    (changes are relayed once, in order)."""

    __tablename__ = "isnad_tenders"

    tender_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    tender_ref: Mapped[str | None] = mapped_column(String(40), unique=True)
    title: Mapped[dict[str, Any]] = mapped_column(default=dict)
    min_chamber_grade: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)
    correlationid: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IsnadTenderChange(Base):
    """One status change Isnad pushed, keyed by tender and sequence: relayed, or held until
    the changes before it have been."""

    __tablename__ = "isnad_tender_changes"

    tender_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    relay: Mapped[dict[str, Any]] = mapped_column()
    message_id: Mapped[str] = mapped_column(String(200))
    relayed_at: Mapped[datetime | None] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class IssuedDocument(Base):
    """A document the municipality delivered (a licence as a signed bilingual PDF): the exact
    signed bytes, their digest, and the case it belongs to (docs/PKI.md)."""

    __tablename__ = "issued_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(60))
    correlationid: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_issued_documents_reference", "reference"),
        Index("ix_issued_documents_correlationid", "correlationid"),
    )


class SealedExchange(Base):
    """One agency request or reply as it went over the wire, sealed: the exact bytes, the
    municipality's signature over their digest and the time, with the message it served."""

    __tablename__ = "sealed_exchanges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    correlationid: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[str | None] = mapped_column(String(200))
    agency: Mapped[str] = mapped_column(String(40))
    operation: Mapped[str] = mapped_column(String(80))
    direction: Mapped[str] = mapped_column(String(10))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(Text)
    signer_serial: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_sealed_exchanges_correlationid", "correlationid"),
        Index("ix_sealed_exchanges_message_id", "message_id"),
    )


class PaymentStatus:
    """A payment's states: billed (the hub owes the provider a create), pending (the payer may
    pay), then paid, expired or failed; a paid payment for a refused case is refunded."""

    BILLED = "billed"
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    FAILED = "failed"
    REFUND_DUE = "refund-due"
    REFUNDED = "refunded"
    ALL = (BILLED, PENDING, PAID, EXPIRED, FAILED, REFUND_DUE, REFUNDED)
    OPEN = (BILLED, PENDING)


class Payment(Base):
    """One fee owed for one case, through one provider; `reference` is the hub's idempotency
    key with the provider, `payment_id` the provider's own number."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    provider: Mapped[str] = mapped_column(String(30))
    payment_id: Mapped[str | None] = mapped_column(String(60), unique=True)
    service: Mapped[str] = mapped_column(String(30))
    case_key: Mapped[str] = mapped_column(String(60), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    currency: Mapped[str] = mapped_column(String(3))
    payer_reference: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), index=True)
    payment_url: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column()
    notified_at: Mapped[datetime | None] = mapped_column()
    status_checked_at: Mapped[datetime | None] = mapped_column()
    refund_id: Mapped[str | None] = mapped_column(String(60))
    case_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    correlationid: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaymentNotice(Base):
    """Each provider notification the hub accepted, once (its id is unique per provider)."""

    __tablename__ = "payment_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(30))
    notice_id: Mapped[str] = mapped_column(String(100))
    payment_id: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_payment_notices_once", "provider", "notice_id", unique=True),)
