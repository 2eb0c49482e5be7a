"""structlog set-up: JSON lines with the correlation id, personal data masked in every line.

Masking is a processor (structlog's style), composed once here, never repeated at call sites.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from functools import lru_cache
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
    if not _MAYBE_PERSONAL.search(text):
        return text  # most of a line's values: event names, ids, statuses
    text = _PHONE.sub(lambda m: "+968" + mask_digits(m.group(1)), text)
    text = _CIVIL_ID.sub(lambda m: mask_digits(m.group(0)), text)
    return mask_near_misses(text)


def mask_value(key: str, value: Any) -> Any:
    """Mask one logged value, walking into mappings and lists."""
    kind = sensitive_kind(key)
    if kind is not None and value is not None:
        if kind == "secret":
            return "***"
        return mask_digits(str(value)) if not isinstance(value, Mapping | list) else "***"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        if sensitive_kind(str(value.get("field", ""))) is not None:
            value = {**value, "message": mask_quoted(str(value.get("message", "")))}
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(key, v) for v in value]
    return value


# --- Near-miss forms (security review, item 5): kept in their own block ---------------------
# Digits as written in Arabic too (Arabic-Indic and Extended Arabic-Indic).
_D = "[0-9\u0660-\u0669\u06f0-\u06f9]"
# A civil id with a letter or a short prefix beside it: "A09123456", "09123456A", "ID:09123456",
# "CIV-09123456", or in Arabic digits. A UUID's or digest's hex run has letters on both sides
# and is left alone.
_AN = "0-9A-Za-z\u0660-\u0669\u06f0-\u06f9"  # letters and digits that join a token
_CIVIL_ID_NEAR = re.compile(
    rf"(?<![{_AN}])(?:[A-Za-z]{{1,3}}[-:#]?|#)?{_D}{{8,9}}[A-Za-z]?(?![{_AN}-])"
)
_CC = "(?:968|\u0669\u0666\u0668|\u06f9\u06f6\u06f8)"  # Oman's country code, any digits
_MOBILE = "[79\u0667\u0669\u06f7\u06f9]"  # an Omani mobile starts with 7 or 9
# Omani numbers however written: +968 / 00968 / 968, spaces or hyphens between groups; and a
# local mobile split in two groups of four.
_PHONE_NEAR = re.compile(
    rf"(?<![{_AN}])(?:(?:\+|00)[ -]?{_CC}|{_CC})[ -]?(?:{_D}[ -]?){{7}}{_D}(?!{_D})"
    rf"|(?<![{_AN}+-]){_MOBILE}{_D}{{3}}[ -]{_D}{{4}}(?![{_AN}])"
)
# "civil_id: '0912345X'" or "phone=+968 ..." in free text (rejection reasons, errors).
_NAMED_VALUE = re.compile(
    r"(?i)((?:civil_?id|phone|msisdn|mobile)[\w.\[\]]*['\"]?\s*[:=]\s*)('[^']*'|\"[^\"]*\"|\S+)"
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# What every pattern above needs to match: eight digits (in any of the three scripts, single
# spaces or hyphens between them allowed), or a personal field named in the text. A text
# without either has nothing to mask, and is let through after this one scan.
_MAYBE_PERSONAL = re.compile(rf"{_D}(?:[ -]?{_D}){{7}}|(?i:civil|phone|msisdn|mobile)")
_PERSONAL_KEYS = ("civilid", "phone", "msisdn", "mobile")
_SECRET_KEYS = ("password", "apikey", "secret", "token", "authorization", "pepper")


@lru_cache(maxsize=4096)  # a log line's keys come from a small, fixed set
def sensitive_kind(key: str) -> str | None:
    """ "personal" for a field named like a civil id or phone number (`owner_civil_id`,
    `PreviousOwnerCivilId`, `msisdn`), "secret" for credentials, else None."""
    name = re.sub(r"[^a-z]", "", key.lower())
    if key in SENSITIVE_KEYS - {"password", "api_key", "secret"} or any(
        part in name for part in _PERSONAL_KEYS
    ):
        return "personal"
    if key in {"password", "api_key", "secret"} or any(part in name for part in _SECRET_KEYS):
        return "secret"
    return None


def mask_quoted(text: str) -> str:
    """Every quoted literal in `text` replaced: the value of a personal field, in a reason."""
    return _QUOTED.sub("'***'", text)


def mask_near_misses(text: str) -> str:
    """The forms the plain patterns miss: letters or prefixes beside a civil id, Arabic-Indic
    digits, phone numbers with 00968 or separators, and values named by their field."""
    text = _NAMED_VALUE.sub(lambda m: m.group(1) + "***", text)
    text = _PHONE_NEAR.sub(lambda m: "+968" + mask_digits(m.group(0))[-2:].rjust(8, "*"), text)
    return _CIVIL_ID_NEAR.sub(lambda m: mask_digits(m.group(0)), text)


def mask_personal_data(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: no civil id, phone number or secret leaves the process unmasked."""
    return {key: mask_value(key, value) for key, value in event_dict.items()}


def add_process_id(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Which worker process wrote the line (several compete on one queue)."""
    event_dict.setdefault("pid", os.getpid())
    return event_dict


_JSON_HANDLER = "hub-json"


def _line_processors() -> list[Any]:
    """What makes every line: case, level, pid, time, traceback as a field, masking."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        add_process_id,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_personal_data,
    ]


def _stdlib_json_handler(stream: TextIO) -> logging.Handler:
    """Libraries' own logging (uvicorn, kombu, SQLAlchemy) as the same masked JSON lines: a
    traceback is a field of one line, never plain text."""
    handler = logging.StreamHandler(stream)
    handler.set_name(_JSON_HANDLER)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *_line_processors()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )
    )
    return handler


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """JSON logs to `stream` (stderr by default); libraries' own logging kept to warnings."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _JSON_HANDLER or (
            isinstance(handler, logging.StreamHandler)
            and handler.stream in (sys.stderr, stream)
            and not isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter)
            and type(handler) is logging.StreamHandler
        ):
            root.removeHandler(handler)
    root.addHandler(_stdlib_json_handler(stream or sys.stderr))
    root.setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers print plain text; its records go to the JSON handler instead.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[
            *_line_processors(),
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
