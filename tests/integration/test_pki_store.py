"""Evidence kept in the real PostgreSQL store: sealed exchanges written by the gateway's
sealer, a signed document delivered with the case, and the case's bundle written from the
store and checked offline; the covering checkpoint is signed when none is there yet."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.agencies.exchanges import ExchangeSeals
from hub.audit.bundle import BundleError, write_bundle
from hub.audit.bundle_verify import verify_bundle
from hub.audit.sealing import Checkpointer
from hub.config import Settings, load_settings
from hub.documents.desk import DocumentDesk
from hub.messages.unit_of_work import UnitOfWork
from hub.pki.authority import CertificateAuthority
from hub.pki.material import PkiFiles
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import IssuedDocument, SealedExchange

pytestmark = pytest.mark.postgres
CASE = "case-pki-store-1"


@pytest.fixture
def store(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    CertificateAuthority.create(tmp_path / "pki")
    settings = load_settings(
        data_dir=tmp_path, database_url=postgres_url, audit_checkpoint_every=100_000
    )
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    yield settings, make_session_factory(engine)
    engine.dispose()


def test_a_case_with_seals_and_a_document_bundles_and_verifies(
    store: tuple[Settings, sessionmaker[Session]], tmp_path: Path
) -> None:
    settings, sessions = store
    seals = ExchangeSeals.from_settings(settings, sessions)
    desk = DocumentDesk.from_settings(settings)
    assert seals is not None and desk is not None
    reply = "<Reply><NameAr>شركة النور</NameAr></Reply>".encode()
    asyncio.run(
        seals.keep("rop", "vehicle", CASE, "m-1", [("request", b"GET /x"), ("reply", reply)])
    )
    document = desk.trade_licence(
        licence_no="MCT-TL-900001",
        cr_no="1043217",
        name_en="Al Noor",
        name_ar="النور",
        activities=["471101"],
        expiry=None,
        renewed=False,
    )
    sealer = Checkpointer.from_settings(settings)
    _other_case(sessions, sealer)  # seq 1, checkpointed at once (the first commit)
    with UnitOfWork(sessions, correlationid=CASE, sealer=sealer) as uow:
        uow.records.deliver(
            IssuedDocument(
                kind=document.kind,
                reference=document.reference,
                correlationid=CASE,
                sha256=document.sha256,
                pdf=document.pdf,
            )
        )
        uow.audit("document.issued", reference=document.reference, sha256=document.sha256)
        uow.commit()
    _other_case(sessions, sealer)  # seq 3: no checkpoint covers 2-3 yet
    with sessions() as session:
        kept = session.scalars(select(SealedExchange).order_by(SealedExchange.id)).all()
        assert [row.direction for row in kept] == ["request", "reply"]
        assert kept[1].body == reply and kept[1].sha256 == hashlib.sha256(reply).hexdigest()

    identity = PkiFiles.from_settings(settings).signing_identity()
    target = tmp_path / "case.zip"
    manifest = write_bundle(sessions, sealer, identity, CASE, target)  # signs a checkpoint
    assert "documents/MCT-TL-900001-1.pdf" in manifest["files"]
    verdict = verify_bundle(target)
    assert verdict.ok, verdict.problems
    assert (verdict.case_entries, verdict.entries, verdict.documents, verdict.exchanges) == (
        1,
        2,
        1,
        2,
    )
    with pytest.raises(BundleError, match="no audit entries"):
        write_bundle(sessions, sealer, identity, "no-such-case", tmp_path / "none.zip")


def _other_case(sessions: sessionmaker[Session], sealer: Checkpointer) -> None:
    with UnitOfWork(sessions, correlationid="another-case", sealer=sealer) as uow:
        uow.audit("message.received", note="someone else's entry")
        uow.commit()
