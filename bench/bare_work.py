"""The work of one parking request written without the hub, from the same parts: a reused
jsonschema validator, one SOAP POST over httpx, one SQLAlchemy transaction (a record row and an
audit row), a confirmed publish on a connection of its own. Shared by the bare kombu consumer
and the Celery task, so the two differ only in what drives them."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from kombu import Connection, Producer
from lxml import etree
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, create_engine, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bench.services import ROP_CREDENTIALS
from hub.bus.topology import OUT_EXCHANGE

CONTRACT = (
    Path(__file__).resolve().parents[1]
    / "contracts"
    / "events"
    / "permit.parking.requested"
    / "1.0.json"
)
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
ROP_NS = "urn:rop.gov.om:services:1"
RESULT_TYPE = "permit.parking.completed"

metadata = MetaData()
records = Table(
    "bench_parking_permits",
    metadata,
    Column("application_no", String, primary_key=True),
    Column("plate", String, nullable=False),
    Column("civil_id", String, nullable=False),
    Column("status", String, nullable=False),
    Column("data", JSON, nullable=False),
)
audit = Table(
    "bench_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String, nullable=False),
    Column("action", String, nullable=False),
    Column("entry", JSON, nullable=False),
    Column("digest", String, nullable=False),
)


def soap_request(plate_number: str, plate_code: str) -> bytes:
    """A VehicleInquiry with the WS-Security UsernameToken the simulator requires."""
    return (
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:wsse="{WSSE}" xmlns:rop="{ROP_NS}">'
        f"<soap:Header><wsse:Security><wsse:UsernameToken>"
        f"<wsse:Username>{ROP_CREDENTIALS['username']}</wsse:Username>"
        f"<wsse:Password>{ROP_CREDENTIALS['password']}</wsse:Password>"
        f"</wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>"
        f"<rop:VehicleInquiryRequest><rop:PlateNumber>{plate_number}</rop:PlateNumber>"
        f"<rop:PlateCode>{plate_code}</rop:PlateCode></rop:VehicleInquiryRequest>"
        f"</soap:Body></soap:Envelope>"
    ).encode()


def _decide(reply: bytes, civil_id: str) -> tuple[str, dict[str, Any]]:
    root = etree.fromstring(reply, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    found = root.findtext(f".//{{{ROP_NS}}}Found")
    if found != "true":
        return "refused", {"reason": "vehicle not found"}
    owner = root.findtext(f".//{{{ROP_NS}}}Owner/{{{ROP_NS}}}CivilId")
    expiry = root.findtext(f".//{{{ROP_NS}}}RegistrationExpiry") or ""
    if owner != civil_id:
        return "refused", {"reason": "not the owner"}
    if expiry < date.today().isoformat():
        return "refused", {"reason": "registration lapsed"}
    return "approved", {"registration_expiry": expiry}


class BareParkingWork:
    """Everything reused across messages is made once here (validator, clients, engine)."""

    def __init__(self, broker_url: str, database_url: str, rop_url: str) -> None:
        self._validator = Draft202012Validator(json.loads(CONTRACT.read_text("utf-8")))
        self._http = httpx.Client(base_url=rop_url, timeout=10.0)
        self._engine = create_engine(database_url, pool_size=2)
        metadata.create_all(self._engine)
        self._out = Connection(broker_url, transport_options={"confirm_publish": True})
        self._producer = Producer(self._out.default_channel, exchange=OUT_EXCHANGE)
        OUT_EXCHANGE(self._producer.channel).declare()

    def process(self, body: bytes) -> None:
        event = json.loads(body)
        data = event["data"]
        errors = [e.message for e in self._validator.iter_errors(data)]
        if errors:
            self._publish(event, "hub.message.rejected", "rejected", {"errors": errors})
            return
        plate = data["plate"]
        reply = self._http.post(
            "/",
            content=soap_request(plate["number"], plate["code"]),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "VehicleInquiry"},
        )
        reply.raise_for_status()
        status, facts = _decide(reply.content, data["civil_id"])
        row = {
            "application_no": data["application_no"],
            "plate": f"{plate['number']} {plate['code']}",
            "civil_id": data["civil_id"],
            "status": status,
            "data": facts,
        }
        entry = {"event_id": event["id"], "action": "permit.decided", "status": status, **facts}
        digest = hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
        with self._engine.begin() as conn:
            upsert = pg_insert(records).values(row)
            conn.execute(upsert.on_conflict_do_update(index_elements=["application_no"], set_=row))
            conn.execute(
                insert(audit).values(
                    event_id=event["id"], action="permit.decided", entry=entry, digest=digest
                )
            )
        self._publish(event, RESULT_TYPE, status, facts)

    def _publish(self, event: dict[str, Any], kind: str, status: str, facts: Any) -> None:
        result = {
            "specversion": "1.0",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, event.get("id", ""))),
            "source": "urn:muscat:bench",
            "type": kind,
            "causationid": event.get("id"),
            "datacontenttype": "application/json",
            "data": {"status": status, "facts": facts},
        }
        self._producer.publish(
            json.dumps(result).encode(),
            routing_key=kind,
            content_type="application/cloudevents+json",
            content_encoding="utf-8",
            delivery_mode=2,
        )

    def close(self) -> None:
        self._http.close()
        self._engine.dispose()
        self._out.release()
