"""Every failure the hub knows, as a shallow tree: retry decisions read the class, not the text."""

from __future__ import annotations

from dataclasses import dataclass


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class ConfigurationError(HubError):
    """The hub is configured in a way it cannot run with (bad URL, unknown connector, ...)."""


class AgencyError(HubError):
    """An agency call did not give a usable answer."""

    def __init__(self, agency: str, operation: str, reason: str) -> None:
        super().__init__(f"{agency}.{operation}: {reason}")
        self.agency = agency
        self.operation = operation
        self.reason = reason


class TransientAgencyError(AgencyError):
    """Worth retrying: timeout, connection refused, 5xx, 429, agency outage."""

    def __init__(
        self, agency: str, operation: str, reason: str, retry_after: float | None = None
    ) -> None:
        super().__init__(agency, operation, reason)
        self.retry_after = retry_after


class AgencyRateLimited(TransientAgencyError):
    """The agency asked us to back off (HTTP 429, or 503 with Retry-After): transient like any
    overload, but a class of its own so metrics and operators can tell throttling from outage."""

    def __init__(
        self,
        agency: str,
        operation: str,
        reason: str,
        retry_after: float | None = None,
        *,
        http_status: int | None = None,
    ) -> None:
        super().__init__(agency, operation, reason, retry_after)
        self.http_status = http_status


class CircuitOpen(TransientAgencyError):
    """The agency's circuit is open: its work waits for the retry ladder instead of calling."""


class PermanentAgencyError(AgencyError):
    """Retrying the same request cannot help: 4xx, SOAP Client fault, refused credentials."""


class AgencyAuthError(PermanentAgencyError):
    """The agency refused our credentials (HTTP 401/403, a WS-Security fault): permanent, since
    the same credentials fail again until someone fixes them; a class of its own so that shows."""

    def __init__(
        self, agency: str, operation: str, reason: str, *, http_status: int | None = None
    ) -> None:
        super().__init__(agency, operation, reason)
        self.http_status = http_status  # None when a SOAP fault, not an HTTP status, refused


@dataclass(frozen=True)
class FieldError:
    """One failing field of a contract check: a dotted path and a human reason."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ContractViolation(HubError):
    """Data does not satisfy its contract; names each failing field."""

    def __init__(self, contract_id: str, errors: list[FieldError]) -> None:
        listed = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        super().__init__(f"{contract_id}: {listed}")
        self.contract_id = contract_id
        self.errors = errors


class AgencyContractViolation(PermanentAgencyError):
    """An agency answered with a reply that breaks its contract; never stored, never retried."""

    def __init__(self, agency: str, operation: str, violation: ContractViolation) -> None:
        super().__init__(agency, operation, f"reply breaks contract: {violation}")
        self.violation = violation


class EnvelopeError(HubError):
    """A queue message is not a usable CloudEvent (undecodable, missing attributes)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors[:5]))
        self.errors = errors


class UnknownMessageType(HubError):
    """No contract or flow handles this message type."""


class Unauthorised(HubError):
    """No or wrong credentials."""


class Forbidden(HubError):
    """Valid credentials without the grant for this operation."""
