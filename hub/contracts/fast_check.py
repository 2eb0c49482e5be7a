"""Contract checks at a compiled validator's speed, with jsonschema still the judge.

jsonschema (pure Python) takes about 70 us to check a parking request; jsonschema-rs (Rust)
about 1 us. Only a "valid" from jsonschema-rs is taken as it stands. On anything else the
reference (jsonschema) decides and writes the errors, so every error the hub reports reads as
before. jsonschema-rs is set up so that it cannot accept what the reference refuses:

- formats: it is handed the reference's own format functions, and the formats the reference
  leaves unchecked (their optional libraries are not installed) pass, so one function checks
  each format on both paths;
- a tuple: jsonschema-rs takes it for an array and the reference does not, so an instance that
  holds one goes to the reference;
- a value jsonschema-rs cannot convert (not a JSON type, a key that is not a string) makes it
  raise `ValueError`, and the reference decides.

Where jsonschema-rs is stricter (a pattern's `$` before a trailing newline, NaN, infinity), its
"invalid" only sends the instance to the reference, which has the last word.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jsonschema_rs
import structlog
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

log = structlog.get_logger("hub.contracts")

# JSON Schema 2020-12 Validation, section 7.3: the formats jsonschema-rs checks on its own.
DRAFT_2020_12_FORMATS = (
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
)

FormatFunction = Callable[[Any], bool]


def _unchecked(_: Any) -> bool:
    """A format the reference does not check: jsonschema-rs must not refuse it either."""
    return True


def formats_checked_like(checker: FormatChecker) -> dict[str, FormatFunction]:
    """jsonschema-rs's format functions: `checker`'s own for each format it checks, and a pass
    for every other draft 2020-12 format (jsonschema-rs would otherwise check uri, hostname and
    duration, which the reference lets through)."""
    formats: dict[str, FormatFunction] = dict.fromkeys(DRAFT_2020_12_FORMATS, _unchecked)
    for name in checker.checkers:
        formats[name] = functools.partial(checker.conforms, format=name)
    return formats


def fast_registry(resources: Iterable[tuple[str, dict[str, Any]]]) -> jsonschema_rs.Registry:
    """The contracts jsonschema-rs resolves a `$ref` to, by their `urn:` `$id`."""
    return jsonschema_rs.Registry(list(resources), draft=jsonschema_rs.Draft202012)


def compile_fast(
    schema: Any, registry: jsonschema_rs.Registry, formats: dict[str, FormatFunction]
) -> jsonschema_rs.Validator | None:
    """jsonschema-rs's validator of `schema`, never fetching anything; None when it cannot
    compile the schema (a pattern only Python's `re` reads, a `$ref` it cannot resolve), in
    which case the reference checks alone, as before."""
    try:
        return jsonschema_rs.Draft202012Validator(
            schema, registry=registry, formats=formats, validate_formats=True, offline=True
        )
    except ValueError as exc:
        log.warning("contract.fast_check_unavailable", reason=str(exc).splitlines()[0])
        return None


def _holds_tuple(instance: Any) -> bool:
    """Whether a tuple is anywhere in `instance` (jsonschema-rs would take it for an array)."""
    pending = [instance]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, tuple):
            return True
    return False


class CheckedValidator:
    """One schema compiled twice: `fast` (jsonschema-rs, None where it could not compile the
    schema) says "valid" on the hot path, and `reference` (jsonschema) decides every other
    case and writes the errors."""

    def __init__(
        self, reference: Draft202012Validator, fast: jsonschema_rs.Validator | None
    ) -> None:
        self.reference = reference
        self.fast = fast

    def fast_accepts(self, instance: Any) -> bool:
        """jsonschema-rs's "valid", when it can give one; False sends `instance` to the
        reference."""
        if self.fast is None or _holds_tuple(instance):
            return False
        try:
            return self.fast.is_valid(instance)
        except ValueError:  # a value that is not one of JSON's types
            return False

    def is_valid(self, instance: Any) -> bool:
        return self.fast_accepts(instance) or self.reference.is_valid(instance)

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        """The reference's errors; none, without asking it, when jsonschema-rs accepts."""
        if self.fast_accepts(instance):
            return iter(())
        return self.reference.iter_errors(instance)
