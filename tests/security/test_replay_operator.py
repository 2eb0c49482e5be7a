"""Item 9 of the security review: `--operator` on `hub replay run` is a name the operator
types; the audit entry of each replay also records the operating-system user who ran it."""

from __future__ import annotations

import getpass
from pathlib import Path

from sqlalchemy import select

from hub.store.tables import AuditEntry
from tests.integration.test_replay import OutageBench


def test_a_replay_records_the_os_user_beside_the_given_operator(tmp_path: Path) -> None:
    bench = OutageBench(tmp_path)
    try:
        dead = bench.die_in_outage(bench.parking(0))
        ran = bench.cli("run", dead, "--reason", "audit test", "--operator", "someone.else")
        assert ran.returncode == 0, ran.stderr
        with bench.sessions() as session:
            entry = session.scalars(
                select(AuditEntry).where(AuditEntry.kind == "message.replayed")
            ).one()
        assert entry.actor == "operator:someone.else"
        assert entry.detail["operator"] == "someone.else"
        assert entry.detail["os_user"] == getpass.getuser()
    finally:
        bench.close()
