"""Shared pieces of the cloud sync tests: a signed repository, its server, a robot agent."""

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from robo_edge.sync.agent import Channel, Gate, SyncAgent
from robo_edge.sync.artifacts import VERIFIERS, pack_map
from robo_edge.sync.client import SyncClient, provision
from robo_edge.sync.fetcher import ResumableFetcher
from robo_edge.sync.policy import RobotProfile
from robo_edge.sync.repository import Repository
from robo_edge.sync.server import RepoHandler, RepoServer, start_in_thread
from robo_edge.sync.slots import SlotStore

HARDWARE = 'rover-v2'
POLICY = 'policy/limits.yaml'
MODEL = 'model/floor_seg.onnx'
MAP = 'map/warehouse.tar'
CHANNELS = [Channel(POLICY, 'policy'), Channel(MODEL, 'model'), Channel(MAP, 'map')]
ROBOT = RobotProfile(HARDWARE, model_input_size=(160, 120), map_frame='map')


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def custom(kind: str, release: int, version: str | None = None,
           hardware: list[str] | None = None, **compat: object) -> dict:
    if kind == 'model' and not compat:
        compat = {'input_size': [160, 120]}
    if kind == 'map' and not compat:
        compat = {'map_frame': 'map'}
    return {'kind': kind, 'version': version or f'{kind}-{release}', 'release': release,
            'hardware': hardware or [HARDWARE], 'compat': compat}


def policy_file(path: Path, speed: float) -> Path:
    path.write_text(yaml.safe_dump({'safety_gate.crawl_speed': speed,
                                    'breakers.max_trips': 3}), encoding='utf-8')
    return path


def map_file(folder: Path, occupied: int = 10) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.full((40, 50), 254, np.uint8)
    pixels[:occupied, :5] = 0
    Image.fromarray(pixels).save(folder / 'warehouse.pgm')
    (folder / 'warehouse.yaml').write_text(yaml.safe_dump({
        'image': 'warehouse.pgm', 'resolution': 0.05, 'origin': [0.0, 0.0, 0.0],
        'occupied_thresh': 0.65, 'free_thresh': 0.25, 'negate': 0, 'mode': 'trinary'}))
    return pack_map(folder / 'warehouse.yaml', folder / 'warehouse.tar')


@dataclass
class Cloud:
    repo: Repository
    server: RepoServer

    @property
    def url(self) -> str:
        return self.server.url

    def stored(self, target: str) -> Path:
        info = self.repo.targets()[target]
        directory, _, name = target.rpartition('/')
        return self.repo.targets_dir / directory / f'{info.hashes["sha256"]}.{name}'

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_cloud(tmp_path: Path, handler: type[RepoHandler] = RepoHandler,
               verifier: object = None) -> Cloud:
    repo = Repository(tmp_path / 'repo', tmp_path / 'keys')
    repo.init(now())
    server = RepoServer(('127.0.0.1', 0), repo.dir, verifier, handler)
    start_in_thread(server)
    return Cloud(repo, server)


def make_robot(tmp_path: Path, cloud: Cloud, url: str | None = None, gate: Gate | None = None,
               timeout_s: float = 5.0, name: str = 'robot', rate: float = 0.0,
               map_defer_warn_s: float = 600.0) -> SyncAgent:
    base = tmp_path / name
    provision(base / 'trust', cloud.repo.root_path().read_bytes())
    fetcher = ResumableFetcher(base / 'partial', rate_bytes_per_s=rate, timeout_s=timeout_s)
    client = SyncClient(base / 'trust', url or cloud.url, base / 'cache', fetcher)
    store = SlotStore(base / 'store', VERIFIERS)
    return SyncAgent(client, store, ROBOT, CHANNELS, gate, map_defer_warn_s=map_defer_warn_s)


def copy_metadata(cloud: Cloud, dest: Path) -> Path:
    shutil.copytree(cloud.repo.metadata_dir, dest)
    return dest


def constant_model(path: Path, height: int = 120, width: int = 160, **meta: object) -> Path:
    """A contract-honouring model whose logits ignore the input (a degenerate candidate)."""
    from onnx import TensorProto, helper, numpy_helper
    from perception_fixtures import metadata, write_model

    logits = np.zeros((1, 2, height, width), np.float32)
    logits[:, 0] = 3.0  # floor everywhere, whatever the image
    nodes = [
        helper.make_node('Constant', [], ['const'], value=numpy_helper.from_array(logits)),
        helper.make_node('Shape', ['image'], ['shape']),  # keeps the input in the graph
        helper.make_node('Identity', ['const'], ['logits']),
    ]
    graph = helper.make_graph(
        nodes, 'constant',
        [helper.make_tensor_value_info('image', TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [1, 2, height, width])])
    return write_model(path, graph, metadata(height, width, **meta))
