"""The partner REST API's OpenAPI document as it is checked in at
contracts/partners/openapi.json: `python -m hub.api.openapi` rewrites that file, and a test
fails when the served document and the file differ."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from contracts import CONTRACTS_DIR

OPENAPI_PATH = CONTRACTS_DIR / "partners" / "openapi.json"


def render(document: dict[str, Any]) -> str:
    """The checked-in form: sorted keys, two-space indent, Arabic as characters."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def current_document() -> dict[str, Any]:
    """The document the app serves, from an app built on a throwaway store."""
    import hub.bus  # noqa: F401  (the embedded transport's URL alias)
    from hub.api.app import build_services, create_app
    from hub.bus.publisher import Publisher
    from hub.config import load_settings
    from hub.contracts.registry import ContractRegistry
    from hub.store.engine import make_engine, make_session_factory

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        settings = load_settings(
            data_dir=root,
            database_url=f"sqlite:///{root / 'hub.sqlite3'}",
            broker_url=f"embedded+sqlite:///{root / 'broker.sqlite3'}",
            partner_pepper="openapi-only",
        )
        engine = make_engine(settings.resolved_database_url)
        publisher = Publisher(settings.resolved_broker_url)
        try:
            services = build_services(
                settings, make_session_factory(engine), ContractRegistry.load(), publisher
            )
            return create_app(services).openapi()
        finally:
            publisher.close()
            engine.dispose()


def main() -> None:
    OPENAPI_PATH.write_text(render(current_document()), encoding="utf-8")
    sys.stdout.write(f"wrote {OPENAPI_PATH}\n")


if __name__ == "__main__":
    main()
