"""The fleet verbs of `robo-edge cloud`: the CA, robot identities, the servers up and down.

Each verb is a thin wrapper over robo_edge.sync (pki, tls, fleet); docs/fleet.md has more.

    robo-edge cloud ca init --pki DIR            the fleet CA, its CRL and the server cert
    robo-edge cloud ca server-cert --pki DIR     re-issue the servers' certificate
    robo-edge cloud ca crl --pki DIR             re-sign the CRL (and reload running servers)
    robo-edge cloud add-robot ID --repo R ...    upload key + client certificate (CN = ID)
    robo-edge cloud revoke-robot ID --pki DIR    put its certificates on the CRL
    robo-edge cloud up --repo R --run-dir D      nginx over mutual TLS, unprivileged
        [--mqtt-port P] [--uploads DIR]          Mosquitto beside it; where uploads go
    robo-edge cloud down --run-dir D             stop what `up` started
"""

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from robo_edge.exceptions import FleetError
from robo_edge.sync.pki import SERVER_HOSTS, serial_hex

if TYPE_CHECKING:
    from robo_edge.sync.pki import FleetCA

EXIT_USAGE = 2
PKI_HELP = 'fleet CA folder (default: REPO/../pki; ca.key in it: keep it offline)'
RUN_HELP = 'run folder of `robo-edge cloud up` (config, logs, pid file)'


def _days(text: str) -> int:
    days = int(text)
    if days < 1:
        raise argparse.ArgumentTypeError(f'a number of days >= 1, not {days}')
    return days


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f'a TCP port in 1..65535, not {port}')
    return port


def add_fleet_verbs(cloud_verbs: argparse._SubParsersAction) -> None:
    """Register the fleet verbs under `robo-edge cloud`."""
    _add_ca(cloud_verbs)
    robot = cloud_verbs.add_parser(
        'add-robot', help="create a robot's upload key and register it; with a fleet CA, "
                          'also issue its TLS client certificate')
    robot.add_argument('--repo', required=True, type=Path)
    robot.add_argument('robot_id')
    robot.add_argument('--key-out', required=True, type=Path,
                       help="robot's upload signing key (PEM), in the robot's folder")
    robot.add_argument('--pki', type=Path, default=None, help=PKI_HELP)
    robot.add_argument('--tls-dir', type=Path, default=None,
                       help="the robot's TLS folder: its key is made there and stays there "
                            '(default: KEY_OUT/../tls)')
    robot.add_argument('--csr', type=Path, default=None,
                       help='sign this CSR made on the robot instead (CN = robot id)')
    robot.add_argument('--cert-out', type=Path, default=None, help='with --csr: the cert')
    robot.add_argument('--valid-days', type=_days, default=365)
    robot.set_defaults(func=_cmd_add_robot)
    revoke = cloud_verbs.add_parser('revoke-robot',
                                    help="revoke a robot's certificates (the CRL)")
    revoke.add_argument('robot_id')
    revoke.add_argument('--pki', required=True, type=Path, help='fleet CA folder')
    revoke.add_argument('--run-dir', type=Path, default=None,
                        help='also reload the servers running there with the new CRL')
    revoke.set_defaults(func=_cmd_revoke_robot)
    _add_up_down(cloud_verbs)


def _add_ca(cloud_verbs: argparse._SubParsersAction) -> None:
    ca = cloud_verbs.add_parser('ca', help="the fleet's certificate authority")
    ca_verbs = ca.add_subparsers(dest='ca_verb', required=True)
    init = ca_verbs.add_parser('init', help='create the CA, an empty CRL, the server cert')
    init.add_argument('--pki', required=True, type=Path, help='fleet CA folder to create')
    init.add_argument('--name', default='robo_edge fleet CA', help="the CA's common name")
    init.add_argument('--host', action='append', default=None,
                      help=f'a server name or IP (repeat; default: {", ".join(SERVER_HOSTS)})')
    init.set_defaults(func=_cmd_ca_init)
    server = ca_verbs.add_parser('server-cert', help="re-issue the servers' certificate")
    server.add_argument('--pki', required=True, type=Path, help='fleet CA folder')
    server.add_argument('--host', action='append', default=None,
                        help=f'a server name or IP (repeat; default: {", ".join(SERVER_HOSTS)})')
    server.set_defaults(func=_cmd_ca_server_cert)
    crl = ca_verbs.add_parser('crl', help='re-sign the CRL with fresh dates (before it expires)')
    crl.add_argument('--pki', required=True, type=Path, help='fleet CA folder')
    crl.add_argument('--run-dir', type=Path, default=None,
                     help='also reload the servers running there with the new CRL')
    crl.set_defaults(func=_cmd_ca_crl)


