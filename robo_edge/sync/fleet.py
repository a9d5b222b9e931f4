"""The fleet's servers on this machine, in one run folder: `robo-edge cloud up | down`.

One server today: nginx serves the TUF repository over mutual TLS (`robo_edge.sync.nginx`).
Each server is a start step in `up` and an entry of STOPPERS over the same run folder and PKI,
so Mosquitto (telemetry) and nginx WebDAV (uploads) join the same way. Time is passed in.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from robo_edge.exceptions import FleetError
from robo_edge.sync import nginx
from robo_edge.sync.pki import SERVER_CERT, FleetCA

CRL_REFRESH = timedelta(days=7)  # `up` re-signs a CRL that expires sooner than this
# name -> stop(run_dir, timeout_s) -> whether it ran; the order servers are stopped in.
STOPPERS: dict[str, Callable[[Path, float], bool]] = {'nginx': nginx.stop}


@dataclass(frozen=True)
class FleetOptions:
    """What `up` serves, where, and how."""

    repo: Path
    run_dir: Path
    pki_dir: Path
    host: str = '127.0.0.1'
    port: int = 8443
    user: str | None = None  # the account servers run as when started by root
    nginx: str | None = None  # the nginx binary (default: found in PATH or /usr/sbin)
    template: Path | None = None  # default: the installed config/fleet/nginx.conf


@dataclass(frozen=True)
class FleetRun:
    """What runs after `up`."""

    url: str
    pids: dict[str, int]
    run_dir: Path


def ready_ca(pki_dir: Path, now: datetime) -> FleetCA:
    """Return the CA, its CRL re-signed if it would expire soon; refuse an expired server cert."""
    ca = FleetCA(pki_dir)
    if not ca.exists():
        raise FleetError(f'{pki_dir}: no fleet CA (`robo-edge cloud ca init --pki {pki_dir}`)')
    if ca.crl_expires() - now < CRL_REFRESH:
        ca.write_crl(now)
    cert = ca.server_certificate()
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        raise FleetError(f'{ca.path(SERVER_CERT)}: not valid now (valid '
                         f'{cert.not_valid_before_utc} to {cert.not_valid_after_utc}); '
                         're-issue it with `robo-edge cloud ca server-cert`')
    return ca


def check_run_dir(run_dir: Path) -> None:
    """Refuse a run folder that is neither new, empty, nor one `up` made (it is handed over)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise FleetError(f'{run_dir}: not a folder')
    if run_dir.is_dir() and any(run_dir.iterdir()) and not nginx.paths(run_dir)['conf'].exists():
        raise FleetError(f'{run_dir}: not empty and not a run folder of `robo-edge cloud up` '
                         '(name a new or empty folder)')


def up(options: FleetOptions, now: datetime) -> FleetRun:
    """Start the fleet's servers over the repository; stop what started if one fails."""
    ca = ready_ca(options.pki_dir, now)
    check_run_dir(options.run_dir)
    options.run_dir.mkdir(parents=True, exist_ok=True)
    site = nginx.NginxSite(options.repo, options.run_dir, options.host, options.port)
    pids: dict[str, int] = {}
    try:
        pids['nginx'] = nginx.start(site, ca, options.template, options.nginx, options.user)
        # Extension point: Mosquitto (robots/<id>/... telemetry) starts here, same CA.
    except FleetError:
        for name in pids:  # only what this call started
            STOPPERS[name](options.run_dir, 10.0)
        raise
    return FleetRun(site.url, pids, options.run_dir)


def down(run_dir: Path, timeout_s: float = 10.0) -> list[str]:
    """Stop every server of a run folder; return the names of those that were running."""
    return [name for name, stop in STOPPERS.items() if stop(Path(run_dir), timeout_s)]


def revoke(pki_dir: Path, robot_id: str, now: datetime,
           run_dir: Path | None = None) -> tuple[list[int], bool]:
    """Revoke a robot's certificates; reload the servers of `run_dir` with the new CRL.

    Returns the revoked serials and whether a running server took the new CRL.
    """
    ca = FleetCA(pki_dir)
    serials = ca.revoke(robot_id, now)
    reloaded = run_dir is not None and nginx.install_crl(ca, run_dir)
    return serials, reloaded


def refresh_crl(pki_dir: Path, now: datetime, run_dir: Path | None = None) -> bool:
    """Re-sign the CRL (same entries, fresh dates) and reload the servers of `run_dir`."""
    ca = FleetCA(pki_dir)
    ca.write_crl(now)
    return run_dir is not None and nginx.install_crl(ca, run_dir)
