"""What a running hub with a signing certificate delivers signed. Issue 17 for permits: a
parking permit (issued when its fee is paid) and a building permit (issued at once, not billed
here) are each a signed bilingual PDF, kept with the case, audited by digest, in the case's
evidence bundle, and verifiable by `hub documents verify`, which refuses them once altered.
Issue 26: the decision callback to Invest Easy carries the municipality's signature, which the
portal requires. One embedded hub with a development CA serves the module."""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from connectors.investeasy.simulator import InvestEasySimulator
from connectors.rop import data as rop_register
from hub.audit.bundle import write_bundle
from hub.audit.bundle_verify import verify_bundle
from hub.cli.app import app
from hub.cli.output import CommandFailed
from hub.config import Settings
from hub.contracts.registry import ContractRegistry
from hub.documents.signing import verify_document
from hub.pki.authority import CertificateAuthority
from hub.pki.material import PkiFiles
from hub.store.tables import AuditEntry, IssuedDocument
from tests.integration.payment_hub import PayingHub, paying_hub, wait_until

CA_FILE = "pki/ca.pem"


@pytest.fixture(scope="module", params=["parking-permit", "building-permit"])
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PayingHub]:
    """Billing one kind of permit: the other is issued (and delivered) at its decision."""
    data_dir: Path = tmp_path_factory.mktemp("signed-delivery")
    CertificateAuthority.create(data_dir / "pki")  # what `hub pki init` makes
    settings = Settings(
        data_dir=data_dir,
        payments_billing=True,
        payments_billed_services=[request.param],
        retry_ladder="1s,1s",
        payment_sweep_s=3600.0,
    )
    with paying_hub(settings) as running:
        yield running


def _paid_if_billed(hub: PayingHub, service: str, case_key: str, case: str) -> None:
    """A billed permit has no document until its fee is paid; then pay it."""
    if service not in hub.runtime.settings.payments_billed_services:
        return
    billed = hub.result("payment.requested", lambda d: d["case"] == case_key)["data"]
    assert _issued_entries(hub, case) == []  # nothing is delivered before the fee is paid
    epay = hub.provider("epay")
    assert epay.deliver(epay.pay(billed["payment_id"])).status_code == 200


def _documents(hub: PayingHub, reference: str) -> list[IssuedDocument]:
    with hub.runtime.sessions() as session:
        rows = list(
            session.scalars(select(IssuedDocument).where(IssuedDocument.reference == reference))
        )
        session.expunge_all()
        return rows


def _issued_entries(hub: PayingHub, case: str) -> list[dict[str, Any]]:
    with hub.runtime.sessions() as session:
        return [
            dict(detail)
            for detail in session.scalars(
                select(AuditEntry.detail).where(
                    AuditEntry.correlationid == case, AuditEntry.kind == "document.issued"
                )
            )
        ]


def _verify_cli(hub: PayingHub, pdf: Path) -> tuple[int, str]:
    ca = hub.runtime.settings.data_dir / CA_FILE
    run = CliRunner().invoke(app, ["documents", "verify", str(pdf), "--ca", str(ca)])
    if isinstance(run.exception, CommandFailed):  # `hub` prints it and exits 1 (hub.cli.app)
        return 1, str(run.exception)
    return run.exit_code, run.stdout


