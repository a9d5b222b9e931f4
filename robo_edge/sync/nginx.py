"""nginx in front of the TUF repository: render the shipped template, start, reload and stop.

Everything nginx reads or writes lives in one run folder, so it needs no privilege and touches
no system path:

    nginx.conf        rendered from config/fleet/nginx.conf (its placeholders filled in)
    tls/              server.crt, server.key, ca.crt, crl.pem, copied from the PKI folder
    logs/error.log    startup errors and every refused client certificate (level info)
    logs/access.log   one line per request: status, bytes, Range, certificate verdict, subject
    logs/launch.log   what the nginx command printed when it started
    uploads/<id>/     what robot <id> PUT (WebDAV), unless NginxSite.uploads names a folder
    tmp/              nginx's temporary files
    nginx.pid         the master's pid while it runs
"""

import ipaddress
import pwd
import re
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from robo_edge.exceptions import FleetError
from robo_edge.sync import daemon
from robo_edge.sync.pki import CA_CERT, CRL, SERVER_CERT, SERVER_KEY, FleetCA

NAME = 'nginx'
PACKAGE = 'nginx'
TEMPLATE = ('config', 'fleet', 'nginx.conf')
PLACEHOLDER = re.compile(r'@([A-Z_]+)@')
TLS_FILES = (SERVER_CERT, SERVER_KEY, CA_CERT, CRL)


@dataclass(frozen=True)
class NginxSite:
    """One repository served on host:port from one run folder."""

    repo: Path
    run_dir: Path
    host: str = '127.0.0.1'
    port: int = 8443
    uploads: Path | None = None  # where robots' uploads are stored (default RUN_DIR/uploads)

    @property
    def upload_dir(self) -> Path:
        """Return the folder that holds one sub-folder per robot that uploaded."""
        return self.uploads if self.uploads is not None else self.run_dir / 'uploads'

    @property
    def listen(self) -> str:
        """Return the address nginx listens on (IPv6 in brackets)."""
        return host_port(self.host, self.port)

    @property
    def url(self) -> str:
        """Return the base URL robots use."""
        return f'https://{self.listen}'


