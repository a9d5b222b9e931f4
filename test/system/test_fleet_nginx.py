"""System test: the TUF repository behind the real nginx, robots identified by certificates.

One nginx (started by `robo_edge.sync.fleet.up`, the function behind `robo-edge cloud up`)
serves a published repository over mutual TLS for the whole module. The robot's own fetcher
downloads and resumes through it; nginx itself refuses a robot with no certificate, a revoked,
an expired and a foreign one, and logs each refusal. nginx must be installed (`make fleet-deps`).
"""

import hashlib
import os
import socket
from datetime import timedelta

import pytest
import urllib3
from cryptography import x509
from fleet_fixtures import (
    CuttingProxy,
    free_port,
    log_lines,
    now,
    provision_robot,
    repository_and_ca,
    shared_work_dir,
    uid_of,
    wait_until,
)

from robo_edge.cli import main
from robo_edge.exceptions import FleetError
from robo_edge.sync import fleet, nginx
from robo_edge.sync.client import Outcome, SyncClient, provision
from robo_edge.sync.fetcher import ResumableFetcher
from robo_edge.sync.pki import FleetCA, serial_hex
from robo_edge.sync.tls import TlsConfig

TARGET = 'policy/blob.bin'
CUSTOM = {'kind': 'policy', 'version': 'v1', 'release': 1, 'hardware': ['*'], 'compat': {}}
SIZE = 2_000_000


@pytest.fixture(scope='module')
def served():
    """A repository with one 2 MB target, a CA, robots, and nginx serving it all."""
    with shared_work_dir() as work:
        repo, ca = repository_and_ca(work)
        blob = work / 'blob.bin'
        blob.write_bytes(os.urandom(SIZE))
        repo.add_target(blob, TARGET, CUSTOM, now())
        robots = {name: provision_robot(ca, work / name, name) for name in ('r1', 'r2', 'r5')}
        robots['r3'] = provision_robot(ca, work / 'r3', 'r3', now() - timedelta(days=10),
                                       timedelta(days=1))  # expired nine days ago
        stranger = FleetCA(work / 'other_pki')
        stranger.init(now(), 'another CA')
        robots['r4'] = provision_robot(stranger, work / 'r4', 'r4', trust=ca)
        ca.revoke('r2', now())
        options = fleet.FleetOptions(repo.dir, work / 'run', ca.dir, port=free_port())
        run = fleet.up(options, now())
        try:
            yield {'work': work, 'repo': repo, 'ca': ca, 'robots': robots, 'run': run,
                   'logs': nginx.paths(run.run_dir), 'digest': hashlib.sha256(
                       blob.read_bytes()).hexdigest()}
        finally:
            assert fleet.down(run.run_dir) == ['nginx']


def client_for(served, name, tls, url=None):
    base = served['work'] / f'{name}_state'
    provision(base / 'trust', served['repo'].root_path().read_bytes())
    fetcher = ResumableFetcher(base / 'partial', timeout_s=10.0, tls=tls)
    return SyncClient(base / 'trust', url or served['run'].url, base / 'cache', fetcher)


def access_line(served, *needles):
    """Wait for nginx's access log line holding every needle (it logs after it answers)."""
    found = []

    def seen():
        found[:] = [line for line in log_lines(served['logs']['access_log'])
                    if all(n in line for n in needles)]
        return bool(found)

    assert wait_until(seen, 10.0), f'no access log line with {needles}'
    return found[-1]


def test_robot_fetches_a_target_with_its_certificate(served):
    client = client_for(served, 'r1', TlsConfig.from_dir(served['robots']['r1']))
    assert client.refresh().outcome is Outcome.OK
    result = client.download(client.target(TARGET))
    assert result.outcome is Outcome.OK, result.reason
    assert hashlib.sha256(result.path.read_bytes()).hexdigest() == served['digest']
    line = access_line(served, '/targets/policy/', ' 200 ', 'dn="CN=r1"')
    assert 'verify=SUCCESS' in line and f' 200 {SIZE} ' in line


