"""Evidence end to end, through the public faces only: `hub pki init` makes the development
CA, a `hub serve` renews a licence and delivers it as a signed bilingual PDF that
`hub documents verify` accepts and rejects once altered; the case's evidence bundle
(`hub audit export --bundle`) verifies offline with `hub audit verify-bundle`, which names
each tampering."""

from __future__ import annotations

import base64
import json
import shutil
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors import world
from hub.audit.bundle_verify import verify_bundle
from hub.cli.app import app
from hub.pki.material import read_certificate
from tests.e2e.harness import HubProcess, MunicipalBackend, hub_env, run_cli
from tests.e2e.test_workflows import renewal

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Case:
    env: dict[str, str]
    root: Path
    case: str
    licence_no: str
    pdf: Path
    bundle: Path


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Case]:
    root = tmp_path_factory.mktemp("evidence")
    env = hub_env(root / "data")
    env["HUB_TEST_BROKER_URL"] = f"embedded+sqlite:///{root / 'data' / 'broker.sqlite3'}"
    made = run_cli(env, "pki", "init")
    assert made.returncode == 0, made.stderr
    again = run_cli(env, "pki", "init")
    assert again.returncode == 1 and "never replaced" in again.stderr
    good = world.healthy()[3]
    correlation = f"case-{uuid.uuid4().hex[:12]}"
    backend = MunicipalBackend(env["HUB_TEST_BROKER_URL"])
    try:
        with HubProcess(env, root / "hub.log"):
            cause = backend.send(
                "licence.renewal.requested", renewal(good), correlationid=correlation
            )
            [result] = [r for r in backend.results_for({cause}) if r["causationid"] == cause]
    finally:
        backend.close()
    assert result["data"]["decision"] == "approved"
    pdf, bundle = root / "licence.pdf", root / "case.zip"
    exported = run_cli(env, "documents", "export", good.licence_no, "--output", str(pdf))
    assert exported.returncode == 0, exported.stderr
    bundled = run_cli(
        env, "audit", "export", "--correlation-id", correlation, "--bundle", str(bundle)
    )
    assert bundled.returncode == 0, bundled.stderr
    yield Case(env, root, correlation, good.licence_no, pdf, bundle)


def test_a_renewed_licence_is_a_signed_pdf_that_verifies(case: Case) -> None:
    checked = run_cli(case.env, "documents", "verify", str(case.pdf))
    assert checked.returncode == 0, checked.stderr
    assert "valid signature by" in checked.stdout and "Muscat Municipality" in checked.stdout
    assert case.pdf.read_bytes().startswith(b"%PDF")


def test_an_altered_pdf_fails_with_a_clear_message(case: Case) -> None:
    data = bytearray(case.pdf.read_bytes())
    at = data.index(b"/Title")  # inside the signed byte range
    data[at + 8] ^= 0x01
    altered = case.root / "altered.pdf"
    altered.write_bytes(bytes(data))
    appended = case.root / "appended.pdf"
    appended.write_bytes(case.pdf.read_bytes() + b"\n%% a line added after signing\n")
    results = {
        path.name: run_cli(case.env, "documents", "verify", str(path))
        for path in (altered, appended)
    }
    assert all(r.returncode == 1 for r in results.values())
    assert "altered after signing" in results["altered.pdf"].stderr
    assert "added after the signature" in results["appended.pdf"].stderr


def test_every_agency_exchange_is_sealed_and_listed_by_replay_show(case: Case) -> None:
    shown = run_cli(case.env, "replay", "show", case.case, "--json")
    assert shown.returncode == 0, shown.stderr
    [story] = [json.loads(line) for line in shown.stdout.splitlines() if line.strip()]
    sealed = story["sealed_exchanges"]
    agencies = {"moci", "occi", "labour", "rop", "electricity"}
    assert {(x["agency"], x["direction"]) for x in sealed} == {
        (agency, way) for agency in agencies for way in ("request", "reply")
    }
    assert all(len(x["sha256"]) == 64 and x["bytes"] > 0 for x in sealed)
    hub_vars = {k: v for k, v in case.env.items() if k.startswith("HUB_")}
    table = CliRunner().invoke(app, ["replay", "show", case.case], env=hub_vars)
    assert table.exit_code == 0 and "Sealed exchanges" in table.stdout


