"""Checkpoint signing, the key on disk, the checkpoint policy, the external file and which
checkpoints verify trusts: no database needed."""

from __future__ import annotations

import dataclasses
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from structlog.testing import capture_logs

from hub.audit.anchors import collect_anchors
from hub.audit.checkpoint import Checkpoint, CheckpointPolicy, CheckpointSigner, signature_problem
from hub.audit.findings import ProblemKind, VerifyResult
from hub.audit.journal import CheckpointJournal, JournalContents
from hub.audit.keys import existing_signing_key, key_id, signing_key
from hub.config import Settings
from hub.errors import ConfigurationError

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
HASH = "ab" * 32


@pytest.fixture
def signer() -> CheckpointSigner:
    return CheckpointSigner(Ed25519PrivateKey.generate())


def test_a_signed_checkpoint_verifies_with_the_hub_key(signer: CheckpointSigner) -> None:
    checkpoint = signer.sign(42, HASH, T0)
    assert signature_problem(checkpoint, signer.public_key) is None
    assert checkpoint.key_id == key_id(signer.public_key)


@pytest.mark.parametrize(
    "change", [{"seq": 43}, {"head_hash": "cd" * 32}, {"signed_at": T0.replace(hour=9).isoformat()}]
)
def test_any_changed_field_breaks_the_signature(
    signer: CheckpointSigner, change: dict[str, object]
) -> None:
    forged = dataclasses.replace(signer.sign(42, HASH, T0), **change)  # type: ignore[arg-type]
    assert signature_problem(forged, signer.public_key) == "signature does not match the checkpoint"


def test_a_checkpoint_from_another_key_or_unsigned_is_named(signer: CheckpointSigner) -> None:
    other = CheckpointSigner(Ed25519PrivateKey.generate()).sign(42, HASH, T0)
    assert f"signed by key {other.key_id}" in (signature_problem(other, signer.public_key) or "")
    unsigned = dataclasses.replace(signer.sign(42, HASH, T0), signature="")
    assert signature_problem(unsigned, signer.public_key) == "unsigned"
    garbled = dataclasses.replace(signer.sign(42, HASH, T0), signature="not base64!")
    assert signature_problem(garbled, signer.public_key) == "signature is not base64"


def test_policy_signs_every_n_entries_or_after_t_seconds() -> None:
    policy = CheckpointPolicy(every=10, seconds=60)
    assert policy.due(1, None, T0)  # the first entries of a trail get a checkpoint at once
    assert not policy.due(0, None, T0)
    assert not policy.due(19, (10, T0), T0 + timedelta(seconds=59))
    assert policy.due(20, (10, T0), T0 + timedelta(seconds=1))
    assert policy.due(11, (10, T0), T0 + timedelta(seconds=60))
    assert not policy.due(10, (10, T0), T0 + timedelta(hours=1))  # nothing new to vouch for


def test_default_key_is_made_once_owner_only_and_never_logged(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert existing_signing_key(settings) is None
    assert list(tmp_path.iterdir()) == []  # verify's look-up makes nothing
    with capture_logs() as logs:
        first = signing_key(settings)
    second = signing_key(settings)
    path = tmp_path / "audit-signing-key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_id(first.public_key()) == key_id(second.public_key())
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no scratch file left
    assert "PRIVATE KEY" not in repr(logs) and "PRIVATE KEY" in path.read_text()
    assert "PRIVATE" not in repr(CheckpointSigner(first))


def test_configured_key_must_exist_and_be_ed25519(tmp_path: Path) -> None:
    missing = Settings(data_dir=tmp_path, audit_key_file=tmp_path / "nope.pem")
    with pytest.raises(ConfigurationError, match="not found"):
        signing_key(missing)
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigurationError, match="not a readable PEM key"):
        signing_key(Settings(data_dir=tmp_path, audit_key_file=junk))


def test_journal_appends_lines_and_reports_the_ones_it_cannot_read(
    tmp_path: Path, signer: CheckpointSigner
) -> None:
    journal = CheckpointJournal(tmp_path / "cp.jsonl")
    assert journal.read() == JournalContents(exists=False)
    first, second = signer.sign(5, HASH, T0), signer.sign(10, "cd" * 32, T0)
    journal.append(first)
    with journal.path.open("a") as raw:
        raw.write('{"seq": "ten"}\n')
    journal.append(second)
    contents = journal.read()
    assert contents.checkpoints == [first, second] and contents.bad_lines == [2]


def _anchors(
    stored: list[Checkpoint], external: JournalContents | None, signer: CheckpointSigner
) -> tuple[dict[int, str], VerifyResult]:
    result = VerifyResult()
    anchors = collect_anchors(stored, external, signer.public_key, result)
    return {seq: anchor.head_hash for seq, anchor in anchors.items()}, result


def test_anchors_trust_signed_checkpoints_and_tolerate_an_unmirrored_newest_one(
    signer: CheckpointSigner,
) -> None:
    cps = [signer.sign(seq, f"{seq:064x}", T0) for seq in (5, 10, 15)]
    anchors, result = _anchors(cps, JournalContents(True, cps[:2]), signer)
    assert anchors == {5: f"{5:064x}", 10: f"{10:064x}", 15: f"{15:064x}"}
    assert result.ok and result.unmirrored == 1


def test_anchors_name_each_untrustworthy_checkpoint(signer: CheckpointSigner) -> None:
    cps = [signer.sign(seq, f"{seq:064x}", T0) for seq in (5, 10)]
    rewritten = CheckpointSigner(Ed25519PrivateKey.generate()).sign(10, "ee" * 32, T0)
    anchors, result = _anchors([cps[0], rewritten], JournalContents(True, cps, [3]), signer)
    found = {(p.seq, p.kind) for p in result.problems}
    assert found == {
        (10, ProblemKind.BAD_SIGNATURE),
        (10, ProblemKind.CHECKPOINT_DIFFERS),
        (0, ProblemKind.JOURNAL_UNREADABLE),
    }
    assert anchors[10] == f"{10:064x}"  # the external file's copy is the one believed


def test_anchors_name_a_missing_external_file_and_a_missing_key(signer: CheckpointSigner) -> None:
    cps = [signer.sign(7, HASH, T0)]
    _, result = _anchors(cps, JournalContents(exists=False), signer)
    assert [(p.seq, p.kind) for p in result.problems] == [(7, ProblemKind.JOURNAL_UNREADABLE)]
    keyless = VerifyResult()
    assert collect_anchors(cps, JournalContents(True, cps), None, keyless) == {}
    assert keyless.first is not None and keyless.first.kind is ProblemKind.NO_KEY
    _, from_file_only = _anchors([], JournalContents(True, cps), signer)
    assert [p.kind for p in from_file_only.problems] == [ProblemKind.CHECKPOINT_MISSING]