def _add_up_down(cloud_verbs: argparse._SubParsersAction) -> None:
    up = cloud_verbs.add_parser('up', help='serve a repository with nginx over mutual TLS '
                                           '(and telemetry with Mosquitto: --mqtt-port)')
    up.add_argument('--repo', required=True, type=Path, help='repository folder')
    up.add_argument('--run-dir', required=True, type=Path, help=RUN_HELP)
    up.add_argument('--pki', type=Path, default=None, help=PKI_HELP)
    up.add_argument('--host', default='127.0.0.1', help='address to listen on')
    up.add_argument('--port', type=_port, default=8443)
    up.add_argument('--user', default=None,
                    help='account the servers run as when started by root (default www-data)')
    up.add_argument('--nginx', default=None, help='nginx binary (default: PATH, /usr/sbin)')
    up.add_argument('--uploads', type=Path, default=None,
                    help="robots' uploads, one folder per robot (default: RUN_DIR/uploads)")
    up.add_argument('--mqtt-port', type=_port, default=None,
                    help='also start Mosquitto on this TLS port (robots/<id>/ telemetry)')
    up.add_argument('--mosquitto', default=None,
                    help='mosquitto binary (default: PATH, /usr/sbin)')
    up.set_defaults(func=_cmd_up)
    down = cloud_verbs.add_parser('down', help='stop the servers of a run folder')
    down.add_argument('--run-dir', required=True, type=Path, help=RUN_HELP)
    down.set_defaults(func=_cmd_down)


def _now() -> datetime:
    return datetime.now(UTC)


def _pki(args: argparse.Namespace) -> Path:
    return args.pki if args.pki is not None else args.repo.resolve().parent / 'pki'


def _cmd_ca_init(args: argparse.Namespace) -> int:
    from robo_edge.sync.pki import FleetCA  # noqa: PLC0415 - only the fleet verbs

    ca = FleetCA(args.pki)
    ca.init(_now(), args.name, tuple(args.host or SERVER_HOSTS))
    print(f'{args.pki}: fleet CA created (ca.crt, crl.pem, server.crt for '
          f'{", ".join(args.host or SERVER_HOSTS)}); keep ca.key offline')
    return 0


def _cmd_ca_server_cert(args: argparse.Namespace) -> int:
    from robo_edge.sync.pki import FleetCA  # noqa: PLC0415

    cert = FleetCA(args.pki).issue_server(_now(), tuple(args.host or SERVER_HOSTS))
    print(f'{args.pki / "server.crt"}: valid until {cert.not_valid_after_utc:%Y-%m-%d}; '
          'a running nginx takes it at its next `robo-edge cloud up`')
    return 0


def _cmd_ca_crl(args: argparse.Namespace) -> int:
    from robo_edge.sync.fleet import refresh_crl  # noqa: PLC0415

    reloaded = refresh_crl(args.pki, _now(), args.run_dir)
    print(f'{args.pki / "crl.pem"}: re-signed'
          + (', running servers reloaded' if reloaded else ''))
    return 0