def _check_delivered(hub: PayingHub, reference: str, kind: str, case: str, tmp: Path) -> None:
    """One document of `kind` for the case: audited by digest, verified by the command, in
    the case's bundle, and refused by the command once altered."""
    [document] = _documents(hub, reference)
    assert (document.kind, document.correlationid) == (kind, case)
    assert document.sha256 == hashlib.sha256(document.pdf).hexdigest()
    [entry] = _issued_entries(hub, case)
    assert (entry["document"], entry["reference"], entry["sha256"]) == (
        kind,
        reference,
        document.sha256,
    )
    anchor = PkiFiles.from_settings(hub.runtime.settings).trust_anchor()
    assert verify_document(document.pdf, anchor).ok
    assert b"DejaVuSans" in document.pdf  # the bilingual font, embedded

    pdf = tmp / f"{reference}.pdf"
    pdf.write_bytes(document.pdf)
    code, said = _verify_cli(hub, pdf)
    assert code == 0 and "valid signature by" in said, said
    altered = bytearray(document.pdf)
    altered[altered.index(b"/Title") + 8] ^= 0x01  # inside the signed byte range
    pdf.write_bytes(bytes(altered))
    code, said = _verify_cli(hub, pdf)
    assert code == 1 and "altered after signing" in said, said

    identity = PkiFiles.from_settings(hub.runtime.settings).signing_identity()
    bundle = tmp / f"{reference}.zip"
    manifest = write_bundle(hub.runtime.sessions, hub.runtime.sealer, identity, case, bundle)
    assert f"documents/{reference}-{document.id}.pdf" in manifest["files"]
    verdict = verify_bundle(bundle, anchor)
    assert verdict.ok and verdict.documents == 1, verdict.problems


def test_an_issued_parking_permit_is_delivered_signed(hub: PayingHub, tmp_path: Path) -> None:
    vehicle = rop_register.valid_vehicles()[5]
    application = f"PKA-DOC-{uuid.uuid4().hex[:6].upper()}"
    case = f"case-{uuid.uuid4().hex[:12]}"
    request = {
        "application_no": application,
        "plate": {"number": vehicle.plate_number, "code": vehicle.plate_code},
        "civil_id": vehicle.owner.civil_id,
        "zone": "qurum",
        "months": 3,
    }
    hub.send("permit.parking.requested", request, correlationid=case)
    _paid_if_billed(hub, "parking-permit", application, case)
    issued = hub.result("permit.parking.completed", lambda d: d["application_no"] == application)
    assert issued["correlationid"] == case
    _check_delivered(hub, issued["data"]["permit_no"], "parking-permit", case, tmp_path)


def test_an_issued_building_permit_is_delivered_signed(hub: PayingHub, tmp_path: Path) -> None:
    owner = rop_register.valid_vehicles()[6].owner
    permit_no = f"MCT-BP-2026-{uuid.uuid4().int % 1_000_000:06d}"
    case = f"case-{uuid.uuid4().hex[:12]}"
    issued = {
        "permit_no": permit_no,
        "owner": {"civil_id": owner.civil_id, "name_en": owner.name_en, "name_ar": owner.name_ar},
        "plot_no": "3/772",
        "wilayat": "Seeb",
        "load_kva": 60,
    }
    hub.send("permit.building.issued", issued, correlationid=case)
    _paid_if_billed(hub, "building-permit", permit_no, case)
    hub.result("permit.building.electricity-requested", lambda d: d["permit_no"] == permit_no)
    _check_delivered(hub, permit_no, "building-permit", case, tmp_path)
    again = f"case-{uuid.uuid4().hex[:12]}"
    hub.send("permit.building.issued", issued, correlationid=again)  # the same permit again
    wait_until(lambda: hub.message_status("permit.building.issued", again) == "done", "the second")
    assert len(_documents(hub, permit_no)) == 1  # the permit keeps the document it has


def test_the_hub_signs_its_decision_callback_to_invest_easy(hub: PayingHub) -> None:
    portal = hub.runtime.simulators["investeasy"].simulator
    assert isinstance(portal, InvestEasySimulator)
    portal.require_signatures(PkiFiles.from_settings(hub.runtime.settings).trust_anchor())
    try:
        contract = ContractRegistry.load().get(
            "urn:muscat-hub:events:investeasy.callback.requested:1.0"
        )
        callback = copy.deepcopy(dict(contract.examples[0])) | {"application_ref": "IE-2026-720001"}
        hub.send("investeasy.callback.requested", callback)
        confirmed = hub.result(
            "investeasy.callback.confirmed", lambda d: d["application_ref"] == "IE-2026-720001"
        )
    finally:
        portal.require_signatures(None)
    assert confirmed["data"]["receipt"].startswith("IE-RCPT-")
    assert portal.signature_refusals == []
    assert portal.decisions["IE-2026-720001"]["decision"] == "APPROVED"
