"""Every HUB_ setting in one typed object; nothing else in the hub reads os.environ."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hub.errors import ConfigurationError

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """`'90s'`, `'5m'`, `'2h'` -> seconds; a bare number means seconds."""
    text = text.strip()
    for unit in sorted(_DURATION_UNITS, key=len, reverse=True):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * _DURATION_UNITS[unit]
    if text.replace(".", "", 1).isdigit():
        return float(text)
    raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m, 2h)")


class AgencyEndpointSettings(BaseModel):
    """Where one agency is and how to authenticate; unset means 'use the embedded simulator'."""

    url: str
    credentials: dict[str, str] = Field(default_factory=dict)
    ws_security: bool = Field(
        False,
        description="Sign SOAP requests with the municipality's certificate (WS-Security) and "
        "require signed replies from the national CA (docs/PKI.md).",
    )


def normalise_database_url(url: str) -> str:
    """`postgres://` and `postgresql://` (what libpq and psql accept) as SQLAlchemy's
    `postgresql+psycopg://`, the driver the hub ships; other URLs unchanged."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


class Settings(BaseSettings):
    """The hub's configuration: `HUB_*` variables, or a TOML file named by HUB_CONFIG_FILE."""

    model_config = SettingsConfigDict(env_prefix="HUB_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(Path("./var"), description="Where the embedded store and queue live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the records store; default SQLite under data_dir."
    )
    broker_url: str | None = Field(
        None, description="kombu URL of the broker; default the embedded transport under data_dir."
    )
    http_host: str = Field("127.0.0.1", description="Bind address of the REST and SOAP endpoints.")
    http_port: int = Field(
        8080, ge=0, le=65535, description="Port of the REST and SOAP endpoints (0: any free)."
    )
    http_max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest REST or SOAP request body; larger gets 413."
    )
    http_request_timeout_s: float = Field(
        30.0, gt=0, description="Longest a REST or SOAP request may take, upload included."
    )
    partner_rate_limit: int = Field(
        600, ge=1, description="Calls one partner may make per rate window (all processes)."
    )
    partner_rate_window_s: int = Field(
        60, ge=1, description="Length of a partner's fixed rate-limit window, in seconds."
    )
    partner_pepper: SecretStr | None = Field(
        None, description="HMAC key for partner secrets; default a file under data_dir."
    )
    retry_ladder: str = Field(
        "1m,5m,30m,2h",
        description="Delays of broker redelivery; after the last, a message is dead.",
    )
    max_unexpected_errors: int = Field(
        3,
        ge=1,
        description="Unexpected errors (a bug, not an agency's) after which a message is failed.",
    )
    prefetch: int = Field(8, ge=1, description="Messages a worker may hold unacknowledged.")
    circuit_reset_s: float | None = Field(
        None, gt=0, description="Seconds an open circuit waits, for every agency (default: policy)."
    )
    embedded_lease_s: float = Field(
        60.0, gt=0, description="Embedded transport: seconds until a dead worker's message returns."
    )
    log_level: str = Field("info", description="Lowest log level written.")
    simulators: bool = Field(
        True, description="Start the agency simulators on loopback for agencies without a URL."
    )
    rate_limits: dict[str, float] = Field(
        default_factory=dict,
        description="Calls/s per agency and worker, e.g. HUB_RATE_LIMITS__ROP=50; 0 lifts it.",
    )
    agencies: dict[str, AgencyEndpointSettings] = Field(
        default_factory=dict, description="Per-agency endpoint, e.g. HUB_AGENCIES__ROP__URL."
    )
    audit_key_file: Path | None = Field(
        None, description="Ed25519 key (PEM) signing audit checkpoints; default made in data_dir."
    )
    audit_checkpoint_every: int = Field(
        100, ge=1, description="Sign an audit checkpoint at least every this many entries."
    )
    audit_checkpoint_seconds: float = Field(
        60.0, gt=0, description="...or at the first commit this many seconds after the last one."
    )
    audit_checkpoint_file: Path | None = Field(
        None, description="Append-only JSON-lines copy of checkpoints; default under data_dir."
    )

    sms_reminder_minutes: int = Field(
        10,
        ge=0,
        lt=30,  # under the shortest booking, so a booking is never due as it is made
        description="Minutes before an SMS parking booking ends that its reminder goes (0: none).",
    )
    sms_reminder_sweep_s: float = Field(
        30.0, gt=0, description="How often each worker looks for bookings due a reminder."
    )

    # Network faults (docs/OPERATIONS.md, "Network faults"): how soon a dead or silent
    # connection is noticed, thrown away and opened again.
    broker_heartbeat_s: float = Field(
        30.0, ge=0, description="AMQP heartbeat of every broker connection (0: none)."
    )
    broker_confirm_timeout_s: float = Field(
        10.0, gt=0, description="Longest wait for the broker's confirm of one publish."
    )
    store_timeout_s: float = Field(
        30.0, gt=0, description="Longest wait for any one PostgreSQL round trip (or connect)."
    )
    startup_wait_s: float = Field(
        0.0, ge=0, description="How long start-up waits for the store and broker (0: forever)."
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        """`postgres://` and `postgresql://`, as PostgreSQL's own tools take them, name the
        driver the hub ships (SQLAlchemy would look for a missing psycopg2 plugin)."""
        return normalise_database_url(value) if value else value

    # Security hardening (docs/SECURITY.md): the unsealed audit tail, the verify key, failed
    # authentication, slow clients.
    audit_seal_interval_s: float = Field(
        5.0,
        ge=0,
        description="Seal the audit trail's unsealed tail this often (0: only on "
        "commits and at shutdown).",
    )
    audit_public_key_file: Path | None = Field(
        None,
        description="Public key (PEM) `hub audit verify` checks checkpoints with; default "
        "beside the checkpoint file, written by the hub from its signing key.",
    )
    auth_fail_limit: int = Field(
        10,
        ge=1,
        description="Failed authentications per client address, and per claimed "
        "partner, per window before further attempts get 429.",
    )
    auth_fail_window_s: int = Field(
        60, ge=1, description="The failed-authentication window; one audit summary per window."
    )
    # Partner server hardening (docs/SECURITY.md items 8 and 9).
    public_base_url: str | None = Field(
        None,
        description="The partner endpoints' public address (e.g. https://hub.example.om), "
        "written into served WSDLs; unset: the address the server listens on. Never the "
        "caller's Host header.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks (CIDR) of reverse proxies whose "
        "X-Forwarded-For names the client; from anyone else the header is ignored.",
    )
    http_header_timeout_s: float = Field(
        10.0,
        gt=0,
        description="A request's line and headers must arrive within this long of the "
        "connection opening (or of the next request's first byte), else it is closed.",
    )
    http_keep_alive_timeout_s: float = Field(
        5.0, gt=0, description="Close an idle keep-alive connection after this long."
    )
    http_max_connections: int = Field(
        200,
        ge=1,
        description="Concurrent connections and requests the partner server takes before "
        "answering 503 (uvicorn's limit_concurrency).",
    )
    http_max_header_bytes: int = Field(
        16_384, ge=1024, description="Largest request head (line and headers) h11 reads."
    )
    health_probe_cache_s: float = Field(
        5.0,
        ge=0,
        description="Reuse a broker probe (/readyz, /metrics queue depth) for this long "
        "instead of opening a broker connection per request.",
    )
    ops_port: int | None = Field(
        None,
        description="Serve /metrics and /docs on this port (HUB_HTTP_HOST) instead of the "
        "partner port; 0: any free port.",
    )
    ops_token: SecretStr | None = Field(
        None,
        description="When set, /metrics and /docs need `Authorization: Bearer <token>`.",
    )
    console_host: str = Field("127.0.0.1", description="Bind address of `hub console`.")
    console_port: int = Field(8090, ge=0, description="Port of `hub console` (0: any free).")
    console_session_idle_s: int = Field(
        1800, ge=1, description="A console session ends after this long without a request."
    )
    console_session_max_s: int = Field(
        8 * 3600, ge=1, description="A console session ends this long after sign-in, in use or not."
    )
    console_secure_cookies: bool = Field(
        False, description="Mark the console's cookies Secure (set when served behind HTTPS)."
    )
    # --- National PKI (docs/PKI.md): each unset file falls back to the development CA's
    # copy under pki_dir when `hub pki init` made one; nothing is ever generated silently.
    pki_dir: Path | None = Field(
        None, description="Where `hub pki init` keeps the development CA; default data_dir/pki."
    )
    pki_ca_file: Path | None = Field(
        None, description="The CA certificate partners' and the hub's certificates chain to."
    )
    pki_crl_file: Path | None = Field(
        None, description="The CA's certificate revocation list (PEM), re-read when it changes."
    )
    tls_cert_file: Path | None = Field(
        None, description="The partner server's TLS certificate; set: it serves HTTPS."
    )
    tls_key_file: Path | None = Field(None, description="The TLS certificate's private key.")
    signing_cert_file: Path | None = Field(
        None, description="The municipality's signing certificate (documents, sealed messages)."
    )
    signing_key_file: Path | None = Field(None, description="The signing certificate's key.")
    soap_signatures_required: bool = Field(
        False,
        description="Partners' SOAP messages must carry a WS-Security signature by a "
        "certificate of the national CA (signed ones are checked either way).",
    )

    # Payments (docs/PAYMENTS.md): decided cases that owe a fee, the providers' notifications.
    payments_billing: bool = Field(
        False,
        description="Bill decided cases that owe a fee; the paid notification completes them.",
    )
    payments_billed_services: list[str] = Field(
        default_factory=lambda: ["licence-renewal", "parking-permit", "building-permit"],
        description="Which cases billing covers (licence-renewal, parking-permit, "
        "building-permit).",
    )
    payment_provider: str = Field("epay", description="The provider new payments are made with.")
    payment_return_url: str = Field(
        "https://baladiyati.mm.gov.om/payments/return",
        description="Where the payer's browser returns after paying.",
    )
    payment_notify_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="HMAC-SHA256 key of each provider's notifications, e.g. "
        "HUB_PAYMENT_NOTIFY_KEYS__EPAY; a simulated provider's own key otherwise.",
    )
    payment_status_after_s: float = Field(
        600.0, gt=0, description="Ask a payment's status when no notification came this long."
    )
    payment_sweep_s: float = Field(
        60.0, gt=0, description="How often each worker looks for silent or expired payments."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"not an address or network: {part!r}") from None
        return value

    @property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        parts = (p.strip() for p in self.trusted_proxies.split(","))
        return [ipaddress.ip_network(p, strict=False) for p in parts if p]

    @field_validator("retry_ladder")
    @classmethod
    def _ladder_parses(cls, value: str) -> str:
        for step in value.split(","):
            parse_duration(step)
        return value

    @property
    def retry_delays_s(self) -> list[float]:
        return [parse_duration(step) for step in self.retry_ladder.split(",") if step.strip()]

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'hub.sqlite3').resolve()}"

    @property
    def resolved_broker_url(self) -> str:
        return (
            self.broker_url or f"embedded+sqlite:///{(self.data_dir / 'broker.sqlite3').resolve()}"
        )

    @property
    def broker_transport_options(self) -> dict[str, Any]:
        """kombu transport options for the configured broker."""
        if self.resolved_broker_url.startswith("embedded+"):
            return {"visibility_timeout": self.embedded_lease_s}
        return {}

    @property
    def is_embedded(self) -> bool:
        return self.database_url is None and self.broker_url is None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = os.environ.get("HUB_CONFIG_FILE")
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and TOML file), or a one-line `ConfigurationError` naming
    what a person changes: the `HUB_*` variable or the file's key, never the internal name."""
    config_file = os.environ.get("HUB_CONFIG_FILE") or None
    file_keys = _check_config_file(config_file) if config_file else {}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc, config_file, file_keys)) from None
    except ValueError as exc:  # a source that could not be read at all
        raise ConfigurationError(f"invalid configuration: {exc}".splitlines()[0]) from None