def _cmd_add_robot(args: argparse.Namespace) -> int:
    from robo_edge.sync.identity import RobotIdentity, UploadVerifier  # noqa: PLC0415
    from robo_edge.sync.pki import FleetCA  # noqa: PLC0415
    from robo_edge.sync.tls import check_robot_id  # noqa: PLC0415

    check_robot_id(args.robot_id)
    if (args.csr is None) != (args.cert_out is None):
        print('robo-edge cloud add-robot: --csr and --cert-out go together', file=sys.stderr)
        return EXIT_USAGE
    ca = FleetCA(_pki(args))
    if not ca.exists() and (args.pki is not None or args.csr is not None):
        raise FleetError(f'{ca.dir}: no fleet CA (`robo-edge cloud ca init --pki {ca.dir}`)')
    csr = None if args.csr is None else _robot_csr(args.csr, args.robot_id)
    identity = RobotIdentity.generate(args.robot_id, args.key_out)
    verifier = UploadVerifier(args.repo / 'robots', args.repo / 'upload_state.sqlite')
    verifier.register(args.robot_id, identity.public_hex())
    verifier.close()
    print(f'{args.robot_id}: key {args.key_out}, registered in {args.repo / "robots"}')
    if not ca.exists():
        print(f'{args.robot_id}: no fleet CA in {ca.dir}, so no TLS certificate '
              f'(`robo-edge cloud ca init --pki {ca.dir}`, then add the robot again)')
        return 0
    _issue(ca, args, csr)
    return 0


def _robot_csr(path: Path, robot_id: str) -> bytes:
    from robo_edge.sync.pki import read_csr  # noqa: PLC0415

    try:
        pem = path.read_bytes()
    except OSError as e:
        raise FleetError(f'{path}: cannot read the CSR: {e}') from e
    named = read_csr(pem)[1]
    if named != robot_id:
        raise FleetError(f'{path}: the CSR is for {named!r}, not {robot_id!r}')
    return pem


def _issue(ca: 'FleetCA', args: argparse.Namespace, csr: bytes | None) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding  # noqa: PLC0415

    from robo_edge.sync import tls  # noqa: PLC0415
    from robo_edge.sync.fsutil import atomic_write  # noqa: PLC0415

    tls_dir = args.tls_dir or args.key_out.parent / 'tls'
    if csr is None:
        csr = tls.make_csr(tls_dir, args.robot_id)
    cert = ca.issue_robot(csr, _now(), timedelta(days=args.valid_days))
    pem = cert.public_bytes(Encoding.PEM)
    if args.cert_out is not None:
        atomic_write(args.cert_out, pem)
        where = f'{args.cert_out} (install it on the robot with ca.crt)'
    else:
        tls.install_certificate(tls_dir, pem, ca.certificate().public_bytes(Encoding.PEM))
        where = f'{tls_dir} (robot.key stays there; the CA keeps only the certificate)'
    print(f'{args.robot_id}: TLS certificate serial {serial_hex(cert.serial_number)}, valid until '
          f'{cert.not_valid_after_utc:%Y-%m-%d}, in {where}')


def _cmd_revoke_robot(args: argparse.Namespace) -> int:
    from robo_edge.sync.fleet import revoke  # noqa: PLC0415

    serials, reloaded = revoke(args.pki, args.robot_id, _now(), args.run_dir)
    listed = ', '.join(serial_hex(s) for s in serials) or 'none new (already revoked)'
    print(f'{args.robot_id}: revoked {listed}; {args.pki / "crl.pem"} re-signed'
          + ('; running servers reloaded' if reloaded else ''))
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from robo_edge.sync.fleet import FleetOptions, up  # noqa: PLC0415

    options = FleetOptions(args.repo, args.run_dir, _pki(args), args.host, args.port,
                           args.user, args.nginx, mqtt_port=args.mqtt_port,
                           mosquitto=args.mosquitto, uploads=args.uploads)
    run = up(options, _now())
    ca = _pki(args) / 'ca.crt'
    uploads = args.uploads or args.run_dir / 'uploads'
    print(f'nginx: pid {run.pids["nginx"]}, {run.url} (metadata/, targets/, PUT uploads/<CN>/ '
          f'into {uploads}; client certificates from {ca}, CRL checked)')
    if 'mosquitto' in run.pids:
        print(f'mosquitto: pid {run.pids["mosquitto"]}, {run.mqtt_url} (robots/<CN>/ write, '
              f'fleet/ read; client certificates from {ca}, CRL checked)')
    print(f'run folder {run.run_dir}: logs/access.log, logs/error.log, logs/mosquitto.log; '
          f'stop with `robo-edge cloud down --run-dir {run.run_dir}`')
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    from robo_edge.sync.fleet import down  # noqa: PLC0415

    stopped = down(args.run_dir)
    print(f'{args.run_dir}: stopped {", ".join(stopped)}' if stopped
          else f'{args.run_dir}: nothing was running')
    return 0
