"""`make cloud-demo`: a map and a model update arrive from a local `robo-edge cloud serve`.

1. The publisher creates a TUF repository, registers robot r1 and provisions its trust anchor
   (`robo-edge cloud init | add-robot | provision`), then serves it (`robo-edge cloud serve`).
2. It publishes a nav2 map and the shipped floor segmentation model (release 1).
3. The robot (the cloud_sync cores, as the node runs them) refreshes, downloads with resume
   and a 2 MB/s cap, stages, passes the canary gate and activates both; the activation
   events go back up through the signed uplink.
4. A degenerate model (constant output) is published as release 2: verified by TUF, but the
   canary gate rejects it and the active model stays release 1.
"""

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from robo_edge.sync.agent import Channel, SyncAgent  # noqa: E402
from robo_edge.sync.artifacts import VERIFIERS  # noqa: E402
from robo_edge.sync.canary import CanaryGate, GateConfig  # noqa: E402
from robo_edge.sync.client import SyncClient  # noqa: E402
from robo_edge.sync.fetcher import ResumableFetcher  # noqa: E402
from robo_edge.sync.identity import RobotIdentity  # noqa: E402
from robo_edge.sync.policy import RobotProfile  # noqa: E402
from robo_edge.sync.probation import ProbationConfig  # noqa: E402
from robo_edge.sync.service import SyncService  # noqa: E402
from robo_edge.sync.slots import SlotStore  # noqa: E402
from robo_edge.sync.uplink import HttpSender, UplinkQueue  # noqa: E402

MODEL = REPO_ROOT / 'models' / 'floor_seg.onnx'
SAMPLE = REPO_ROOT / 'models' / 'canary_sample.npz'


def cli(*args: str) -> None:
    """Run one robo-edge verb and show it."""
    print('$ robo-edge', ' '.join(args), flush=True)
    subprocess.run([sys.executable, '-m', 'robo_edge.cli', *args], check=True,
                   cwd=REPO_ROOT)


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def make_map(folder: Path) -> Path:
    """Write a small nav2 map (a room with a wall)."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.full((80, 100), 254, np.uint8)
    pixels[[0, -1], :] = 0
    pixels[:, [0, -1]] = 0
    pixels[40, 20:70] = 0
    Image.fromarray(pixels).save(folder / 'room.pgm')
    (folder / 'room.yaml').write_text(yaml.safe_dump({
        'image': 'room.pgm', 'resolution': 0.05, 'origin': [0.0, 0.0, 0.0],
        'occupied_thresh': 0.65, 'free_thresh': 0.25, 'negate': 0}))
    return folder / 'room.yaml'


def constant_model(path: Path) -> Path:
    """Write a degenerate model: honours the file contract, ignores its input."""
    import onnx  # noqa: PLC0415 - dev dependency, only the demo needs it
    from onnx import TensorProto, helper, numpy_helper  # noqa: PLC0415

    shipped = onnx.load(str(MODEL))
    meta = {p.key: p.value for p in shipped.metadata_props}
    spec = yaml.safe_load(meta['robo_edge.input'])
    h, w = spec['height'], spec['width']
    logits = np.zeros((1, 2, h, w), np.float32)
    logits[:, 0] = 3.0
    graph = helper.make_graph(
        [helper.make_node('Constant', [], ['const'], value=numpy_helper.from_array(logits)),
         helper.make_node('Shape', [spec['name']], ['shape']),
         helper.make_node('Identity', ['const'], [yaml.safe_load(
             meta['robo_edge.output'])['name']])],
        'constant',
        [helper.make_tensor_value_info(spec['name'], TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info(yaml.safe_load(meta['robo_edge.output'])['name'],
                                       TensorProto.FLOAT, [1, 2, h, w])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 9
    helper.set_model_props(model, {**meta, 'robo_edge.version': 'constant-bad'})
    onnx.save(model, str(path))
    return path


def wait_up(url: str, timeout_s: float = 20.0) -> None:
    """Wait until the server answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f'{url}/metadata/root.json', timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)  # polling a child process's socket: nothing to wait on instead
    raise RuntimeError(f'{url} did not come up')


