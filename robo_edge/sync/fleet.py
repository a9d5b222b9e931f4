"""The fleet's servers on this machine, in one run folder: `robo-edge cloud up | down`.

nginx serves the TUF repository over mutual TLS (`robo_edge.sync.nginx`) and stores each robot's
WebDAV uploads under uploads/<its CN>/; Mosquitto, when a
port is given for it, takes the robots' telemetry over MQTT with the same CA and CRL
(`robo_edge.sync.mosquitto`). Each server is a start step in `up` and an entry of STOPPERS over
the same run folder and PKI. Time is passed in.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from robo_edge.exceptions import FleetError
from robo_edge.sync import mosquitto, nginx
from robo_edge.sync.pki import SERVER_CERT, FleetCA

CRL_REFRESH = timedelta(days=7)  # `up` re-signs a CRL that expires sooner than this
# name -> stop(run_dir, timeout_s) -> whether it ran; the order servers are stopped in.
STOPPERS: dict[str, Callable[[Path, float], bool]] = {'nginx': nginx.stop,
                                                      'mosquitto': mosquitto.stop}


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
    mqtt_port: int | None = None  # Mosquitto's TLS port; None: no broker
    mosquitto: str | None = None  # the mosquitto binary (default: PATH or /usr/sbin)
    mqtt_template: Path | None = None  # default: the installed config/fleet/mosquitto.conf
    uploads: Path | None = None  # robots' uploads (default: RUN_DIR/uploads)


@dataclass(frozen=True)
class FleetRun:
    """What runs after `up`."""

    url: str
    pids: dict[str, int]
    run_dir: Path
    mqtt_url: str | None = None


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
    site = nginx.NginxSite(options.repo, options.run_dir, options.host, options.port,
                           options.uploads)
    broker = None
    if options.mqtt_port is not None:
        broker = mosquitto.Broker(options.run_dir, options.host, options.mqtt_port)
    pids: dict[str, int] = {}
    try:
        pids['nginx'] = nginx.start(site, ca, options.template, options.nginx, options.user)
        if broker is not None:
            pids['mosquitto'] = mosquitto.start(broker, ca, options.mqtt_template,
                                                options.mosquitto, options.user)
    except FleetError:
        for name in pids:  # only what this call started
            STOPPERS[name](options.run_dir, 10.0)
        raise
    return FleetRun(site.url, pids, options.run_dir, broker and broker.url)


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
    return serials, run_dir is not None and install_crl(ca, run_dir)


def refresh_crl(pki_dir: Path, now: datetime, run_dir: Path | None = None) -> bool:
    """Re-sign the CRL (same entries, fresh dates) and reload the servers of `run_dir`."""
    ca = FleetCA(pki_dir)
    ca.write_crl(now)
    return run_dir is not None and install_crl(ca, run_dir)


def install_crl(ca: FleetCA, run_dir: Path) -> bool:
    """Give the servers of `run_dir` the CA's CRL; return whether a running one took it."""
    reloaded = nginx.install_crl(ca, run_dir)  # copies tls/crl.pem, which both servers read
    return mosquitto.reload(run_dir) or reloaded
