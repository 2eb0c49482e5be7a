"""Item 4 of the security review: the entries after the last signed checkpoint (the unsealed
tail) could be rewritten, re-hashed and the head fixed with `hub audit verify` still saying
intact. The runtime now seals on a timer and at shutdown; verify reports the unsealed window
and its age and needs only the public key, kept beside the checkpoint file."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import select, text
from typer.testing import CliRunner

from hub.audit.entry import StoredEntry
from hub.audit.keys import PUBLIC_KEY_NAME
from hub.audit.sealing import last_checkpoint
from hub.audit.verify import verify_store
from hub.cli.app import app
from hub.config import Settings
from hub.messages.unit_of_work import UnitOfWork
from hub.runtime.build import HubRuntime, build_runtime
from hub.store.tables import AuditHead


def _settings(tmp_path: Path, interval_s: float) -> Settings:
    # Commits alone would not seal for an hour: only the timer or shutdown can.
    return Settings(
        data_dir=tmp_path,
        simulators=False,
        audit_checkpoint_every=100_000,
        audit_checkpoint_seconds=3600,
        audit_seal_interval_s=interval_s,
    )


def _write(runtime: HubRuntime, entries: int) -> None:
    for number in range(entries):
        with UnitOfWork(
            runtime.sessions,
            correlationid="case-1",
            message_id=f"m-{number}",
            sealer=runtime.sealer,
        ) as uow:
            uow.audit("test.step", number=number)
            uow.commit()


def _head(runtime: HubRuntime) -> int:
    with runtime.sessions() as session:
        return int(session.scalars(select(AuditHead.seq)).one())


def _sealed(runtime: HubRuntime) -> int:
    with runtime.sessions() as session:
        last = last_checkpoint(session)
    return last[0] if last else 0


def _rewrite_last_entry(runtime: HubRuntime) -> None:
    """What the review did: edit the newest entry, re-hash it, fix the head."""
    with runtime.engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT seq, recorded_at, correlationid, message_id, kind, actor, detail,"
                " prev_hash, entry_hash FROM audit_entries ORDER BY seq DESC LIMIT 1"
            )
        ).one()
        detail = row[6] if isinstance(row[6], dict) else json.loads(row[6])
        entry = StoredEntry(*row[:6], {**detail, "number": -1}, *row[7:])
        forged = entry._replace(entry_hash=entry.hash_as(entry.seq))
        conn.execute(
            text("UPDATE audit_entries SET detail = :d, entry_hash = :h WHERE seq = :s"),
            {"d": json.dumps(forged.detail), "h": forged.entry_hash, "s": forged.seq},
        )
        conn.execute(text("UPDATE audit_head SET entry_hash = :h"), {"h": forged.entry_hash})


def test_the_timer_seals_the_tail_so_a_rewrite_is_caught(tmp_path: Path) -> None:
    settings = _settings(tmp_path, interval_s=0.2)
    with build_runtime(settings) as runtime:
        _write(runtime, 5)
        for _ in range(200):  # bounded wait for the timer's checkpoint
            if _sealed(runtime) == _head(runtime):
                break
            time.sleep(0.05)
        assert _sealed(runtime) == _head(runtime) == 5
        _rewrite_last_entry(runtime)
    result = verify_store(settings)
    assert not result.ok and result.first is not None and result.first.seq == 5


def test_shutdown_seals_what_is_left(tmp_path: Path) -> None:
    settings = _settings(tmp_path, interval_s=0)
    with build_runtime(settings) as runtime:
        _write(runtime, 4)
        assert _sealed(runtime) < _head(runtime)  # neither commits nor a timer sealed it
    result = verify_store(settings)
    assert result.ok and result.unsealed == 0 and result.checkpoints >= 1


def test_verify_needs_only_the_public_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path, interval_s=0)
    with build_runtime(settings) as runtime:
        _write(runtime, 3)
    assert (tmp_path / PUBLIC_KEY_NAME).exists()
    (tmp_path / "audit-signing-key.pem").rename(tmp_path.parent / f"{tmp_path.name}-key.pem")
    result = verify_store(settings)
    assert result.ok, result.problems
    assert not (tmp_path / "audit-signing-key.pem").exists()  # verify made no key either


def test_verify_reports_the_unsealed_window_and_its_age(tmp_path: Path) -> None:
    settings = _settings(tmp_path, interval_s=0)
    runtime = build_runtime(settings)
    try:
        _write(runtime, 3)
        result = verify_store(settings)
        assert result.ok and result.unsealed == 2  # the first commit sealed seq 1
        assert result.unsealed_since is not None and result.unsealed_age_s is not None
        env = {
            "HUB_DATA_DIR": str(tmp_path),
            "HUB_SIMULATORS": "false",
            "HUB_AUDIT_CHECKPOINT_SECONDS": "3600",
        }
        shown = CliRunner().invoke(app, ["audit", "verify"], env=env)
        assert shown.exit_code == 0, shown.stdout
        assert "unsealed window seq 2-3 since" in shown.stdout
        time.sleep(0.05)
        strict = CliRunner().invoke(app, ["audit", "verify", "--max-unsealed-age", "0"], env=env)
        assert strict.exit_code == 1
    finally:
        runtime.seal_timer = None  # leave the tail unsealed: this test reads it
        runtime.close()
