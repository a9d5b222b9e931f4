"""Mosquitto beside nginx: the fleet's telemetry broker over mutual TLS, in the same run folder.

It shares the run folder's `tls/` (server certificate, fleet CA, CRL) with nginx and adds:

    mosquitto.conf      rendered from config/fleet/mosquitto.conf (its placeholders filled in)
    mosquitto.acl       copied from config/fleet/mosquitto.acl: robots/<CN>/ only, fleet/ read
    mosquitto.pid       the broker's pid while it runs
    data/               the broker's persistence (QoS 1 messages and sessions across restarts)
    logs/mosquitto.log  connections, refused certificates, denied publishes
    logs/mosquitto-launch.log  what the mosquitto command printed when it started
"""

import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from robo_edge.exceptions import FleetError
from robo_edge.sync import daemon, nginx
from robo_edge.sync.pki import FleetCA

NAME = 'mosquitto'
PACKAGE = 'mosquitto'
TEMPLATE, ACL = 'mosquitto.conf', 'mosquitto.acl'
# What the broker's own log says (logs/mosquitto.log): up, failed, configuration re-read.
RUNNING = re.compile(rb'mosquitto version \S+ running')
FAILED = re.compile(rb': Error: ')  # a fatal start error (ends the wait early)
RELOADED = re.compile(rb'Reloading config\.')


@dataclass(frozen=True)
class Broker:
    """One broker on host:port from one run folder."""

    run_dir: Path
    host: str = '127.0.0.1'
    port: int = 8883

    @property
    def url(self) -> str:
        """Return the address robots connect to."""
        return f'mqtts://{nginx.host_port(self.host, self.port)}'


def paths(run_dir: Path) -> dict[str, Path]:
    """Return the broker's files and folders in a run folder by role."""
    run_dir = Path(run_dir)
    logs = run_dir / 'logs'
    return {'conf': run_dir / TEMPLATE, 'acl': run_dir / ACL, 'pid': run_dir / 'mosquitto.pid',
            'data': run_dir / 'data', 'tls': run_dir / 'tls', 'logs': logs,
            'log': logs / 'mosquitto.log', 'launch_log': logs / 'mosquitto-launch.log'}


def write_run_folder(broker: Broker, ca: FleetCA, template: Path, acl: Path) -> Path:
    """Write the broker's config, ACL, TLS files, data/ and logs/ into the run folder."""
    p = paths(broker.run_dir)
    for folder in ('data', 'logs'):
        p[folder].mkdir(parents=True, exist_ok=True)
    nginx.copy_tls(ca, p['tls'])
    values = {'RUN_DIR': str(broker.run_dir.resolve()), 'LOG_DIR': str(p['logs'].resolve()),
              'DATA_DIR': str(p['data'].resolve()), 'TLS_DIR': str(p['tls'].resolve()),
              'HOST': broker.host, 'PORT': str(broker.port)}
    try:
        text = Path(template).read_text(encoding='utf-8')
        acl_text = Path(acl).read_text(encoding='utf-8')
    except OSError as e:
        raise FleetError(f'cannot read the Mosquitto template: {e}') from e
    p['conf'].write_text(nginx.render(text, values, 'mosquitto template'), encoding='utf-8')
    p['acl'].write_text(acl_text, encoding='utf-8')
    return p['conf']


def running_pid(run_dir: Path) -> int | None:
    """Return the pid of the broker of this run folder, if it runs."""
    pid = daemon.read_pid(paths(run_dir)['pid'])
    return pid if pid is not None and daemon.alive(pid, NAME) else None


def start(broker: Broker, ca: FleetCA, template: Path | None = None, binary: str | None = None,
          user: str | None = None, timeout_s: float = 15.0) -> int:
    """Start Mosquitto as a daemon for `broker`; return its pid once it logged it runs."""
    mosquitto = daemon.find_binary(NAME, PACKAGE, binary)
    if (pid := running_pid(broker.run_dir)) is not None:
        raise FleetError(f'{broker.run_dir}: mosquitto already runs there (pid {pid}); '
                         f'`robo-edge cloud down --run-dir {broker.run_dir}` first')
    entry = daemon.account(user)
    template = template or nginx.template_path(TEMPLATE)
    write_run_folder(broker, ca, template, template.with_name(ACL))
    p = paths(broker.run_dir)
    daemon.hand_over(broker.run_dir, [p['conf'], p['acl'], p['tls'], p['logs'], p['data']],
                     entry)
    offset = p['log'].stat().st_size if p['log'].exists() else 0
    with open(p['launch_log'], 'wb') as out:
        try:
            result = subprocess.run([str(mosquitto), '-d', '-c', str(p['conf'].resolve())],
                                    stdout=out, stderr=subprocess.STDOUT, check=False,
                                    timeout=timeout_s, **daemon.as_account(entry))
        except subprocess.TimeoutExpired as e:
            raise FleetError(f'mosquitto did not daemonize within {timeout_s} s') from e
    if result.returncode != 0:
        raise FleetError(f'mosquitto did not start: {_why(p)}')
    # The daemon binds after it forked: its own log says whether it runs (after its listeners
    # opened) or failed (a taken port), so another program on the port is never mistaken for it.
    daemon.wait_until(lambda: _logged_since(p['log'], offset, RUNNING)
                      or _logged_since(p['log'], offset, FAILED), timeout_s)
    if not _logged_since(p['log'], offset, RUNNING):  # logged once its listeners are open
        stop(broker.run_dir)
        raise FleetError(f'mosquitto did not start on {broker.host}:{broker.port}: {_why(p)}')
    if not daemon.wait_until(lambda: running_pid(broker.run_dir) is not None, timeout_s):
        raise FleetError(f'mosquitto wrote no pid file: {_why(p)}')
    return running_pid(broker.run_dir) or 0


def _why(p: dict[str, Path]) -> str:
    lines = []
    for name in ('launch_log', 'log'):
        try:
            lines += p[name].read_text(errors='replace').strip().splitlines()[-3:]
        except OSError:
            pass
    return ' | '.join(lines) or '(no log)'


def reload(run_dir: Path, timeout_s: float = 15.0) -> bool:
    """Have a running broker re-read its files (the CRL among them); False if none runs.

    Returns once the broker logged the reload, so the next connection meets the new CRL.
    """
    pid = running_pid(run_dir)
    if pid is None:
        return False
    log = paths(run_dir)['log']
    offset = log.stat().st_size if log.exists() else 0
    daemon.signal_pid(pid, signal.SIGHUP)
    if not daemon.wait_until(lambda: _logged_since(log, offset, RELOADED), timeout_s):
        raise FleetError(f'mosquitto (pid {pid}) did not reload within {timeout_s} s: '
                         f'{_why(paths(run_dir))}')
    return True


def _logged_since(log: Path, offset: int, pattern: re.Pattern[bytes]) -> bool:
    try:
        with open(log, 'rb') as f:
            f.seek(offset)
            return pattern.search(f.read()) is not None
    except OSError:
        return False


def stop(run_dir: Path, timeout_s: float = 10.0) -> bool:
    """Stop the broker of a run folder (SIGTERM saves its persistence); False if none ran."""
    pid = running_pid(run_dir)
    if pid is None:
        return False
    if not daemon.stop(pid, NAME, timeout_s):
        raise FleetError(f'mosquitto (pid {pid}) did not stop within {timeout_s} s')
    return True
