"""Host description stored with every benchmark result, so figures can be compared honestly."""

import datetime
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# Distribution names as pip knows them (the ROS wheels publish rclpy as ros-rclpy too).
PACKAGES = {
    'rclpy': ('rclpy', 'ros-rclpy'),
    'fastdds': ('ros-fastdds',),
    'pybullet': ('pybullet',),
    'numpy': ('numpy',),
}


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or what platform knows."""
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_bytes() -> int | None:
    """Return the total physical memory in bytes."""
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().total)


def package_version(names: tuple[str, ...]) -> str | None:
    """Return the installed version of the first distribution found among `names`."""
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def git_commit(repo: Path = REPO) -> str | None:
    """Return the commit checked out in `repo`, read from .git without running git.

    A linked worktree (`git worktree add`, where benchmarks run at a pinned commit) has a
    `.git` file naming its own git directory; its branches live in the common one.
    """
    try:
        git = _git_dir(repo)
        head = (git / 'HEAD').read_text().strip()
        if not head.startswith('ref: '):
            return head
        ref = head[5:]
        common = git / (git / 'commondir').read_text().strip() \
            if (git / 'commondir').is_file() else git
        for base in dict.fromkeys((git, common)):
            if (base / ref).is_file():
                return (base / ref).read_text().strip()
        for line in (common / 'packed-refs').read_text().splitlines():
            if line.endswith(' ' + ref):
                return line.split(' ', 1)[0]
    except OSError:
        return None
    return None


def _git_dir(repo: Path) -> Path:
    """Return the git directory of a clone (`.git/`) or of a linked worktree (`.git` file)."""
    git = repo / '.git'
    if git.is_file():
        target = Path(git.read_text().strip().removeprefix('gitdir:').strip())
        return target if target.is_absolute() else (repo / target)
    return git


def git_dirty(repo: Path = REPO) -> bool | None:
    """Whether the work tree differs from the commit (results excluded); None without git."""
    try:
        out = subprocess.run(['git', 'status', '--porcelain', '--', '.',
                              ':(exclude)bench/results'], cwd=repo, capture_output=True,
                             text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.strip())


def host_info() -> dict[str, Any]:
    """Return the host and software description of this run."""
    return {
        'timestamp': datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds'),
        'hostname': platform.node(),
        'platform': platform.platform(),
        'cpu_model': cpu_model(),
        'cpu_count': os.cpu_count(),
        'memory_bytes': memory_bytes(),
        'python': platform.python_version(),
        'versions': {key: package_version(names) for key, names in PACKAGES.items()},
        'git_commit': git_commit(),
        'git_dirty': git_dirty(),
    }
