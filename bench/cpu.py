"""CPU time Clarion's processes (and the whole machine) spent during one phase,
read from /proc: whether a process is the limit (near 100% of one core) and
whether a core stayed idle beside it."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import TracebackType

from rss import children

TICKS = os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float:
    """User and system time of `pid` and of its living descendants."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
        except OSError:
            continue  # gone
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
        pending += children(current)
    return total


def machine_ticks() -> tuple[int, int]:
    """(idle, total) jiffies of all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return idle, sum(values[:8])  # user … steal; guest time is counted in user


class CpuUse:
    """`with CpuUse(pids, phase) as use: …`, then `use.figures()`."""

    def __init__(self, processes: dict[str, int], phase: str) -> None:
        self.processes = processes
        self.phase = phase
        self._figures: dict[str, float] = {}

    def __enter__(self) -> CpuUse:
        self._started = time.monotonic()
        self._seconds = {name: process_seconds(pid) for name, pid in self.processes.items()}
        self._machine = machine_ticks()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        wall = time.monotonic() - self._started
        for name, pid in self.processes.items():
            used = process_seconds(pid) - self._seconds[name]
            self._figures[f"CPU, {self.phase}, {name} (% of one core)"] = 100 * used / wall
        idle_now, total_now = machine_ticks()  # one read: both from the same moment
        idle = idle_now - self._machine[0]
        total = total_now - self._machine[1]
        self._figures[f"CPU, {self.phase}, machine idle (% of all cores)"] = (
            100 * idle / total if total else 0.0
        )

    def figures(self) -> dict[str, float]:
        return self._figures
