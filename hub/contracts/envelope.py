"""The CloudEvents 1.0 envelope every queue message travels in: structured JSON mode (the whole
event in the body), or the AMQP binding's binary mode (attributes in application properties,
the body is `data`), which many producers use. The hub itself sends structured mode."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.errors import EnvelopeError, FieldError

CONTENT_TYPE = "application/cloudevents+json"
HUB_SOURCE = "urn:muscat-hub"

CORRELATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
"""What a correlation id may be, from any door (queue, REST, SOAP): it is shown to operators,
stored, and sent to agencies as an HTTP header, so no control characters, spaces or markup."""
CORRELATION_ID_RULE = (
    "must be 1 to 128 letters, digits or . _ : - (starting with a letter or digit)"
)
_CORRELATION_ID = re.compile(CORRELATION_ID_PATTERN[:-1] + r"\Z")


def valid_correlation(value: object) -> bool:
    """Whether `value` may serve as a correlation id (the strict pattern, no trailing newline)."""
    return isinstance(value, str) and _CORRELATION_ID.match(value) is not None


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
    correlationid: str | None = None
    causationid: str | None = None

    @field_validator("correlationid")
    @classmethod
    def _strict_correlation(cls, value: str | None) -> str | None:
        if value is not None and not valid_correlation(value):
            raise ValueError(f"correlationid {CORRELATION_ID_RULE}")
        return value

    @property
    def correlation(self) -> str:
        """The business case id: the sender's, or the event id when the sender gave none (or,
        for an id outside the correlation pattern, a digest of it: a case id is always safe to
        log, show and send as a header)."""
        if self.correlationid:
            return self.correlationid
        return self.id if valid_correlation(self.id) else body_digest(self.id.encode("utf-8"))

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
        except (UnicodeDecodeError, ValueError) as exc:  # ValueError: past the digit limit
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


BINARY_PREFIXES = ("cloudevents:", "cloudevents_", "ce-", "ce_")
"""Application-property prefixes of binary mode: the CloudEvents AMQP binding's `cloudEvents:`
and its JMS-friendly `cloudEvents_`, and `ce-` as the RabbitMQ binding and many AMQP 0-9-1
producers write it. Matched without regard to case."""


KOMBU_RAW_TYPES = ("", "application/data")


def binary_attributes(headers: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The CloudEvent attributes a binary-mode message carries in its application properties,
    or None when it has no `specversion` there (then the body is the whole event)."""
    found: dict[str, Any] = {}
    for name, value in (headers or {}).items():
        lowered = str(name).lower()
        prefix = next((p for p in BINARY_PREFIXES if lowered.startswith(p)), None)
        if prefix is not None:
            found[lowered[len(prefix) :]] = _attribute(lowered[len(prefix) :], value)
    return found if "specversion" in found else None


def _attribute(name: str, value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if name == "time" and isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000.0, tz=UTC)  # an AMQP timestamp, in ms
    return value


def is_structured(content_type: str | None) -> bool:
    return bool(content_type) and str(content_type).lower().startswith("application/cloudevents")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json") or media == "text/json"


def parse_message(
    body: bytes, headers: Mapping[str, Any] | None = None, content_type: str | None = None
) -> CloudEvent:
    """Decode an inbound AMQP message in either content mode, or raise `EnvelopeError`.

    Binary mode when the application properties carry the attributes and the content type is
    not a CloudEvents format; its `data` must be JSON (the contracts are JSON Schemas)."""
    attributes = binary_attributes(headers)
    if attributes is None or is_structured(content_type):
        return parse_event(body)
    if content_type in KOMBU_RAW_TYPES:
        content_type = None  # kombu's label for bytes published without a content type
    datacontenttype = content_type or attributes.get("datacontenttype") or "application/json"
    if not _is_json(str(datacontenttype)):
        message = f"the hub reads JSON data only, not {datacontenttype!r}"
        raise EnvelopeError([FieldError("datacontenttype", message)])
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError([FieldError("data", f"not JSON: {exc}")]) from None
    return parse_event(attributes | {"datacontenttype": str(datacontenttype), "data": data})


def structured_body(
    body: bytes, headers: Mapping[str, Any] | None = None, content_type: str | None = None
) -> bytes:
    """The structured-mode bytes of a message that decodes (what the hub stores, redelivers
    and replays, so no attribute lives only in headers); the body as is when it does not."""
    if binary_attributes(headers) is None or is_structured(content_type):
        return body
    try:
        return parse_message(body, headers, content_type).to_json()
    except EnvelopeError:
        return body