def test_range_resumes_a_cut_download(served):
    proxy = CuttingProxy(int(served['run'].url.rsplit(':', 1)[1]), cut_after=SIZE // 3)
    try:
        url = f'https://127.0.0.1:{proxy.port}'
        client = client_for(served, 'r1_cut', TlsConfig.from_dir(served['robots']['r1']), url)
        assert client.refresh().outcome is Outcome.OK
        target = client.target(TARGET)
        first = client.download(target)
        assert first.outcome is Outcome.OFFLINE and proxy.cuts == 1, first
        partials = list(client.fetcher.partial_dir.glob('*.part'))
        assert len(partials) == 1
        held = partials[0].stat().st_size
        assert 0 < held < SIZE
        second = client.download(target)
        assert second.outcome is Outcome.OK, second.reason
        assert hashlib.sha256(second.path.read_bytes()).hexdigest() == served['digest']
        assert client.fetcher.stats.resumed == 1
        line = access_line(served, f'range="bytes={held}-"')
        assert f' 206 {SIZE - held} ' in line and 'dn="CN=r1"' in line, line
    finally:
        proxy.close()


REFUSALS = {
    'no certificate': ('r1', False, 'verify=NONE', 'client sent no required SSL certificate'),
    'revoked': ('r2', True, 'verify=FAILED:certificate revoked', '(23:certificate revoked)'),
    'expired': ('r3', True, 'verify=FAILED:certificate has expired',
                '(10:certificate has expired)'),
    'another CA': ('r4', True, 'verify=FAILED:unable to verify the first certificate',
                   '(21:unable to verify the first certificate)'),
}


@pytest.mark.parametrize('case', REFUSALS)
def test_nginx_refuses_and_logs(served, case):
    robot, present, verdict, error = REFUSALS[case]
    tls = TlsConfig.from_dir(served['robots'][robot])
    if not present:
        tls = TlsConfig(tls.ca_file)
    result = client_for(served, f'{robot}_{case.replace(" ", "_")}', tls).refresh()
    assert result.outcome is not Outcome.OK and 'HTTP 400' in result.reason, result
    needle = 'serial=-' if not present else 'serial=' + _serial(tls.cert_file)
    line = access_line(served, verdict, needle)
    assert '/metadata/' in line and ' 400 ' in line, line
    assert wait_until(lambda: any(error in x for x in log_lines(served['logs']['error_log'])))


def _serial(cert_file):
    return serial_hex(x509.load_pem_x509_certificate(cert_file.read_bytes()).serial_number)


def test_a_revocation_holds_on_the_running_server(served):
    tls = TlsConfig.from_dir(served['robots']['r5'])
    assert client_for(served, 'r5_before', tls).refresh().outcome is Outcome.OK
    serials, reloaded = fleet.revoke(served['ca'].dir, 'r5', now(), served['run'].run_dir)
    assert reloaded and len(serials) == 1
    result = client_for(served, 'r5_after', tls).refresh()
    assert 'HTTP 400' in result.reason, result
    access_line(served, 'verify=FAILED:certificate revoked', f'serial={serial_hex(serials[0])}')


def test_only_the_repository_is_served(served):
    tls = TlsConfig.from_dir(served['robots']['r1'])
    http = urllib3.PoolManager(ssl_context=tls.context(), retries=False)
    base = served['run'].url
    assert http.request('GET', f'{base}/robots/r1.pub').status == 404
    assert http.request('GET', f'{base}/keys/root.pem').status == 404
    assert http.request('PUT', f'{base}/targets/x', body=b'x').status == 403
    assert http.request('GET', f'{base}/metadata/timestamp.json').status == 200


def test_nginx_runs_unprivileged(served):
    master = served['run'].pids['nginx']
    workers = nginx.workers(master)
    assert workers, 'nginx has no worker process'
    assert all(uid_of(pid) != 0 for pid in {master, *workers})


def test_cloud_up_and_down_commands(served, capsys):
    work, port = served['work'], str(free_port())
    run_dir = work / 'run_cli'
    up = ['cloud', 'up', '--repo', str(served['repo'].dir), '--run-dir', str(run_dir),
          '--pki', str(served['ca'].dir), '--port', port]
    assert main([*up, '--nginx', str(work / 'no-nginx')]) == 1
    assert 'not an executable nginx' in capsys.readouterr().err
    assert main(up) == 0
    pid = nginx.running_pid(run_dir)
    assert pid is not None and f'https://127.0.0.1:{port}' in capsys.readouterr().out
    assert main(up) == 1
    assert f'nginx already runs there (pid {pid})' in capsys.readouterr().err
    assert main(['cloud', 'down', '--run-dir', str(run_dir)]) == 0
    assert 'stopped nginx' in capsys.readouterr().out
    assert nginx.running_pid(run_dir) is None and not (run_dir / 'nginx.pid').exists()
    assert main(['cloud', 'down', '--run-dir', str(run_dir)]) == 0
    assert 'nothing was running' in capsys.readouterr().out


def test_a_failed_start_reports_nginx_own_words(served):
    with socket.create_server(('127.0.0.1', 0)) as taken:
        port = taken.getsockname()[1]
        options = fleet.FleetOptions(served['repo'].dir, served['work'] / 'run_taken',
                                     served['ca'].dir, port=port)
        with pytest.raises(FleetError, match='Address already in use'):
            fleet.up(options, now())
    assert nginx.running_pid(served['work'] / 'run_taken') is None
