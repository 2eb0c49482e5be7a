"""structlog set-up: JSON lines with the correlation id, personal data masked in every line.

Masking is a processor (structlog's style), composed once here, never repeated at call sites.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

# A civil id stands alone: not inside a longer number, a word or a UUID's hex run.
_CIVIL_ID = re.compile(r"(?<![0-9A-Za-z-])[0-9]{8,9}(?![0-9A-Za-z-])")
# +968, 00968 or bare 968 before eight digits (SMPP addresses carry no "+").
_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+|00)?968[ -]?([0-9]{8})(?![0-9A-Za-z])")
SENSITIVE_KEYS = frozenset(
    {"civil_id", "phone", "msisdn", "owner_civil_id", "password", "api_key", "secret"}
)


def mask_digits(text: str) -> str:
    """Keep the last two digits so an operator can tell ids apart without learning them."""
    digits = sum(ch.isdigit() for ch in text)
    return "*" * max(digits - 2, 0) + "".join(ch for ch in text if ch.isdigit())[-2:]


def mask_text(text: str) -> str:
    """Mask phone numbers and civil-id-shaped numbers inside free text."""
    text = _PHONE.sub(lambda m: "+968" + mask_digits(m.group(1)), text)
    return _CIVIL_ID.sub(lambda m: mask_digits(m.group(0)), text)


def mask_value(key: str, value: Any) -> Any:
    """Mask one logged value, walking into mappings and lists."""
    if key in SENSITIVE_KEYS and value is not None:
        if key in {"password", "api_key", "secret"}:
            return "***"
        return mask_digits(str(value))
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(key, v) for v in value]
    return value


def mask_personal_data(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: no civil id, phone number or secret leaves the process unmasked."""
    return {key: mask_value(key, value) for key, value in event_dict.items()}


def add_process_id(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Which worker process wrote the line (several compete on one queue)."""
    event_dict.setdefault("pid", os.getpid())
    return event_dict


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """JSON logs to `stream` (stderr by default); libraries' own logging kept to warnings."""
    logging.basicConfig(level=logging.WARNING, stream=stream or sys.stderr, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            add_process_id,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_personal_data,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        # One write per line: worker processes sharing stderr never interleave inside a line.
        logger_factory=structlog.WriteLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def bind_case(correlationid: str, message_id: str, **extra: Any) -> None:
    """Put the business case on every log line written by this task or thread from now on."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        correlationid=correlationid, message_id=message_id, **extra
    )


def unbind_case() -> None:
    structlog.contextvars.clear_contextvars()
