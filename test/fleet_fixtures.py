"""Shared pieces of the fleet tests: robots with certificates, free ports, a link that cuts."""

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from robo_edge.sync import tls
from robo_edge.sync.pki import FleetCA
from robo_edge.sync.repository import Repository


def now() -> datetime:
    return datetime.now(UTC)


def free_port() -> int:
    """A TCP port nobody listens on now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@contextmanager
def shared_work_dir() -> Iterator[Path]:
    """A folder an unprivileged server can read (pytest's tmp_path is 0700 under root)."""
    work = Path(tempfile.mkdtemp(prefix='robo_edge_fleet_'))
    work.chmod(0o755)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def repository_and_ca(work: Path) -> tuple[Repository, FleetCA]:
    """Return a new repository (work/repo, keys in work/keys) and fleet CA (work/pki)."""
    repo = Repository(work / 'repo', work / 'keys')
    repo.init(now())
    ca = FleetCA(work / 'pki')
    ca.init(now())
    return repo, ca


def provision_robot(ca: FleetCA, folder: Path, robot_id: str, when: datetime | None = None,
                    valid_for: timedelta = timedelta(days=30),
                    trust: FleetCA | None = None) -> Path:
    """Make a robot's key and CSR in folder/tls, have `ca` sign it, install it; return tls/.

    `when` back-dates the issue (an expired certificate); `trust` is the CA whose certificate
    the robot trusts for the servers (default: `ca`).
    """
    tls_dir = folder / 'tls'
    cert = ca.issue_robot(tls.make_csr(tls_dir, robot_id), when or now(), valid_for)
    anchor = (trust or ca).certificate().public_bytes(Encoding.PEM)
    tls.install_certificate(tls_dir, cert.public_bytes(Encoding.PEM), anchor)
    return tls_dir


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def log_lines(path: Path) -> list[str]:
    return path.read_text(errors='replace').splitlines() if path.exists() else []


class CuttingProxy:
    """A TCP relay to a server; once armed, it cuts the first connection that has relayed
    `cut_after` bytes towards the client (TLS passes through untouched)."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.armed = True
        self.cuts = 0
        self._listener = socket.create_server(('127.0.0.1', 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(('127.0.0.1', self.target_port), timeout=5)
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, downstream: bool) -> None:
        sent = 0
        try:
            while data := src.recv(16384):
                if downstream and self.armed and sent + len(data) > self.cut_after:
                    dst.sendall(data[:self.cut_after - sent])
                    self.armed = False
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=2)


def uid_of(pid: int) -> int:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('Uid:'):
            return int(line.split()[1])
    raise AssertionError(f'no Uid line for pid {pid}')


def running_as_root() -> bool:
    return os.geteuid() == 0


class Subscriber:
    """An MQTT 5 client that subscribes to `topic` at QoS 1 on every connect and keeps what it
    receives: (topic, payload, user properties). Used with the operator's identity."""

    def __init__(self, tls_dir: Path, port: int, topic: str, client_id: str) -> None:
        import paho.mqtt.client as mqtt  # noqa: PLC0415 - only the MQTT tests need it

        from robo_edge.sync.tls import TlsConfig  # noqa: PLC0415

        self.topic = topic
        self.messages: list[tuple[str, bytes, dict[str, str]]] = []
        self.subscribed = threading.Event()
        self.hook: Callable[[dict[str, str]], None] | None = None  # runs on each message
        self._lock = threading.Lock()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=mqtt.MQTTv5)
        self._client.tls_set_context(TlsConfig.from_dir(tls_dir).context())
        self._client.reconnect_delay_set(1, 2)
        self._client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda c, u, mid, codes, p: self.subscribed.set()
        self._client.on_disconnect = lambda c, u, f, rc, p: self.subscribed.clear()
        self._client.on_message = self._on_message
        self._client.connect_async('127.0.0.1', port)
        self._client.loop_start()

    def _on_message(self, client: object, userdata: object, message: object) -> None:
        props = dict(getattr(message.properties, 'UserProperty', []) or [])
        with self._lock:
            self.messages.append((message.topic, message.payload, props))
        if self.hook is not None:
            self.hook(props)

    def received(self) -> list[tuple[str, bytes, dict[str, str]]]:
        with self._lock:
            return list(self.messages)

    def item_ids(self, topic_prefix: str = '', since: int = 0) -> list[int]:
        """The item ids received under `topic_prefix`, from the `since`-th message on."""
        return [int(p['item-id']) for t, _, p in self.received()[since:]
                if t.startswith(topic_prefix) and 'item-id' in p]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
