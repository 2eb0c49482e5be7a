"""The Connector protocol the core depends on, and the entry-point registry that finds connectors.

An agency is a plugin: a package exposes an object satisfying `Connector` under the entry-point
group `hub.connectors`; the core never imports an agency package by name.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import httpx
from starlette.types import ASGIApp

from hub.contracts.envelope import valid_correlation
from hub.errors import ConfigurationError
from hub.soap.signature import WsSigning

ENTRY_POINT_GROUP = "hub.connectors"

FAULT_MODES = (
    "none",
    "latency",
    "timeout",
    "error",
    "rate-limit",
    "malformed",
    "contract-break",
    "outage",
)


@dataclass(frozen=True)
class CallPolicy:
    """How the hub calls one agency: per-attempt timeout, in-process retries, rate limit."""

    timeout_s: float = 5.0
    attempts: int = 3
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 5.0
    rate_limit_per_s: float | None = None
    circuit_failures: int = 5
    circuit_reset_s: float = 30.0


@dataclass(frozen=True)
class Operation:
    """One question the hub may ask an agency, with the canonical contracts of request and reply.

    `reuse_answer_s`: how long an answer stays good enough to be reused by a later delivery of
    the same message (its retry) instead of asking again; None (the default) never reuses it.
    Only read-only lookups may set it: a write (a request filed, a payment settled) must reach
    the agency on every delivery that needs it.
    """

    name: str
    description: str
    request_contract: str
    response_contract: str
    reuse_answer_s: float | None = None


@dataclass(frozen=True)
class Endpoint:
    """Where an agency lives and how to authenticate to it."""

    url: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    # the municipality's signing identity: WS-Security on SOAP messages where the agency
    # requires them (docs/PKI.md); a detached JWS on each body a `signs_bodies` connector sends
    ws_signing: WsSigning | None = None


@dataclass(frozen=True)
class CallContext:
    """What travels with every agency call: the business case and the message that caused it."""

    correlation_id: str
    message_id: str
    attempt: int = 1


@dataclass(frozen=True)
class Health:
    """The answer of a connector's health check."""

    reachable: bool
    detail: str
    latency_ms: float | None = None


CORRELATION_HEADER = "X-Correlation-ID"

# The agency call in progress on this task; set by the gateway around each attempt.
current_call: ContextVar[CallContext | None] = ContextVar("current_call", default=None)


async def stamp_correlation(request: httpx.Request) -> None:
    """httpx request hook for HTTP connectors: the business case travels with every call."""
    ctx = current_call.get()
    if ctx is not None and valid_correlation(ctx.correlation_id):
        # Only a value in the strict pattern becomes a header (one stored before the pattern
        # was enforced could carry CR/LF, which httpx refuses and the gateway would retry).
        request.headers[CORRELATION_HEADER] = ctx.correlation_id


class AgencyClient(Protocol):
    """A connector bound to one endpoint: it speaks the agency's protocol and maps to canonical."""

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        """Ask the agency; return the canonical reply or raise an `AgencyError` subclass."""
        ...

    async def health(self) -> Health: ...

    async def aclose(self) -> None: ...


Deliver = Callable[[Mapping[str, str]], Awaitable[None]]


@runtime_checkable
class MessageChannel(Protocol):
    """A client that also receives: a telco's SMPP session hands residents' messages (telco,
    smsc_message_id, msisdn, short_code, text) to `deliver`; a failed `deliver` leaves the
    message with the sender, who delivers it again. `listen` runs inside the event loop."""

    def listen(self, deliver: Deliver) -> None: ...


class Simulator(Protocol):
    """A stand-in for the agency: a real HTTP or SOAP server app with switchable faults."""

    @property
    def app(self) -> ASGIApp: ...

    @property
    def credentials(self) -> Mapping[str, str]:
        """The credentials this simulator accepts (what a client bound to it must send)."""
        ...

    @property
    def fault(self) -> str: ...

    def set_fault(self, mode: str) -> None: ...


@runtime_checkable
class Connector(Protocol):
    """What the core knows of an agency."""

    name: str
    title: str
    policy: CallPolicy

    def operations(self) -> Mapping[str, Operation]: ...

    def client(self, endpoint: Endpoint) -> AgencyClient: ...

    def simulator(self, seed: int = 0) -> Simulator: ...


def load_connectors() -> dict[str, Connector]:
    """Discover every installed connector once, indexed by name."""
    found: dict[str, Connector] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        plugin = ep.load()
        if not isinstance(plugin, Connector):
            raise ConfigurationError(
                f"entry point {ep.name} = {ep.value} does not provide a Connector"
            )
        if plugin.name in found:
            raise ConfigurationError(f"two connectors are named {plugin.name!r}")
        found[plugin.name] = plugin
    return found


def pick_connector(connectors: Mapping[str, Connector], name: str) -> Connector:
    """The connector called `name`, or a one-line error listing the installed ones."""
    try:
        return connectors[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(connectors), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        installed = ", ".join(sorted(connectors)) or "none"
        raise ConfigurationError(
            f"unknown connector {name!r}{hint} (installed: {installed})"
        ) from None
