"""Run a packaged server (nginx today, Mosquitto next) as an unprivileged daemon.

A server is started with its own daemon mode and a pid file in a run folder, then stopped by
that pid. Every wait polls with a deadline. When robo-edge runs as root, the server is started
as an unprivileged account instead (www-data by default), which then owns the run folder.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from robo_edge.exceptions import FleetError

SBIN = ('/usr/sbin', '/sbin', '/usr/local/sbin')
DEFAULT_USER = 'www-data'


def find_binary(name: str, package: str, explicit: str | None = None) -> Path:
    """Return the server binary (PATH, then the sbin folders), or say how to install it."""
    if explicit is not None:
        if not os.access(explicit, os.X_OK):
            raise FleetError(f'{explicit}: not an executable {name}')
        return Path(explicit)
    path = os.environ.get('PATH', '') + os.pathsep + os.pathsep.join(SBIN)
    found = shutil.which(name, path=path)
    if found is None:
        raise FleetError(f'{name} is not installed (looked in PATH and {", ".join(SBIN)}): '
                         f'run `make fleet-deps` or `sudo apt-get install -y {package}`')
    return Path(found)


def account(user: str | None) -> pwd.struct_passwd | None:
    """Return the account a server runs as: None (this one) unless robo-edge runs as root."""
    if os.geteuid() != 0:
        if user is not None and user != pwd.getpwuid(os.geteuid()).pw_name:
            raise FleetError(f'only root can start a server as {user!r}')
        return None
    name = user or DEFAULT_USER
    try:
        entry = pwd.getpwnam(name)
    except KeyError as e:
        raise FleetError(f'no account {name!r} to run the server as (pass --user)') from e
    if entry.pw_uid == 0:
        raise FleetError('the server must not run as root: pass an unprivileged --user')
    return entry


def as_account(entry: pwd.struct_passwd | None) -> dict[str, Any]:
    """Return subprocess arguments that run a command as `entry` (nothing for this account)."""
    if entry is None:
        return {}
    return {'user': entry.pw_uid, 'group': entry.pw_gid, 'extra_groups': []}


def hand_over(folder: Path, contents: list[Path], entry: pwd.struct_passwd | None) -> None:
    """Give `folder` itself and `contents` (files, or folders with all they hold) to `entry`."""
    if entry is None:
        return
    items = [folder]
    for path in contents:
        items.append(path)
        if path.is_dir() and not path.is_symlink():
            items.extend(path.rglob('*'))
    for item in items:
        os.chown(item, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def chown_like(path: Path, like: os.stat_result) -> None:
    """Give `path` the owner and group of `like` (a replaced file keeps its server's owner)."""
    if os.geteuid() == 0:
        os.chown(path, like.st_uid, like.st_gid)


def signal_pid(pid: int, sig: signal.Signals) -> None:
    """Send `sig` to `pid`; a process that is already gone is an error."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError as e:
        raise FleetError(f'pid {pid} is gone') from e


def can_access(entry: pwd.struct_passwd | None, test_args: list[str]) -> bool:
    """Return whether `test ARGS` holds for the account (e.g. ['-r', file])."""
    result = subprocess.run(['test', *test_args], check=False, timeout=10,
                            **as_account(entry))
    return result.returncode == 0


def read_pid(pid_file: Path) -> int | None:
    """Return the pid in a pid file (None if absent or garbled)."""
    try:
        return int(Path(pid_file).read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int, name: str) -> bool:
    """Return whether `pid` is a running (not zombie) process whose command is `name`."""
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
        cmdline = Path(f'/proc/{pid}/cmdline').read_bytes()
    except OSError:
        return False
    state = stat.rsplit(')', 1)[-1].split()[0]
    return state not in ('Z', 'X') and name.encode() in cmdline


def wait_until(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    """Poll `condition` until it holds (True) or `timeout_s` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step_s)


def accepts(host: str, port: int) -> bool:
    """Return whether a TCP connection to host:port is accepted now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def stop(pid: int, name: str, timeout_s: float = 10.0,
         graceful: signal.Signals = signal.SIGTERM) -> bool:
    """Stop a daemon: `graceful`, then SIGTERM, then SIGKILL; True once it is gone."""
    for sig in (graceful, signal.SIGTERM, signal.SIGKILL):
        if not alive(pid, name):
            return True
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        if wait_until(lambda: not alive(pid, name), timeout_s / 3):
            return True
    return not alive(pid, name)