def show(events: list) -> None:
    """Print sync events."""
    for event in events:
        print(f'   robot: {event.action:<11} {event.target:<22} {event.detail}', flush=True)


def main() -> int:
    """Run the demo; exit 0 when everything happened as described."""
    with tempfile.TemporaryDirectory(prefix='cloud_demo_') as tmp:
        work = Path(tmp)
        repo, robot = work / 'cloud' / 'repo', work / 'robot'
        cli('cloud', 'init', '--repo', str(repo))
        cli('cloud', 'add-robot', '--repo', str(repo), 'r1', '--key-out',
            str(robot / 'r1.pem'))
        cli('cloud', 'provision', '--repo', str(repo), '--data-dir', str(robot))
        port = free_port()
        url = f'http://127.0.0.1:{port}'
        print(f'$ robo-edge cloud serve --repo {repo} --port {port} &', flush=True)
        server = subprocess.Popen([sys.executable, '-m', 'robo_edge.cli', 'cloud', 'serve',
                                   '--repo', str(repo), '--port', str(port)], cwd=REPO_ROOT,
                                  stderr=subprocess.DEVNULL)
        try:
            wait_up(url)
            cli('cloud', 'publish', '--repo', str(repo), '--kind', 'map', '--target',
                'map/room.tar', '--version', 'room-1', '--release', '1', '--hardware',
                'rover-v2', str(make_map(work / 'maps')))
            cli('cloud', 'publish', '--repo', str(repo), '--kind', 'model', '--target',
                'model/floor_seg.onnx', '--version', 'floor-seg-1', '--release', '1',
                '--hardware', 'rover-v2', str(MODEL))
            identity = RobotIdentity.load('r1', robot / 'r1.pem')
            uplink = UplinkQueue(robot / 'uplink.sqlite', 10_000_000)
            client = SyncClient(robot / 'trust', url, robot / 'cache',
                                ResumableFetcher(robot / 'partial', rate_bytes_per_s=2e6))
            agent = SyncAgent(client, SlotStore(robot / 'store', VERIFIERS),
                              RobotProfile('rover-v2', (160, 120)),
                              [Channel('map/room.tar', 'map'),
                               Channel('model/floor_seg.onnx', 'model')],
                              CanaryGate(GateConfig(sample_path=SAMPLE)))
            service = SyncService(agent, ProbationConfig(), lambda *a: None, uplink,
                                  HttpSender(identity, url, uplink))
            print('-- robot sync cycle 1 (navigating: the map must wait)', flush=True)
            show(service.poll(1, idle=False))
            print('-- robot sync cycle 2 (idle)', flush=True)
            show(service.poll(2, idle=True))
            ok = (agent.store.active('map/room.tar') is not None
                  and agent.store.active('model/floor_seg.onnx').info['release'] == 1)
            cli('cloud', 'publish', '--repo', str(repo), '--kind', 'model', '--target',
                'model/floor_seg.onnx', '--version', 'constant-bad', '--release', '2',
                '--hardware', 'rover-v2', str(constant_model(work / 'bad.onnx')))
            print('-- robot sync cycle 3 (a degenerate model is offered)', flush=True)
            events = service.poll(3, idle=True)
            show(events)
            active = agent.store.active('model/floor_seg.onnx')
            print(f'   active model: {active.info["version"]} (release '
                  f'{active.info["release"]}); uplink stored {service.uploaded} events on '
                  f'the server: {sorted(p.name for p in (repo / "uploads" / "r1").iterdir())}',
                  flush=True)
            ok = ok and active.info['release'] == 1 and any(
                e.action == 'gate_failed' for e in events)
            uplink.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print('cloud demo:', 'OK' if ok else 'FAILED')
    return 0 if ok else 1


if __name__ == '__main__':
    raise SystemExit(main())
