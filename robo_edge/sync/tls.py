"""The robot's TLS identity: a key made on the robot, its signing request, its client context.

The robot's private key is generated in the robot's own `tls/` folder (0600) and never leaves
it; only the certificate signing request (CSR, CN = robot id) goes to the fleet CA. The CA's
certificate (`ca.crt`) is the robot's trust anchor for the fleet's servers, and `robot.crt`
is what the robot presents to them.

    <robot>/tls/robot.key   the robot's private key (ECDSA P-256), written here and only here
    <robot>/tls/robot.csr   the request sent to the fleet CA
    <robot>/tls/robot.crt   the certificate the CA issued for it
    <robot>/tls/ca.crt      the fleet CA: the only anchor the robot trusts for the servers
"""

import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

from robo_edge.exceptions import FleetError
from robo_edge.sync.fsutil import atomic_write
from robo_edge.sync.identity import ROBOT_ID

KEY, CSR, CERT, CA = 'robot.key', 'robot.csr', 'robot.crt', 'ca.crt'


@dataclass(frozen=True)
class TlsConfig:
    """What a robot's HTTPS client trusts (`ca_file`) and presents (`cert_file`, `key_file`)."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None

    @staticmethod
    def from_dir(tls_dir: Path) -> 'TlsConfig':
        """Return the configuration of a robot's provisioned `tls/` folder."""
        tls_dir = Path(tls_dir)
        return TlsConfig(tls_dir / CA, tls_dir / CERT, tls_dir / KEY)

    def context(self) -> ssl.SSLContext:
        """Return a client context: TLS 1.2 or newer, the fleet CA only, the robot's cert."""
        if (self.cert_file is None) != (self.key_file is None):
            raise FleetError('a client certificate needs both cert_file and key_file')
        for path in (self.ca_file, self.cert_file, self.key_file):
            if path is not None and not Path(path).is_file():
                raise FleetError(f'{path}: missing (provision the robot with '
                                 '`robo-edge cloud add-robot`)')
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file))
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.cert_file is not None:
                context.load_cert_chain(str(self.cert_file), str(self.key_file))
        except (ssl.SSLError, ValueError) as e:
            raise FleetError(f'TLS files {self.ca_file}, {self.cert_file}, {self.key_file}: '
                             f'{e}') from e
        return context


def check_robot_id(robot_id: str) -> str:
    """Return `robot_id` if it is a valid robot id, else raise a clear error."""
    if not ROBOT_ID.match(robot_id):
        raise FleetError(f'robot id {robot_id!r} must match {ROBOT_ID.pattern}')
    return robot_id


def robot_key(tls_dir: Path, create: bool = True) -> ec.EllipticCurvePrivateKey:
    """Return the robot's TLS key, creating it (0600) on first use: it never leaves the robot."""
    path = Path(tls_dir) / KEY
    if not path.exists():
        if not create:
            raise FleetError(f'{path}: no robot TLS key (make the CSR on this robot first)')
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        atomic_write(path, key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()), 0o600)
        return key
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as e:
        raise FleetError(f'{path}: cannot read the robot TLS key: {e}') from e
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise FleetError(f'{path}: not an ECDSA key')
    return key


def make_csr(tls_dir: Path, robot_id: str) -> bytes:
    """Create (or reuse) the robot's key and write a CSR with CN = robot id; return its PEM."""
    key = robot_key(tls_dir)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, check_robot_id(robot_id))])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    pem = csr.public_bytes(serialization.Encoding.PEM)
    atomic_write(Path(tls_dir) / CSR, pem)
    return pem


def install_certificate(tls_dir: Path, cert_pem: bytes, ca_pem: bytes) -> None:
    """Install the issued certificate and the fleet CA; refuse a cert for another key."""
    tls_dir = Path(tls_dir)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        x509.load_pem_x509_certificate(ca_pem)
    except ValueError as e:
        raise FleetError(f'not a PEM certificate: {e}') from e
    if _spki(cert.public_key()) != _spki(robot_key(tls_dir, create=False).public_key()):
        raise FleetError(f'{tls_dir / KEY}: the certificate is for another key')
    atomic_write(tls_dir / CERT, cert_pem)
    atomic_write(tls_dir / CA, ca_pem)


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
