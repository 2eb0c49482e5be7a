"""The copy of the checkpoints outside the database: an append-only JSON-lines file.

The database alone cannot show its newest entries being cut off, nor a chain recomputed by
someone who can write to it; a second, signed record kept elsewhere can.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from hub.audit.checkpoint import Checkpoint
from hub.config import Settings

DEFAULT_JOURNAL_NAME = "audit-checkpoints.jsonl"


@dataclass
class JournalContents:
    """What the file holds: its checkpoints, and the numbers of lines that are not one."""

    exists: bool
    checkpoints: list[Checkpoint] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)


class CheckpointJournal:
    """Appends one line per checkpoint (O_APPEND, fsync); never rewrites a line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckpointJournal:
        return cls(settings.audit_checkpoint_file or settings.data_dir / DEFAULT_JOURNAL_NAME)

    def append(self, checkpoint: Checkpoint) -> None:
        # One write of one short line with O_APPEND: lines of concurrent writers never interleave.
        line = json.dumps(checkpoint.as_dict(), separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> JournalContents:
        if not self.path.exists():
            return JournalContents(exists=False)
        contents = JournalContents(exists=True)
        with self.path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    contents.checkpoints.append(Checkpoint.from_dict(json.loads(line)))
                except (ValueError, AttributeError):
                    contents.bad_lines.append(number)
        return contents
