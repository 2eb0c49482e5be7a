"""`hub replay show` and `hub replay list` as an operator reads them, over a store that went
through a real simulated ROP outage, a replay and the case's completion."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.rop import data as rop_register
from hub.messages.marker import ReplayMarker
from hub.pipeline import Outcome
from tests.integration.test_replay import OutageBench, json_lines


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[OutageBench]:
    bench = OutageBench(tmp_path)
    yield bench
    bench.close()


def replayed_case(bench: OutageBench) -> tuple[str, str]:
    """A parking case that died in the outage, was replayed by an operator and completed."""
    body = bench.parking(0)
    message_id = bench.die_in_outage(body)
    ran = bench.cli("run", message_id, "--reason", "ROP back at 09:40", "--operator", "salim")
    assert ran.returncode == 0, ran.stderr
    [(redriven, headers)] = bench.inbound()
    assert bench.handle(redriven, ReplayMarker.from_headers(headers)).outcome is Outcome.DONE
    return message_id, str(json.loads(body)["correlationid"])


def test_show_tells_each_delivery_call_change_result_and_replay(bench: OutageBench) -> None:
    message_id, _ = replayed_case(bench)
    shown = bench.cli("show", message_id, "--json")
    assert shown.returncode == 0, shown.stderr
    [story] = json_lines(shown.stdout)

    assert story["message"]["status"] == "done" and story["message"]["attempts"] == 3
    assert story["message"]["ladder_base"] == 2
    assert [(h["status"], h["attempt"]) for h in story["history"]] == [
        ("pending", 1),
        ("retrying", 1),
        ("pending", 2),
        ("dead", 2),
        ("pending", 2),  # the replay itself
        ("pending", 3),  # the re-driven delivery, carrying the marker
        ("done", 3),
    ]
    assert story["history"][4]["note"] == "replayed by salim: ROP back at 09:40"
    assert story["history"][5]["detail"]["replay"]["operator"] == "salim"

    calls = [(c["delivery"], c["outcome"]) for c in story["agency_calls"]]
    assert calls == [(1, "transient"), (2, "transient"), (3, "ok")]
    assert "503" in story["agency_calls"][0]["error"]

    [change] = story["record_changes"]
    assert change["before"] is None and change["after"]["status"] == "issued"
    [result] = story["results"]
    assert result["type"] == "permit.parking.completed" and result["outcome"] == "issued"
    [replay] = story["replays"]
    assert (replay["operator"], replay["reason"], replay["mode"]) == (
        "salim",
        "ROP back at 09:40",
        "re-drive",
    )
    kinds = [entry["kind"] for entry in story["audit"]]
    assert kinds.index("message.dead") < kinds.index("message.replayed")
    assert kinds.index("message.replayed") < kinds.index("replay.delivered")
    assert kinds[-1] == "message.done"


def test_show_by_correlation_id_renders_the_case_as_tables(bench: OutageBench) -> None:
    message_id, correlationid = replayed_case(bench)
    shown = bench.cli_in_process("show", correlationid)
    assert shown.returncode == 0, shown.stderr
    for heading in ("History", "Agency calls", "Record changes", "Results", "Replays"):
        assert heading in shown.stdout
    assert message_id in shown.stdout and "salim" in shown.stdout


def test_show_masks_civil_ids_in_the_payload_records_and_audit(bench: OutageBench) -> None:
    message_id, correlationid = replayed_case(bench)
    civil_id = rop_register.valid_vehicles()[0].owner.civil_id
    as_json = bench.cli_in_process("show", message_id, "--json")
    as_text = bench.cli_in_process("show", correlationid)
    [story] = json_lines(as_json.stdout)
    assert story["payload"]["civil_id"] == "*" * (len(civil_id) - 2) + civil_id[-2:]
    assert "Inbound payload" in as_text.stdout
    assert civil_id not in as_json.stdout and civil_id not in as_text.stdout


def ids(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [row["id"] for row in json_lines(result.stdout)]


def test_list_filters_by_status_agency_type_case_and_time(bench: OutageBench) -> None:
    dead = bench.die_in_outage(bench.parking(0))
    done_body = bench.parking(1)
    assert bench.handle(done_body).outcome is Outcome.DONE
    done, case = json.loads(done_body)["id"], json.loads(done_body)["correlationid"]

    assert ids(bench.cli_in_process("list", "--json", "--status", "dead")) == [dead]
    assert ids(bench.cli_in_process("list", "--json", "--agency", "rop")) == [dead, done]
    assert (
        ids(bench.cli_in_process("list", "--json", "--agency", "ro")) == []
    )  # whole agency names only
    assert ids(bench.cli_in_process("list", "--json", "--type", "permit.parking.requested")) == [
        dead,
        done,
    ]
    assert ids(bench.cli_in_process("list", "--json", "--correlation-id", case)) == [done]
    assert ids(bench.cli_in_process("list", "--json", "--since", "1h")) == [dead, done]
    assert ids(bench.cli_in_process("list", "--json", "--until", "1h")) == []
    row = json_lines(bench.cli_in_process("list", "--json", "--status", "dead").stdout)[0]
    assert {"id", "type", "status", "correlationid", "agency", "attempts", "last_error"} <= set(row)
    assert row["attempts"] == 2 and "503" in row["last_error"]


def test_list_pages_through_a_large_set(bench: OutageBench) -> None:
    sent = [json.loads(bench.parking(i)) for i in range(5)]
    for event in sent:
        assert bench.handle(json.dumps(event).encode()).outcome is Outcome.DONE
    pages = [
        ids(bench.cli_in_process("list", "--json", "--limit", "2", "--offset", str(o)))
        for o in (0, 2, 4)
    ]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sum(pages, []) == [e["id"] for e in sent]
    table = bench.cli_in_process("list", "--limit", "2", "--offset", "2")
    assert "2 message(s), 3-4 of 5; next page: --offset 4" in table.stdout
