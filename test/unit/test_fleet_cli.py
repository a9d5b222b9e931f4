"""robo-edge cloud ca | add-robot | revoke-robot, the nginx template and the daemon helpers."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from fleet_fixtures import now, wait_until

from robo_edge.cli import main
from robo_edge.exceptions import FleetError
from robo_edge.sync import daemon, nginx, tls
from robo_edge.sync.identity import RobotIdentity
from robo_edge.sync.pki import FleetCA, serial_hex

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / 'config' / 'fleet' / 'nginx.conf'


def _cloud(tmp_path):
    repo = tmp_path / 'repo'
    assert main(['cloud', 'init', '--repo', str(repo)]) == 0
    return repo


def test_add_robot_issues_a_certificate_into_the_robots_folder(tmp_path, capsys):
    repo = _cloud(tmp_path)
    pki = tmp_path / 'pki'
    assert main(['cloud', 'ca', 'init', '--pki', str(pki), '--host', 'fleet.local']) == 0
    assert main(['cloud', 'add-robot', '--repo', str(repo), 'r1', '--key-out',
                 str(tmp_path / 'r1' / 'upload.pem'), '--valid-days', '7']) == 0
    assert 'TLS certificate serial' in capsys.readouterr().out
    tls_dir = tmp_path / 'r1' / 'tls'
    cert = x509.load_pem_x509_certificate((tls_dir / tls.CERT).read_bytes())
    assert cert.subject.rfc4514_string() == 'CN=r1'
    assert (cert.not_valid_after_utc - now()).days in (6, 7)
    assert (tls_dir / tls.CA).read_bytes() == (pki / 'ca.crt').read_bytes()
    assert RobotIdentity.load('r1', tmp_path / 'r1' / 'upload.pem').public_hex() == \
        (repo / 'robots' / 'r1.pub').read_text()  # the upload key still works as before
    server = x509.load_pem_x509_certificate((pki / 'server.crt').read_bytes())
    assert server.subject.rfc4514_string() == 'CN=fleet.local'

    assert main(['cloud', 'revoke-robot', 'r1', '--pki', str(pki)]) == 0
    assert f'revoked {serial_hex(cert.serial_number)}' in capsys.readouterr().out
    assert FleetCA(pki).crl().get_revoked_certificate_by_serial_number(cert.serial_number)
    assert main(['cloud', 'revoke-robot', 'nobody', '--pki', str(pki)]) == 1
    assert "no certificate was issued to 'nobody'" in capsys.readouterr().err


def test_add_robot_signs_a_csr_made_on_the_robot(tmp_path, capsys):
    repo = _cloud(tmp_path)
    assert main(['cloud', 'ca', 'init', '--pki', str(tmp_path / 'pki')]) == 0
    csr = tmp_path / 'robot.csr'
    csr.write_bytes(tls.make_csr(tmp_path / 'on_robot', 'r2'))
    key = tmp_path / 'r2.pem'
    assert main(['cloud', 'add-robot', '--repo', str(repo), 'r2', '--key-out', str(key),
                 '--csr', str(csr), '--cert-out', str(tmp_path / 'r2.crt')]) == 0
    cert = x509.load_pem_x509_certificate((tmp_path / 'r2.crt').read_bytes())
    assert cert.subject.rfc4514_string() == 'CN=r2'
    assert not (tmp_path / 'tls').exists()  # nothing made for the robot here
    capsys.readouterr()
    other = tmp_path / 'r3.pem'
    assert main(['cloud', 'add-robot', '--repo', str(repo), 'r3', '--key-out', str(other),
                 '--csr', str(csr), '--cert-out', str(tmp_path / 'r3.crt')]) == 1
    assert "the CSR is for 'r2', not 'r3'" in capsys.readouterr().err
    assert not other.exists() and not (tmp_path / 'r3.crt').exists()


def test_add_robot_refuses_bad_input_before_writing_anything(tmp_path, capsys):
    repo = _cloud(tmp_path)
    key = tmp_path / 'k.pem'
    assert main(['cloud', 'add-robot', '--repo', str(repo), 'R 1', '--key-out', str(key)]) == 1
    assert 'must match' in capsys.readouterr().err and not key.exists()
    assert main(['cloud', 'add-robot', '--repo', str(repo), 'r1', '--key-out', str(key),
                 '--csr', str(tmp_path / 'x.csr')]) == 2
    assert '--csr and --cert-out go together' in capsys.readouterr().err
    assert main(['cloud', 'add-robot', '--repo', str(repo), 'r1', '--key-out', str(key),
                 '--pki', str(tmp_path / 'no_pki')]) == 1
    assert 'no fleet CA' in capsys.readouterr().err and not key.exists()
    with pytest.raises(SystemExit):
        main(['cloud', 'add-robot', '--repo', str(repo), 'r1', '--key-out', str(key),
              '--valid-days', '0'])


def test_without_a_ca_add_robot_keeps_the_upload_key_and_says_how(tmp_path, capsys):
    repo = _cloud(tmp_path)
    assert main(['cloud', 'add-robot', '--repo', str(repo), 'r1', '--key-out',
                 str(tmp_path / 'r1.pem')]) == 0
    assert 'no fleet CA' in capsys.readouterr().out
    assert (repo / 'robots' / 'r1.pub').is_file()


def test_up_refuses_a_missing_ca_and_a_folder_it_did_not_make(tmp_path, capsys):
    repo = _cloud(tmp_path)
    up = ['cloud', 'up', '--repo', str(repo), '--pki', str(tmp_path / 'pki'), '--run-dir']
    assert main([*up, str(tmp_path / 'run')]) == 1
    assert 'no fleet CA' in capsys.readouterr().err
    assert main(['cloud', 'ca', 'init', '--pki', str(tmp_path / 'pki')]) == 0
    assert main([*up, str(tmp_path)]) == 1  # holds repo/, keys/, pki/: never handed over
    assert 'not empty and not a run folder' in capsys.readouterr().err


def test_the_shipped_template_renders_completely(tmp_path):
    site = nginx.NginxSite(tmp_path / 'repo', tmp_path / 'run', '::1', 18443)
    ca = FleetCA(tmp_path / 'pki')
    ca.init(now())
    conf = nginx.write_run_folder(site, ca, TEMPLATE).read_text()
    assert '@' not in conf.replace('$', '')
    assert 'listen [::1]:18443 ssl;' in conf and 'ssl_verify_client on;' in conf
    assert f'ssl_crl {(tmp_path / "run" / "tls").resolve()}/crl.pem;' in conf
    assert oct((tmp_path / 'run' / 'tls' / 'server.key').stat().st_mode)[-3:] == '600'
    assert site.url == 'https://[::1]:18443'


@pytest.mark.parametrize('template, values, match', [
    ('root @REPO@;', {}, 'no value for REPO'),
    ('root /x;', {'REPO': '/r'}, 'no placeholder for REPO'),
    ('root @REPO@;', {'REPO': '/r; include /etc/passwd'}, 'cannot go into a config'),
    ('root @REPO@;', {'REPO': '/r\n'}, 'cannot go into a config'),
])
def test_render_refuses_what_would_break_the_config(template, values, match):
    with pytest.raises(FleetError, match=match):
        nginx.render(template, values)


def test_a_missing_server_binary_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(daemon, 'SBIN', ())
    monkeypatch.setenv('PATH', '/nonexistent')
    with pytest.raises(FleetError, match='nginx is not installed.*make fleet-deps'):
        daemon.find_binary('nginx', 'nginx')


def test_stop_ends_a_daemon_it_can_name_and_no_other():
    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        # Right after Popen the child may still be inside exec (an empty /proc cmdline).
        assert wait_until(lambda: daemon.alive(child.pid, 'python'), 5.0)
        assert not daemon.alive(child.pid, 'nginx')
        assert daemon.stop(child.pid, 'nginx')  # not nginx: left alone, reported gone
        assert child.poll() is None
        assert daemon.stop(child.pid, 'python', timeout_s=6.0)
        assert child.wait(timeout=5) != 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_servers_never_run_as_root():
    if os.geteuid() == 0:
        assert daemon.account(None).pw_uid != 0
        with pytest.raises(FleetError, match='must not run as root'):
            daemon.account('root')
    else:
        assert daemon.account(None) is None
        with pytest.raises(FleetError, match='only root'):
            daemon.account('www-data')
