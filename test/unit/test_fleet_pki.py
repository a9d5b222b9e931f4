"""The fleet CA and the robot's TLS identity: issue, verify, expire, revoke (no server)."""

import ssl
import stat
from datetime import timedelta
from ipaddress import ip_address

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fleet_fixtures import now, provision_robot

from robo_edge.exceptions import FleetError
from robo_edge.sync import tls
from robo_edge.sync.pki import CRL_VALID, FleetCA, serial_hex


@pytest.fixture
def ca(tmp_path):
    authority = FleetCA(tmp_path / 'pki')
    authority.init(now())
    return authority


def _csr(key, common_name):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return x509.CertificateSigningRequestBuilder().subject_name(name).sign(
        key, hashes.SHA256()).public_bytes(Encoding.PEM)


def test_init_writes_the_ca_crl_and_server_cert_with_private_keys_closed(ca):
    for name in ('ca.key', 'server.key'):
        assert stat.S_IMODE(ca.path(name).stat().st_mode) == 0o600
    cert = ca.certificate()
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert list(ca.crl()) == [] and ca.crl().is_signature_valid(cert.public_key())
    server = x509.load_pem_x509_certificate(ca.path('server.crt').read_bytes())
    server.verify_directly_issued_by(cert)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ['localhost']
    assert ip_address('127.0.0.1') in names.get_values_for_type(x509.IPAddress)
    with pytest.raises(FleetError, match='already a fleet CA'):
        ca.init(now())


def test_a_robot_certificate_names_the_robot_and_is_for_clients_only(ca, tmp_path):
    tls_dir = provision_robot(ca, tmp_path / 'robot', 'r7')
    cert = x509.load_pem_x509_certificate((tls_dir / tls.CERT).read_bytes())
    cert.verify_directly_issued_by(ca.certificate())
    assert cert.subject.rfc4514_string() == 'CN=r7'
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert stat.S_IMODE((tls_dir / tls.KEY).stat().st_mode) == 0o600
    assert [c.serial_number for c in ca.issued('r7')] == [cert.serial_number]
    assert not list(ca.dir.rglob('*robot.key'))  # the key stayed with the robot


def test_validity_is_passed_in_so_an_expired_certificate_can_be_minted(ca, tmp_path):
    issued = now() - timedelta(days=10)
    tls_dir = provision_robot(ca, tmp_path / 'old', 'r8', issued, timedelta(days=1))
    cert = x509.load_pem_x509_certificate((tls_dir / tls.CERT).read_bytes())
    assert cert.not_valid_after_utc < now()
    with pytest.raises(FleetError, match='positive'):
        ca.issue_robot(tls.make_csr(tmp_path / 'x', 'r9'), now(), timedelta(0))
    with pytest.raises(FleetError, match='timezone-aware'):
        ca.issue_robot(tls.make_csr(tmp_path / 'x', 'r9'), now().replace(tzinfo=None))


@pytest.mark.parametrize('common_name, key, match', [
    ('Robot 1', ec.generate_private_key(ec.SECP256R1()), 'must match'),
    ('../r1', ec.generate_private_key(ec.SECP256R1()), 'must match'),
    ('r1', rsa.generate_private_key(65537, 1024), 'RSA \\(2048 bits'),
])
def test_bad_requests_are_refused_with_the_reason(ca, common_name, key, match):
    with pytest.raises(FleetError, match=match):
        ca.issue_robot(_csr(key, common_name), now())


def test_garbage_is_not_a_request(ca):
    with pytest.raises(FleetError, match='not a PEM certificate signing request'):
        ca.issue_robot(b'-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n', now())
    assert not list((ca.dir / 'issued').glob('*.crt'))


def test_revocation_lists_every_certificate_of_the_robot_and_keeps_older_entries(ca, tmp_path):
    first = provision_robot(ca, tmp_path / 'a', 'r1')
    provision_robot(ca, tmp_path / 'a', 'r1')  # re-issued: same key, new certificate
    provision_robot(ca, tmp_path / 'b', 'r2')
    serials = ca.revoke('r1', now())
    assert sorted(serials) == sorted(c.serial_number for c in ca.issued('r1'))
    assert len(serials) == 2
    assert ca.revoke('r1', now()) == []  # already revoked: nothing new
    ca.revoke('r2', now())
    crl = ca.crl()
    assert crl.is_signature_valid(ca.certificate().public_key())
    assert {r.serial_number for r in crl} == {c.serial_number for c in ca.issued()}
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 4
    assert ca.crl_expires() > now() + CRL_VALID - timedelta(minutes=1)
    cert = x509.load_pem_x509_certificate((first / tls.CERT).read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    with pytest.raises(FleetError, match="no certificate was issued to 'r3'"):
        ca.revoke('r3', now())


def test_a_missing_ca_says_how_to_create_it(tmp_path):
    with pytest.raises(FleetError, match='robo-edge cloud ca init'):
        FleetCA(tmp_path / 'none').certificate()


def test_the_robot_keeps_its_key_and_refuses_a_certificate_for_another(ca, tmp_path):
    tls_dir = tmp_path / 'robot' / 'tls'
    tls.make_csr(tls_dir, 'r1')
    key = (tls_dir / tls.KEY).read_bytes()
    csr = x509.load_pem_x509_csr(tls.make_csr(tls_dir, 'r1'))
    assert (tls_dir / tls.KEY).read_bytes() == key  # a second request reuses the key
    assert csr.subject.rfc4514_string() == 'CN=r1' and csr.is_signature_valid
    stranger = ca.issue_robot(tls.make_csr(tmp_path / 'other', 'r1'), now())
    ca_pem = ca.certificate().public_bytes(Encoding.PEM)
    with pytest.raises(FleetError, match='for another key'):
        tls.install_certificate(tls_dir, stranger.public_bytes(Encoding.PEM), ca_pem)
    with pytest.raises(FleetError, match='no robot TLS key'):
        tls.install_certificate(tmp_path / 'empty', stranger.public_bytes(Encoding.PEM), ca_pem)


def test_client_context_trusts_the_fleet_ca_and_presents_the_robot(ca, tmp_path):
    tls_dir = provision_robot(ca, tmp_path / 'robot', 'r1')
    context = tls.TlsConfig.from_dir(tls_dir).context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert [c['subject'] for c in context.get_ca_certs()] == \
        [((('commonName', 'robo_edge fleet CA'),),)]
    with pytest.raises(FleetError, match='missing'):
        tls.TlsConfig.from_dir(tmp_path / 'nothing').context()
    with pytest.raises(FleetError, match='both cert_file and key_file'):
        tls.TlsConfig(tls_dir / tls.CA, tls_dir / tls.CERT).context()


def test_serials_are_written_as_nginx_logs_them(ca, tmp_path):
    assert serial_hex(0xABC) == '0ABC' and serial_hex(0x1F2E) == '1F2E'
    provision_robot(ca, tmp_path / 'robot', 'r1')
    cert = ca.issued('r1')[0]
    assert (ca.dir / 'issued' / f'{serial_hex(cert.serial_number)}.crt').is_file()
