"""What a first-time operator hits: ids shown whole at 80 columns, `replay show` by a unique id
prefix (as git does), the inbound payload and a refused renewal's failing checks in
`replay show`, `postgres://` URLs, and a PasswordDigest refused with a reason."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import text

from hub.agencies.gateway import AgencyGateway
from hub.config import Settings
from hub.contracts.registry import ContractRegistry
from hub.flows import default_flows
from hub.pipeline import Pipeline
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from tests.e2e.harness import REPO, hub_env, run_cli
from tests.integration.test_cli import fill_store


def test_replay_list_never_cuts_an_id_at_80_columns(tmp_path: Path) -> None:
    ids = fill_store(tmp_path)
    listed = run_cli(hub_env(tmp_path, COLUMNS="80"), "replay", "list")
    assert listed.returncode == 0, listed.stderr
    for event_id in ids:
        assert event_id in listed.stdout, listed.stdout


def test_replay_show_takes_a_unique_id_prefix(tmp_path: Path) -> None:
    ids = fill_store(tmp_path)
    done = next(i for i, status in ids.items() if status == "done")
    shown = run_cli(hub_env(tmp_path), "replay", "show", "--json", done[:8])
    assert shown.returncode == 0, shown.stderr
    [story] = [json.loads(line) for line in shown.stdout.splitlines()]
    assert story["message"]["id"] == done


def store_rejections(data_dir: Path, ids: list[str]) -> None:
    """Messages with these ids in the store `hub` reads (refused: their data is incomplete)."""
    engine = make_engine(f"sqlite:///{data_dir / 'hub.sqlite3'}")
    upgrade(engine)
    contracts = ContractRegistry.load()
    gateway = AgencyGateway({}, {}, contracts)
    pipeline = Pipeline(make_session_factory(engine), contracts, default_flows(), gateway, [60.0])
    for event_id in ids:
        event = {"specversion": "1.0", "id": event_id, "source": "urn:t"}
        body = event | {"type": "permit.parking.requested", "data": {"application_no": "PKA-9"}}
        asyncio.run(pipeline.handle(json.dumps(body).encode()))
    engine.dispose()


def test_an_ambiguous_prefix_is_one_line_naming_candidates(tmp_path: Path) -> None:
    ids = ["abcd1111-0000-4000-8000-000000000001", "abcd2222-0000-4000-8000-000000000002"]
    store_rejections(tmp_path, ids)
    shown = run_cli(hub_env(tmp_path), "replay", "show", "abcd")
    assert shown.returncode == 1
    [line] = shown.stderr.strip().splitlines()
    assert "ambiguous" in line and "'abcd'" in line
    assert all(i in line for i in ids), line
    unique = run_cli(hub_env(tmp_path), "replay", "show", "--json", "abcd2")
    assert json.loads(unique.stdout)["message"]["id"] == ids[1]
    missing = run_cli(hub_env(tmp_path), "replay", "show", "ffff")
    assert missing.returncode == 1 and "no message" in missing.stderr


def test_replay_show_prints_the_inbound_payload(tmp_path: Path) -> None:
    ids = fill_store(tmp_path)
    done = next(i for i, status in ids.items() if status == "done")
    shown = run_cli(hub_env(tmp_path, COLUMNS="120"), "replay", "show", done)
    assert shown.returncode == 0, shown.stderr
    assert "Inbound payload" in shown.stdout
    assert '"application_no": "PKA-1"' in shown.stdout


def test_postgres_urls_are_accepted_as_postgresql_tools_accept_them(postgres_url: str) -> None:
    bare = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    for url in (bare, bare.replace("postgresql://", "postgres://")):
        settings = Settings(database_url=url)
        assert settings.resolved_database_url.startswith("postgresql+psycopg://")
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("select 1")).scalar() == 1
        finally:
            engine.dispose()


def test_readme_documents_the_fast_tests_and_the_demo_traffic() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "pytest tests/unit" in readme
    for kind in (
        "licence renewal",
        "building permit",
        "violation",
        "ownership",
        "commercial registration",
    ):
        assert kind in readme.lower(), kind
