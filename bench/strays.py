"""Clarion processes already running when a bench run starts. A leftover
worker or server competes for the same two cores and makes every figure of
the run wrong, so the run refuses to start beside one."""

from __future__ import annotations

import os
from pathlib import Path


def running_clarion() -> list[str]:
    """`pid: command line` of every other process that runs the `clarion` command."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone, or not ours to read
        words = [a.decode(errors="replace") for a in argv if a]
        if any(Path(word).name == "clarion" for word in words[:2]):
            found.append(f"{entry.name}: {' '.join(words)}")
    return found