def test_the_bundle_verifies_offline_on_another_machine(case: Case, tmp_path: Path) -> None:
    elsewhere = hub_env(tmp_path / "empty")  # no store, no CA, no keys: only the file
    copy = tmp_path / "bundle.zip"
    shutil.copy(case.bundle, copy)
    checked = run_cli(elsewhere, "audit", "verify-bundle", str(copy))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"case {case.case}" in checked.stdout and "1 documents" in checked.stdout
    assert "10 sealed exchanges" in checked.stdout
    assert "compare its sha256" in checked.stdout  # no --ca: the bundle's own CA, named
    national = read_certificate(case.root / "data/pki/ca.pem")
    with_ca = verify_bundle(copy, national)  # what --ca does, in process
    assert with_ca.ok and not with_ca.anchor_from_bundle


Tamper = Callable[[dict[str, bytes]], None]


def _edit_entry(files: dict[str, bytes]) -> None:
    lines = files["entries.jsonl"].decode().splitlines()
    entry = json.loads(lines[1])
    entry["actor"] = "someone-else"
    lines[1] = json.dumps(entry, ensure_ascii=False)
    files["entries.jsonl"] = ("\n".join(lines) + "\n").encode()


def _drop_entry(files: dict[str, bytes]) -> None:
    lines = files["entries.jsonl"].decode().splitlines()
    del lines[2]
    files["entries.jsonl"] = ("\n".join(lines) + "\n").encode()


def _alter_document(files: dict[str, bytes]) -> None:
    [name] = [n for n in files if n.startswith("documents/")]
    data = bytearray(files[name])
    data[data.index(b"/Title") + 8] ^= 0x01
    files[name] = bytes(data)


def _alter_exchange(files: dict[str, bytes]) -> None:
    lines = files["exchanges.jsonl"].decode().splitlines()
    record = json.loads(lines[1])
    record["body"] = base64.b64encode(b'{"found": false}').decode()
    lines[1] = json.dumps(record)
    files["exchanges.jsonl"] = ("\n".join(lines) + "\n").encode()


def _forge_checkpoint(files: dict[str, bytes]) -> None:
    checkpoint = json.loads(files["checkpoint.json"])
    checkpoint["head_hash"] = "f" * 64
    files["checkpoint.json"] = json.dumps(checkpoint).encode()


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (_edit_entry, ["entries.jsonl: changed after the bundle was made", "edited"]),
        (_drop_entry, ["entries removed"]),
        (_alter_document, ["altered after signing", "not the document the audit trail recorded"]),
        (_forge_checkpoint, ["checkpoint.json: signature does not match"]),
        (_alter_exchange, ["exchanges.jsonl line 2: the exchanged bytes were changed"]),
    ],
    ids=["edited-entry", "removed-entry", "altered-document", "forged-checkpoint", "exchange"],
)
def test_each_tampering_is_named(
    case: Case, tmp_path: Path, tamper: Tamper, named: list[str]
) -> None:
    with zipfile.ZipFile(case.bundle) as original:
        files = {name: original.read(name) for name in original.namelist()}
    tamper(files)
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as out:
        for name, data in files.items():
            out.writestr(name, data)
    verdict = verify_bundle(forged)  # the CLI's own check, in process (the CLI: above)
    assert not verdict.ok
    for words in named:
        assert any(words in problem for problem in verdict.problems), verdict.problems


def test_the_command_names_a_tampering_and_exits_1(case: Case, tmp_path: Path) -> None:
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(case.bundle) as original, zipfile.ZipFile(forged, "w") as out:
        for name in original.namelist():
            data = original.read(name)
            out.writestr(name, data + b"\n" if name == "checkpoint.json" else data)
    checked = run_cli(hub_env(tmp_path / "empty"), "audit", "verify-bundle", str(forged))
    assert checked.returncode == 1
    assert "CHANGED: checkpoint.json: changed after the bundle was made" in checked.stdout
    assert "NOT intact" in checked.stderr
