"""One supervised node process: its argv, environment, process group and log forwarding."""

import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO, TextIO

from robo_edge.exceptions import ResourceNotFound
from robo_edge.supervisor.bringup import NodeSpec, encode_override

PACKAGE = 'robo_edge'
LOG_FORMAT = '[{severity}] [{name}]: {message}'
# Environment markers: which supervisor started a process, and as which node.
SUPERVISOR_ENV = 'ROBO_EDGE_SUPERVISOR'
NODE_ENV = 'ROBO_EDGE_NODE'


def resolve_executable(name: str) -> Path:
    """Return `<prefix>/lib/robo_edge/<name>` of the installed package."""
    from ament_index_python.packages import (  # noqa: PLC0415 - only for installed nodes
        PackageNotFoundError,
        get_package_prefix,
    )

    try:
        prefix = Path(get_package_prefix(PACKAGE))
    except (PackageNotFoundError, OSError) as e:
        raise ResourceNotFound(f'{PACKAGE} is not installed in the sourced workspace') from e
    path = prefix / 'lib' / PACKAGE / name
    if not os.access(path, os.X_OK):
        raise ResourceNotFound(f'executable {path} is not installed')
    return path


def node_argv(spec: NodeSpec, program: list[str]) -> list[str]:
    """Return the full argv of a node: its program, then the ROS arguments of the spec."""
    argv = [*program, '--ros-args', '-r', f'__node:={spec.name}']
    for path in spec.parameters:
        argv += ['--params-file', str(path)]
    for name, value in spec.overrides.items():
        argv += ['-p', f'{name}:={encode_override(value)}']
    for source, target in spec.remappings.items():
        argv += ['-r', f'{source}:={target}']
    return argv


def node_environment(spec: NodeSpec, base: Mapping[str, str], dds: Mapping[str, str],
                     extra: Mapping[str, str], supervisor_id: str) -> dict[str, str]:
    """Return a node's environment: base, DDS settings, supervisor extras, then the node's own."""
    env = {**base, **dds, **extra, **spec.env}
    env['RCUTILS_CONSOLE_OUTPUT_FORMAT'] = LOG_FORMAT
    env['PYTHONUNBUFFERED'] = '1'
    env[SUPERVISOR_ENV] = supervisor_id
    env[NODE_ENV] = spec.name
    return env


class LogSink:
    """Writes node output lines prefixed with `[name]` to one stream and to per-node files."""

    def __init__(self, echo: TextIO | None, log_dir: Path | None) -> None:
        self._echo = echo
        self._log_dir = log_dir
        self._lock = threading.Lock()
        self._files: dict[str, TextIO] = {}
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, line: str) -> None:
        """Write one line of node `name` (without its newline)."""
        text = f'[{name}] {line}\n'
        with self._lock:
            if self._echo is not None:
                try:
                    self._echo.write(text)
                    self._echo.flush()
                except (OSError, ValueError):  # closed or broken stream: keep the file log
                    self._echo = None
            log = self._file(name)
            if log is not None:
                log.write(line + '\n')
                log.flush()

    def close(self) -> None:
        """Close the per-node files."""
        with self._lock:
            for log in self._files.values():
                log.close()
            self._files.clear()

    def _file(self, name: str) -> TextIO | None:
        if self._log_dir is None:
            return None
        if name not in self._files:
            self._files[name] = open(self._log_dir / f'{name}.log', 'a', encoding='utf-8')  # noqa: SIM115
        return self._files[name]


class NodeProcess:
    """A started node: the process (leader of its own process group) and its log pump."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], sink: LogSink) -> None:
        self.name = name
        self._popen = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
        )
        self.pid = self._popen.pid
        self._pump = threading.Thread(target=self._forward, args=(self._popen.stdout, sink),
                                      name=f'log-{name}', daemon=True)
        self._pump.start()

    @property
    def returncode(self) -> int | None:
        """Return the exit code once reaped (negative: the signal that killed it)."""
        return self._popen.returncode

    def poll(self) -> int | None:
        """Reap the process if it has exited, without blocking."""
        return self._popen.poll()

    def wait(self, timeout_s: float) -> int | None:
        """Wait at most `timeout_s` for the exit; return the code or None."""
        try:
            return self._popen.wait(timeout=max(0.0, timeout_s))
        except subprocess.TimeoutExpired:
            return None

    def signal_group(self, signum: int) -> bool:
        """Send `signum` to the node's process group (its children too); False if it is gone."""
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def kill_leftovers(self) -> None:
        """SIGKILL whatever is left of the process group once the leader has exited."""
        self.signal_group(signal.SIGKILL)

    def join_logs(self, timeout_s: float) -> None:
        """Wait (bounded) for the log pump to reach the end of the output."""
        self._pump.join(timeout=max(0.0, timeout_s))

    def _forward(self, stream: BinaryIO, sink: LogSink) -> None:
        with stream:
            for raw in iter(stream.readline, b''):
                sink.write(self.name, raw.decode('utf-8', errors='replace').rstrip('\r\n'))
