"""The fleet's certificate authority: robot client certificates, the server's, and the CRL.

Robot identity on the fleet's servers is an X.509 client certificate whose CN is the robot id,
issued by this CA from a signing request made on the robot (the robot's key never comes here).
The servers trust this CA alone and refuse what the CRL lists. The PKI folder (server side):

    ca.key                 the CA's signing key (0600; keep it offline like the TUF keys)
    ca.crt                 the CA: the servers' anchor for robots, the robots' for the servers
    crl.pem                revoked robot certificates; re-signed on every change, valid CRL_VALID
    server.key, server.crt the servers' own certificate (localhost by default), from this CA
    issued/<serial>.crt    every robot certificate issued (public; the record for revocation)

Time is passed in (`now`, aware UTC), so a test can mint a certificate that has expired.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from robo_edge.exceptions import FleetError
from robo_edge.sync.fsutil import atomic_write
from robo_edge.sync.tls import check_robot_id

CA_KEY, CA_CERT, CRL = 'ca.key', 'ca.crt', 'crl.pem'
SERVER_KEY, SERVER_CERT, ISSUED = 'server.key', 'server.crt', 'issued'
CA_VALID = timedelta(days=3650)
SERVER_VALID = timedelta(days=825)
ROBOT_VALID = timedelta(days=365)
CRL_VALID = timedelta(days=30)
SKEW = timedelta(minutes=5)  # not_before is backdated this much for clocks slightly behind
SERVER_HOSTS = ('localhost', '127.0.0.1', '::1')
# The operator's CN: the MQTT ACL lets it read every robot; no robot id can have a dot.
OPERATOR = 'fleet.operator'
PEM = serialization.Encoding.PEM
T = TypeVar('T')


def serial_hex(serial: int) -> str:
    """Return a serial as nginx logs it ($ssl_client_serial): its bytes in upper-case hex."""
    return serial.to_bytes((serial.bit_length() + 7) // 8 or 1, 'big').hex().upper()


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _usage(sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not sign, content_commitment=False,
                         key_encipherment=False, data_encipherment=False,
                         key_agreement=False, key_cert_sign=sign, crl_sign=sign,
                         encipher_only=False, decipher_only=False)


def _check_csr_key(key: object) -> None:
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size >= 256:
        return
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
        return
    raise FleetError('the CSR key must be ECDSA (P-256 or larger) or RSA (2048 bits or more)')


def read_csr(csr_pem: bytes) -> tuple[x509.CertificateSigningRequest, str]:
    """Return a robot's CSR and the robot id it names, checked (signature, CN, key)."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as e:
        raise FleetError(f'not a PEM certificate signing request: {e}') from e
    if not csr.is_signature_valid:
        raise FleetError('the CSR signature does not verify')
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise FleetError('the CSR must name exactly one CN (the robot id)')
    robot_id = check_robot_id(str(names[0].value))
    _check_csr_key(csr.public_key())
    return csr, robot_id


