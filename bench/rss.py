"""Peak resident memory of Clarion's processes, sampled from /proc in a thread."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType


def rss_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None  # gone
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None  # a zombie has no VmRSS


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


class PeakRss:
    """Every `interval` seconds, VmRSS of each named process and of its descendants
    (uvicorn's worker processes, say), keeping the peak of each."""

    def __init__(self, processes: dict[str, int], interval: float = 0.5) -> None:
        self.roots = processes
        self.interval = interval
        self.labels: dict[int, str] = {}
        self.peaks_kb: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> None:
        for name, root in self.roots.items():
            self.labels.setdefault(root, name)
            pending = [root]
            while pending:
                pid = pending.pop()
                descendants = children(pid)
                for number, child in enumerate(descendants, start=1):
                    self.labels.setdefault(child, f"{self.labels[pid]} child {number}")
                pending += descendants
                kb = rss_kb(pid)
                if kb is not None:
                    label = self.labels[pid]
                    self.peaks_kb[label] = max(kb, self.peaks_kb.get(label, 0))

    def figures(self) -> dict[str, float]:
        return {f"peak RSS, {label} (MB)": kb / 1024 for label, kb in self.peaks_kb.items()}
