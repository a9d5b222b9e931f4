"""Remove the Fast DDS shared-memory files a crashed process leaves in /dev/shm.

What Fast DDS creates (measured with Fast DDS 3.2 and rmw_fastrtps_cpp 9.3; Fast DDS 2.14 on
ROS 2 Jazzy creates the same files named `fastrtps_*`):
- `fastdds_<16 hex>` + `fastdds_<16 hex>_el`: a participant's data segment (the profile's 32 MB)
  and its lock file, flock-ed by the owner for its whole life;
- `fastdds_port<N>` + `fastdds_port<N>_el` (or `_sl`) + `sem.fastdds_port<N>_mutex`: a listening
  port (52 kB), its listener lock and its named semaphore;
- `fast_datasharing_*`: data-sharing pools (only with data sharing on; rmw turns it off).
A clean shutdown removes all of them. A SIGKILLed process leaves its segment, ports and locks;
and when a live listener then closes a port the dead process had opened, the port file and its
semaphore stay behind without any lock file, which `fastdds shm clean` does not look at.

Cleaning runs the shipped `fastdds shm clean` (lock probing) when it is found, then sweeps what
it leaves: a segment or port with lock files goes when no process holds its lock (the owner is
dead); lock-less leftovers go when no live process maps them. Files younger than MIN_AGE_S are
left alone (their participant may still be starting), so segments in use by any process on the
machine, whatever its domain, are never touched.
"""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SHM_DIR = Path('/dev/shm')
LOCK_SUFFIXES = ('_el', '_sl')
# Fast DDS 3 (Kilted) names its files `fastdds_*`; Fast DDS 2 (Jazzy) the same ones `fastrtps_*`.
_PREFIX = 'fast(?:dds|rtps)_'
_SEGMENT = re.compile(rf'^{_PREFIX}[0-9a-z]{{16}}$')
_PORT = re.compile(rf'^{_PREFIX}port\d{{1,5}}$')
_MUTEX = re.compile(rf'^sem\.({_PREFIX}port\d{{1,5}})_mutex$')
_DATASHARING = re.compile(r'^fast_datasharing_')
_LOCK = re.compile(rf'^({_PREFIX}(?:[0-9a-z]{{16}}|port\d{{1,5}}))_(?:el|sl)$')
# Files younger than this may belong to a participant that is still being created.
MIN_AGE_S = 1.0
TOOL_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ShmCleanReport:
    """What a cleaning pass removed, what it kept because a live process holds it, and how."""

    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    tool: str | None = None
    tool_output: str = ''


def is_fastdds_file(name: str) -> bool:
    """Return whether a /dev/shm file name is one Fast DDS creates."""
    patterns = (_SEGMENT, _PORT, _MUTEX, _DATASHARING, _LOCK)
    return any(p.match(name) for p in patterns)


def fastdds_files(shm_dir: Path = SHM_DIR) -> set[str]:
    """Return the Fast DDS file names currently in `shm_dir`."""
    try:
        return {name for name in os.listdir(shm_dir) if is_fastdds_file(name)}
    except OSError:
        return set()


def find_tool() -> Path | None:
    """Return the shipped `fastdds.py` CLI (it has `shm clean`), looked up next to Python."""
    relative = Path('tools', 'fastdds', 'fastdds.py')
    for root in (Path(sys.prefix), Path(sys.executable).parent.parent):
        candidate = root / relative
        if candidate.is_file():
            return candidate
    return None