class FleetCA:
    """The CA in one PKI folder: issue, list and revoke certificates, sign the CRL."""

    def __init__(self, pki_dir: Path) -> None:
        self.dir = Path(pki_dir)

    def path(self, name: str) -> Path:
        """Return the path of one file of the PKI folder."""
        return self.dir / name

    def exists(self) -> bool:
        """Return whether this folder holds a CA."""
        return self.path(CA_CERT).is_file()

    def init(self, now: datetime, name: str = 'robo_edge fleet CA',
             hosts: tuple[str, ...] = SERVER_HOSTS) -> None:
        """Create the CA, an empty CRL and the server certificate for `hosts`."""
        if self.exists():
            raise FleetError(f'{self.dir}: already a fleet CA ({CA_CERT} exists)')
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        key = _new_key()
        builder = self._builder(_name(name), key.public_key(), now, CA_VALID)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        builder = builder.add_extension(_usage(sign=True), True)
        cert = builder.issuer_name(_name(name)).sign(key, hashes.SHA256())
        atomic_write(self.path(CA_KEY), _key_pem(key), 0o600)
        atomic_write(self.path(CA_CERT), cert.public_bytes(PEM))
        self.write_crl(now)
        self.issue_server(now, hosts)

    def certificate(self) -> x509.Certificate:
        """Return the CA certificate."""
        return self._load(CA_CERT, x509.load_pem_x509_certificate)

    def server_certificate(self) -> x509.Certificate:
        """Return the servers' certificate."""
        if not self.path(SERVER_KEY).is_file():
            raise FleetError(f'{self.path(SERVER_KEY)}: missing (`robo-edge cloud ca '
                             f'server-cert --pki {self.dir}`)')
        return self._load(SERVER_CERT, x509.load_pem_x509_certificate)

    def _load(self, name: str, loader: Callable[[bytes], T]) -> T:
        path = self.path(name)
        try:
            return loader(path.read_bytes())
        except FileNotFoundError as e:
            raise FleetError(f'{path}: missing (create the CA with `robo-edge cloud ca init '
                             f'--pki {self.dir}`)') from e
        except (OSError, ValueError) as e:
            raise FleetError(f'{path}: unreadable: {e}') from e

    def _key(self) -> ec.EllipticCurvePrivateKey:
        key = self._load(CA_KEY, lambda data: serialization.load_pem_private_key(data, None))
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise FleetError(f'{self.path(CA_KEY)}: not an ECDSA key')
        return key

    def _builder(self, subject: x509.Name, public_key: object, now: datetime,
                 valid_for: timedelta) -> x509.CertificateBuilder:
        if now.tzinfo is None:
            raise FleetError('certificate times must be timezone-aware (UTC)')
        if valid_for <= timedelta(0):
            raise FleetError(f'a validity must be positive, not {valid_for}')
        return (x509.CertificateBuilder().subject_name(subject).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - SKEW).not_valid_after(now + valid_for)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False))

    def _sign(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        ca = self.certificate()
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key())
        builder = builder.issuer_name(ca.subject).add_extension(aki, False)
        return builder.sign(self._key(), hashes.SHA256())

    def issue_robot(self, csr_pem: bytes, now: datetime,
                    valid_for: timedelta = ROBOT_VALID) -> x509.Certificate:
        """Issue a client certificate (CN = robot id) for a robot's CSR and record it."""
        csr, robot_id = read_csr(csr_pem)
        return self._issue_client(robot_id, csr.public_key(), now, valid_for)

    def issue_operator(self, tls_dir: Path, now: datetime,
                       valid_for: timedelta = ROBOT_VALID) -> x509.Certificate:
        """Issue the fleet operator's client identity (CN OPERATOR) into `tls_dir`.

        The folder has the robot's layout (robot.key, robot.crt, ca.crt), so
        `TlsConfig.from_dir` reads it; revoke it with `revoke(OPERATOR, ...)`.
        """
        key = _new_key()
        cert = self._issue_client(OPERATOR, key.public_key(), now, valid_for)
        Path(tls_dir).mkdir(parents=True, exist_ok=True)
        atomic_write(Path(tls_dir) / 'robot.key', _key_pem(key), 0o600)
        atomic_write(Path(tls_dir) / 'robot.crt', cert.public_bytes(PEM))
        atomic_write(Path(tls_dir) / 'ca.crt', self.certificate().public_bytes(PEM))
        return cert

    def _issue_client(self, common_name: str, public_key: object, now: datetime,
                      valid_for: timedelta) -> x509.Certificate:
        builder = self._builder(_name(common_name), public_key, now, valid_for)
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(_usage(sign=False), True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        cert = self._sign(builder)
        (self.dir / ISSUED).mkdir(exist_ok=True)
        atomic_write(self.dir / ISSUED / f'{serial_hex(cert.serial_number)}.crt',
                     cert.public_bytes(PEM))
        return cert

    def issue_server(self, now: datetime, hosts: tuple[str, ...] = SERVER_HOSTS,
                     valid_for: timedelta = SERVER_VALID) -> x509.Certificate:
        """Issue (or replace) the servers' key and certificate for `hosts` (DNS names or IPs)."""
        if not hosts:
            raise FleetError('the server certificate needs at least one host name')
        key = _new_key()
        builder = self._builder(_name(hosts[0]), key.public_key(), now, valid_for)
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(h) for h in hosts]), False)
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(_usage(sign=False), True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        cert = self._sign(builder)
        atomic_write(self.path(SERVER_KEY), _key_pem(key), 0o600)
        atomic_write(self.path(SERVER_CERT), cert.public_bytes(PEM))
        return cert

    def issued(self, robot_id: str | None = None) -> list[x509.Certificate]:
        """Return the robot certificates issued (to `robot_id` only, if given), oldest first."""
        certs = [x509.load_pem_x509_certificate(p.read_bytes())
                 for p in sorted((self.dir / ISSUED).glob('*.crt'))]
        if robot_id is not None:
            certs = [c for c in certs if _common_name(c) == robot_id]
        return sorted(certs, key=lambda c: c.not_valid_before_utc)

    def crl(self) -> x509.CertificateRevocationList:
        """Return the current CRL."""
        return self._load(CRL, x509.load_pem_x509_crl)

    def revoke(self, robot_id: str, now: datetime) -> list[int]:
        """Revoke every certificate issued to `robot_id`; re-sign the CRL; return the serials."""
        certs = self.issued(robot_id if robot_id == OPERATOR else check_robot_id(robot_id))
        if not certs:
            raise FleetError(f'{self.dir / ISSUED}: no certificate was issued to {robot_id!r}')
        revoked = {r.serial_number for r in self.crl()}
        new = [c.serial_number for c in certs if c.serial_number not in revoked]
        self.write_crl(now, new)
        return new

    def write_crl(self, now: datetime, add: list[int] | tuple[int, ...] = ()) -> None:
        """Sign a new CRL: the entries of the current one, `add` revoked at `now`, fresh dates."""
        entries, number = [], 1
        if self.path(CRL).exists():
            old = self.crl()
            entries = list(old)
            number = old.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
        entries += [x509.RevokedCertificateBuilder().serial_number(s).revocation_date(now)
                    .build() for s in add]
        ca = self.certificate()
        builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
                   .last_update(now - SKEW).next_update(now + CRL_VALID)
                   .add_extension(x509.CRLNumber(number), False)
                   .add_extension(
                       x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),
                       False))
        for entry in entries:
            builder = builder.add_revoked_certificate(entry)
        crl = builder.sign(self._key(), hashes.SHA256())
        atomic_write(self.path(CRL), crl.public_bytes(PEM))

    def crl_expires(self) -> datetime:
        """Return when the current CRL stops being valid (servers then refuse every robot)."""
        next_update = self.crl().next_update_utc
        if next_update is None:
            raise FleetError(f'{self.path(CRL)}: no next update')
        return next_update


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ''
