"""`hub simulators sms TELCO MSISDN TEXT`: a resident's message injected into the SMSC simulator
of a running `hub serve` is booked by that hub; what it says when it cannot."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, select

from connectors.rop import data as rop_register
from hub.store.tables import ParkingBooking
from tests.e2e.harness import HubProcess, hub_env, run_cli
from tests.integration.test_connector_commands import one_line_error


def test_an_injected_sms_is_booked_by_the_running_hub(tmp_path: Path) -> None:
    env = hub_env(tmp_path)
    car = rop_register.valid_vehicles()[0]
    with HubProcess(env, tmp_path / "hub.log").start():
        done = run_cli(
            env, "simulators", "sms", "omantel", "96891112222",
            f"{car.plate_number} {car.plate_code} P202 120",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "omantel SMSC delivered message" in done.stdout
        engine = create_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
        rows: list[ParkingBooking] = []
        for _ in range(200):  # bounded
            with engine.connect() as conn:
                rows = list(conn.execute(select(ParkingBooking.__table__)))  # type: ignore[arg-type]
            if rows:
                break
            time.sleep(0.1)
        engine.dispose()
    assert [(r.plate_number, r.parking_code, r.minutes) for r in rows] == [
        (car.plate_number, "P202", 120)
    ]


def test_sms_without_a_running_hub_says_what_to_start(tmp_path: Path) -> None:
    line = one_line_error(run_cli(hub_env(tmp_path), "simulators", "sms", "omantel", "968", "x"))
    assert "no simulators are running" in line


def test_sms_to_an_agency_that_is_no_telco_says_so(tmp_path: Path) -> None:
    env = hub_env(tmp_path)
    with HubProcess(env, tmp_path / "hub.log").start():
        line = one_line_error(run_cli(env, "simulators", "sms", "rop", "96891112222", "hi"))
    assert "rop has no SMSC simulator" in line
