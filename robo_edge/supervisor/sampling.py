"""CPU and memory of a node process together with its children, read with psutil."""

import psutil

MB = 1024.0 * 1024.0


class ResourceSampler:
    """Samples process trees; keeps psutil handles so cpu_percent measures since the last call."""

    def __init__(self) -> None:
        self._handles: dict[int, psutil.Process] = {}
        self._seen: set[int] = set()

    def sample(self, pid: int) -> tuple[float | None, float | None]:
        """Return (cpu_percent, rss_mb) of `pid` and its descendants; (None, None) if it is gone.

        The first sample of a process reads 0 % CPU: psutil needs two readings.
        """
        try:
            root = self._handle(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return None, None
        cpu = 0.0
        rss = 0
        for proc in tree:
            try:
                handle = self._handle(proc.pid)
                cpu += handle.cpu_percent(interval=None)
                rss += handle.memory_info().rss
            except psutil.Error:
                continue
        return cpu, rss / MB

    def prune(self) -> None:
        """Forget the handles not used since the previous prune (exited processes)."""
        self._handles = {pid: h for pid, h in self._handles.items() if pid in self._seen}
        self._seen = set()

    def _handle(self, pid: int) -> psutil.Process:
        self._seen.add(pid)
        handle = self._handles.get(pid)
        if handle is None or not handle.is_running():  # is_running also detects a reused pid
            handle = psutil.Process(pid)
            self._handles[pid] = handle
        return handle
