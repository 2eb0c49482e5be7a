"""The CloudEvents 1.0 envelope (structured JSON mode) every queue message travels in."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.errors import EnvelopeError, FieldError

CONTENT_TYPE = "application/cloudevents+json"
HUB_SOURCE = "urn:muscat-hub"


class CloudEvent(BaseModel):
    """A CloudEvent with the hub's `correlationid` and `causationid` extensions."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1, max_length=200)
    time: datetime | None = None
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    data: dict[str, Any]
    correlationid: str | None = Field(None, min_length=1, max_length=200)
    causationid: str | None = None

    @property
    def correlation(self) -> str:
        """The business case id: the sender's, or the event id when the sender gave none."""
        return self.correlationid or self.id

    def to_json(self) -> bytes:
        """Structured-mode bytes; UTF-8 with Arabic kept as characters, not escapes."""
        return json.dumps(
            self.model_dump(mode="json", exclude_none=True), ensure_ascii=False
        ).encode("utf-8")


def new_event(
    type_: str,
    data: dict[str, Any],
    *,
    dataschema: str,
    correlationid: str,
    causationid: str | None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """An event the hub emits: dataschema and correlationid are always set."""
    return CloudEvent(
        specversion="1.0",
        id=event_id or str(uuid.uuid4()),
        source=HUB_SOURCE,
        type=type_,
        time=time or datetime.now(UTC),
        datacontenttype="application/json",
        dataschema=dataschema,
        data=data,
        correlationid=correlationid,
        causationid=causationid,
    )


def derived_id(*parts: str) -> str:
    """A stable id computed from its inputs, so a redelivered cause yields the same result id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def body_digest(body: bytes) -> str:
    """Stable id for a body that has no usable event id: the same garbage dedupes to one row."""
    return "sha256:" + hashlib.sha256(body).hexdigest()[:32]


_BINARY_PREFIX = "base64:"


def body_to_text(body: bytes) -> str:
    """How a raw body is kept in the store: as is when it is clean UTF-8, else base64
    (PostgreSQL text cannot hold NUL, and a replay must get back the exact bytes)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text or text.startswith(_BINARY_PREFIX):
        return _BINARY_PREFIX + base64.b64encode(body).decode("ascii")
    return text


def body_from_text(text: str) -> bytes:
    """The exact bytes `body_to_text` was given."""
    if text.startswith(_BINARY_PREFIX):
        return base64.b64decode(text[len(_BINARY_PREFIX) :])
    return text.encode("utf-8")


def parse_event(body: bytes | str | dict[str, Any]) -> CloudEvent:
    """Decode and check an inbound envelope, or raise `EnvelopeError` naming each bad attribute."""
    raw: Any = body
    if isinstance(body, bytes | str):
        try:
            raw = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError([FieldError("(body)", f"not JSON: {exc}")]) from None
    if not isinstance(raw, dict):
        raise EnvelopeError([FieldError("(body)", "a CloudEvent must be a JSON object")])
    try:
        return CloudEvent.model_validate(raw)
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in err["loc"]) or "(body)", err["msg"])
            for err in exc.errors()
        ]
        raise EnvelopeError(errors) from None