def host_port(host: str, port: int) -> str:
    """Return host:port, an IPv6 address in brackets."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f'[{host}]:{port}'
    except ValueError:
        pass
    return f'{host}:{port}'


def paths(run_dir: Path) -> dict[str, Path]:
    """Return the files and folders of a run folder by role."""
    run_dir = Path(run_dir)
    return {'conf': run_dir / 'nginx.conf', 'pid': run_dir / 'nginx.pid',
            'tls': run_dir / 'tls', 'logs': run_dir / 'logs', 'tmp': run_dir / 'tmp',
            'error_log': run_dir / 'logs' / 'error.log',
            'access_log': run_dir / 'logs' / 'access.log',
            'launch_log': run_dir / 'logs' / 'launch.log'}


def template_path(name: str = TEMPLATE[-1]) -> Path:
    """Return an installed template (share/robo_edge/config/fleet/NAME)."""
    from robo_edge.paths import share_file  # noqa: PLC0415 - needs the ament index

    return share_file(*TEMPLATE[:-1], name)


def render(template: str, values: Mapping[str, str], what: str = 'nginx template') -> str:
    """Fill every @NAME@ of `template`; an unknown or unused name is an error."""
    used = set(PLACEHOLDER.findall(template))
    if missing := used - set(values):
        raise FleetError(f'{what}: no value for {", ".join(sorted(missing))}')
    if unused := set(values) - used:
        raise FleetError(f'{what}: no placeholder for {", ".join(sorted(unused))}')
    for key, value in values.items():
        if not value or any(c in value for c in ';{}"\'\n#') or value != value.strip():
            raise FleetError(f'{what}: {key} {value!r} cannot go into a config')
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def copy_tls(ca: FleetCA, tls_dir: Path) -> None:
    """Copy the servers' TLS files (certificate, key, CA, CRL) into a run folder's tls/."""
    tls_dir.mkdir(parents=True, exist_ok=True)
    tls_dir.chmod(0o700)
    for name in TLS_FILES:
        try:
            shutil.copyfile(ca.path(name), tls_dir / name)
        except OSError as e:
            raise FleetError(f'{ca.path(name)}: cannot copy it into the run folder: {e}') from e
    (tls_dir / SERVER_KEY).chmod(0o600)


def write_run_folder(site: NginxSite, ca: FleetCA, template: Path) -> Path:
    """Create the run folder: the rendered config, the TLS files, logs/ and tmp/."""
    p = paths(site.run_dir)
    for folder in (p['logs'], p['tmp'], site.upload_dir / '.incoming'):
        folder.mkdir(parents=True, exist_ok=True)
    copy_tls(ca, p['tls'])
    values = {'RUN_DIR': str(site.run_dir.resolve()), 'LOG_DIR': str(p['logs'].resolve()),
              'TMP_DIR': str(p['tmp'].resolve()), 'TLS_DIR': str(p['tls'].resolve()),
              'REPO': str(site.repo.resolve()), 'LISTEN': site.listen,
              'UPLOADS': str(site.upload_dir.resolve())}
    try:
        text = Path(template).read_text(encoding='utf-8')
    except OSError as e:
        raise FleetError(f'{template}: cannot read the nginx template: {e}') from e
    p['conf'].write_text(render(text, values), encoding='utf-8')
    return p['conf']


def running_pid(run_dir: Path) -> int | None:
    """Return the pid of the nginx master of this run folder, if it runs."""
    pid = daemon.read_pid(paths(run_dir)['pid'])
    return pid if pid is not None and daemon.alive(pid, NAME) else None


def _check_access(site: NginxSite, entry: pwd.struct_passwd | None) -> None:
    root = site.repo / 'metadata' / 'root.json'
    if not root.is_file():
        raise FleetError(f'{site.repo}: not a repository (no metadata/root.json; '
                         '`robo-edge cloud init`)')
    checks = [(['-r', str(root)], root), (['-x', str(site.repo / 'targets')], site.repo),
              (['-w', str(paths(site.run_dir)['logs'])], site.run_dir),
              (['-w', str(site.upload_dir / '.incoming')], site.upload_dir)]
    for args, path in checks:
        if not daemon.can_access(entry, args):
            raise FleetError(f'{path}: the account nginx runs as cannot reach it (make its '
                             'folders readable, e.g. chmod o+rx, or pass --user)')


def start(site: NginxSite, ca: FleetCA, template: Path | None = None,
          binary: str | None = None, user: str | None = None, timeout_s: float = 15.0) -> int:
    """Start nginx as a daemon on `site`; return the master's pid once the port accepts."""
    nginx = daemon.find_binary(NAME, PACKAGE, binary)
    if (pid := running_pid(site.run_dir)) is not None:
        raise FleetError(f'{site.run_dir}: nginx already runs there (pid {pid}); '
                         f'`robo-edge cloud down --run-dir {site.run_dir}` first')
    entry = daemon.account(user)
    write_run_folder(site, ca, template or template_path())
    p = paths(site.run_dir)
    daemon.hand_over(site.run_dir, [p['conf'], p['tls'], p['logs'], p['tmp'],
                                    site.upload_dir], entry)
    _check_access(site, entry)
    command = [str(nginx), '-p', str(site.run_dir.resolve()), '-c', str(p['conf'].resolve()),
               '-e', str(p['error_log'].resolve())]
    with open(p['launch_log'], 'wb') as out:
        try:
            result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT,
                                    check=False, timeout=timeout_s,
                                    **daemon.as_account(entry))
        except subprocess.TimeoutExpired as e:
            raise FleetError(f'nginx did not daemonize within {timeout_s} s') from e
    if result.returncode != 0:
        raise FleetError(f'nginx did not start: {_tail(p["launch_log"])}')
    if not daemon.wait_until(lambda: running_pid(site.run_dir) is not None
                             and daemon.accepts(site.host, site.port), timeout_s):
        stop(site.run_dir)
        raise FleetError(f'nginx did not accept on {site.listen} within {timeout_s} s: '
                         f'{_tail(p["error_log"])}')
    return running_pid(site.run_dir) or 0


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return ' | '.join(path.read_text(errors='replace').strip().splitlines()[-lines:])
    except OSError:
        return f'(no {path.name})'


def workers(master: int) -> set[int]:
    """Return the pids of a master's worker processes."""
    found = set()
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text().rsplit(')', 1)[-1].split()
        except OSError:
            continue
        if int(fields[1]) == master and fields[0] not in ('Z', 'X'):
            found.add(int(stat.parent.name))
    return found


def install_crl(ca: FleetCA, run_dir: Path, timeout_s: float = 15.0) -> bool:
    """Put the CA's current CRL into a run folder and reload its nginx if it runs.

    Returns True once new workers (which hold the new CRL) replaced every old one, False if no
    nginx runs there. A CRL that nginx rejects keeps the old workers: that raises.
    """
    target = paths(run_dir)['tls'] / CRL
    if not target.parent.is_dir():
        raise FleetError(f'{run_dir}: not a fleet run folder (no tls/)')
    owner = target.stat() if target.exists() else None
    shutil.copyfile(ca.path(CRL), target)
    if owner is not None:
        daemon.chown_like(target, owner)
    master = running_pid(run_dir)
    if master is None:
        return False
    old = workers(master)
    daemon.signal_pid(master, signal.SIGHUP)
    if not daemon.wait_until(lambda: bool(workers(master)) and not workers(master) & old,
                             timeout_s):
        raise FleetError(f'nginx did not take the new CRL: {_tail(paths(run_dir)["error_log"])}')
    return True


def stop(run_dir: Path, timeout_s: float = 10.0) -> bool:
    """Stop the nginx of a run folder (gracefully first); False if none ran."""
    pid = running_pid(run_dir)
    if pid is None:
        return False
    if not daemon.stop(pid, NAME, timeout_s, graceful=signal.SIGQUIT):
        raise FleetError(f'nginx (pid {pid}) did not stop within {timeout_s} s')
    return True
