"""Where the time goes: the top entries of a py-spy collapsed-stack recording (`--format raw`),
limited to the threads that run the pipeline (the worker's consume loop and the outbox relay).

    .venv/bin/python -m bench.profile_summary bench/results/profile-<row>.txt [--top 20]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# A frame looks like "function (path/to/file.py:123)"; line numbers are folded away.
FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")
PIPELINE_MARKERS = ("hub/bus/worker.py", "kombu/mixins.py")


def _short(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for root in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if root in path:
            path = path.split(root, 1)[1]
    return f"{match['func']} ({path})"


def summarise(path: Path, top: int) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """Samples on the pipeline's thread; top functions by own time and by inclusive time."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        if not any(marker in stack for marker in PIPELINE_MARKERS):
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";")[1:]]  # first frame is the thread
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    return total, own.most_common(top), inclusive.most_common(top * 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("recording", type=Path)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    total, own, inclusive = summarise(args.recording, args.top)
    print(f"{total} samples on the pipeline thread")
    print("\nown time (leaf frame):")
    for frame, count in own:
        print(f"{count / total:6.1%}  {frame}")
    print("\ninclusive time:")
    for frame, count in inclusive:
        print(f"{count / total:6.1%}  {frame}")


if __name__ == "__main__":
    main()