def _check_config_file(path_text: str) -> dict[str, Any]:
    """The file's settings; a missing, unreadable or misspelt file is an error, not ignored."""
    path = Path(path_text)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"invalid configuration: HUB_CONFIG_FILE={path_text}: no such file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigurationError(
            f"invalid configuration: HUB_CONFIG_FILE={path_text}: cannot read it ({reason})"
        ) from None
    try:
        keys = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"invalid configuration: {path_text} is not TOML: {exc}") from None
    known = list(Settings.model_fields)
    for key in keys:
        if key not in Settings.model_fields:
            near = get_close_matches(key, known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigurationError(
                f"invalid configuration: unknown setting {key!r} in {path_text}{hint}"
            )
    return keys


def _describe(exc: ValidationError, config_file: str | None, file_keys: dict[str, Any]) -> str:
    """The first error as one line, under the name its value was given by."""
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    message = error["msg"]
    variable = "HUB_" + "__".join(loc).upper()
    given = {name.upper(): value for name, value in os.environ.items()}
    if variable in given:
        where = (
            f"{variable}={given[variable]!r}"
            if not _is_number(given[variable])
            else (f"{variable}={given[variable]}")
        )
        return f"invalid configuration: {where}: {message}"
    value: Any = file_keys
    for part in loc:
        value = value.get(part) if isinstance(value, dict) else None
    if config_file and value is not None:
        return f"invalid configuration: {'.'.join(loc)} = {value!r} in {config_file}: {message}"
    return f"invalid configuration: {variable} (or {'.'.join(loc)} in a config file): {message}"


def _is_number(text: str) -> bool:
    return text.strip().lstrip("-").replace(".", "", 1).isdigit()