def run_tool(tool: Path, timeout_s: float = TOOL_TIMEOUT_S) -> str:
    """Run `fastdds shm clean` and return its output (an error line when it failed)."""
    try:
        done = subprocess.run([sys.executable, str(tool), 'shm', 'clean'], capture_output=True,
                              text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f'fastdds shm clean failed: {e}'
    return (done.stdout + done.stderr).strip()


def is_locked(path: Path) -> bool:
    """Return whether a live process holds the flock on `path` (the probe Fast DDS's tool uses)."""
    import fcntl  # noqa: PLC0415 - POSIX only, like /dev/shm itself

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # unreadable: assume someone else's, keep it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the probe's lock
    return False


def mapped_names(shm_dir: Path = SHM_DIR, proc: Path = Path('/proc')) -> set[str]:
    """Return the names of files in `shm_dir` mapped by any process whose maps we can read."""
    prefix = str(shm_dir.resolve()) + '/'
    names: set[str] = set()
    try:
        pids = [entry.name for entry in os.scandir(proc) if entry.name.isdigit()]
    except OSError:
        return names
    for pid in pids:
        try:
            text = (proc / pid / 'maps').read_text(errors='replace')
        except OSError:
            continue
        for line in text.splitlines():
            at = line.find(prefix)
            if at >= 0:
                names.add(line[at + len(prefix):].removesuffix(' (deleted)'))
    return names


def sweep(shm_dir: Path = SHM_DIR, mapped: set[str] | None = None, now: float | None = None,
          min_age_s: float = MIN_AGE_S) -> ShmCleanReport:
    """Remove the Fast DDS files no live process holds; `mapped` defaults to a /proc scan."""
    names = fastdds_files(shm_dir)
    if mapped is None and any(not locks for locks in _lock_names(names).values()):
        mapped = mapped_names(shm_dir)  # only lock-less leftovers need the (slower) scan
    now = time.time() if now is None else now
    removed: list[str] = []
    kept: list[str] = []
    for _base_name, group in _groups(names):
        if _held(shm_dir, group, mapped or set(), now, min_age_s):
            kept.extend(sorted(group))
            continue
        for name in sorted(group):
            if _remove(shm_dir / name):
                removed.append(name)
    return ShmCleanReport(tuple(removed), tuple(kept))


def held_names(shm_dir: Path = SHM_DIR, min_age_s: float = MIN_AGE_S) -> set[str]:
    """Return the Fast DDS files a sweep would keep because a live process holds them."""
    names = fastdds_files(shm_dir)
    mapped = mapped_names(shm_dir)
    now = time.time()
    held: set[str] = set()
    for _base_name, group in _groups(names):
        if _held(shm_dir, group, mapped, now, min_age_s):
            held |= group
    return held


def clean(shm_dir: Path = SHM_DIR, use_tool: bool = True) -> ShmCleanReport:
    """Run the shipped cleaner (on /dev/shm) when available, then sweep what it leaves."""
    tool = find_tool() if use_tool and shm_dir == SHM_DIR else None
    before = fastdds_files(shm_dir)
    output = run_tool(tool) if tool is not None else ''
    by_tool = before - fastdds_files(shm_dir)
    report = sweep(shm_dir)
    removed = tuple(sorted(by_tool)) + report.removed
    return ShmCleanReport(removed, report.kept, str(tool) if tool else None, output)


def _groups(names: set[str]) -> Iterable[tuple[str, set[str]]]:
    """Group each segment or port with its lock files and semaphore."""
    groups: dict[str, set[str]] = {}
    for name in names:
        base = _base(name)
        groups.setdefault(base, set()).add(name)
    return sorted(groups.items())


def _lock_names(names: set[str]) -> dict[str, list[str]]:
    return {base: [n for n in group if _LOCK.match(n)] for base, group in _groups(names)}


def _base(name: str) -> str:
    lock = _LOCK.match(name)
    if lock:
        return lock.group(1)
    mutex = _MUTEX.match(name)
    if mutex:
        return mutex.group(1)
    return name


def _held(shm_dir: Path, group: set[str], mapped: set[str], now: float,
          min_age_s: float) -> bool:
    if any(_age(shm_dir / name, now) < min_age_s for name in group):
        return True
    locks = [name for name in group if _LOCK.match(name)]
    if locks:
        # The owner holds the lock for the file's whole life. A reader that still maps a dead
        # owner's segment keeps its mapping when the name goes (as with `fastdds shm clean`).
        return any(is_locked(shm_dir / name) for name in locks)
    return any(name in mapped for name in group)


def _age(path: Path, now: float) -> float:
    try:
        st = path.stat()
    except OSError:
        return float('inf')
    return now - st.st_mtime


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except OSError:
        return False
    return True
