"""What each artifact kind is on disk, how it is packed for publishing and checked once staged.

- model: one ONNX file honouring the model contract (`robo_edge.perception.model`).
- map: a tar of a nav2 map_server YAML and its image (`map.yaml` + image), unpacked into
  `map/` of the slot and loaded with `robo_edge.planning.map_server.load_map`.
- policy: one flat YAML mapping `<node>.<parameter>: value` (numbers, strings, booleans: speed
  caps, breaker thresholds), applied as ROS parameters of those nodes once active.
"""

import io
import re
import tarfile
from pathlib import Path

import yaml

from robo_edge.exceptions import ArtifactRejected, MapError, ModelError
from robo_edge.sync.policy import ArtifactInfo

MAP_DIR = 'map'
MAP_YAML = 'map.yaml'
MAX_MAP_MEMBERS = 4
POLICY_KEY = re.compile(r'^[a-z_][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_.]*$')


def pack_map(yaml_path: Path, out: Path) -> Path:
    """Pack a map YAML and its image into a deterministic tar (same bytes for same input)."""
    doc = yaml.safe_load(Path(yaml_path).read_text(encoding='utf-8'))
    image = Path(yaml_path).parent / str(doc['image'])
    doc['image'] = image.name
    members = [(MAP_YAML, yaml.safe_dump(doc, sort_keys=True).encode()),
               (image.name, image.read_bytes())]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w', format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    out.write_bytes(buffer.getvalue())
    return out


def check_model(slot: Path, info: ArtifactInfo) -> None:
    """Open the staged model with onnxruntime and check it against its declared input size."""
    from robo_edge.perception.model import load_model  # noqa: PLC0415 - onnxruntime is heavy

    try:
        session = load_model(slot / 'payload')
    except ModelError as e:
        raise ArtifactRejected(f'model does not load: {e}') from e
    try:
        size = info.compat.get('input_size')
        actual = [session.spec.input.width, session.spec.input.height]
        if size is not None and [int(v) for v in size] != actual:
            raise ArtifactRejected(f'model input is {actual}, its metadata says {size}')
    finally:
        session.close()


def check_map(slot: Path, info: ArtifactInfo) -> None:
    """Unpack the staged map tar (plain files only) and load it as nav2 map_server does."""
    from robo_edge.planning.map_server import load_map  # noqa: PLC0415

    target = slot / MAP_DIR
    target.mkdir()
    try:
        with tarfile.open(slot / 'payload', mode='r:') as tar:
            members = tar.getmembers()
            names = [m.name for m in members]
            if (len(members) > MAX_MAP_MEMBERS or MAP_YAML not in names
                    or not all(m.isfile() and '/' not in m.name for m in members)):
                raise ArtifactRejected(f'map archive must hold {MAP_YAML} and its image as '
                                       f'plain top-level files, found {names}')
            tar.extractall(target, filter='data')
        load_map(target / MAP_YAML)
    except (tarfile.TarError, MapError) as e:
        raise ArtifactRejected(f'map does not load: {e}') from e


def check_policy(slot: Path, info: ArtifactInfo) -> None:
    """Parse the staged policy: a YAML mapping of names to scalars."""
    load_policy(slot / 'payload')


def load_policy(path: Path) -> dict[str, object]:
    """Return a policy's parameters; raise ArtifactRejected if it is not a flat mapping."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ArtifactRejected(f'policy is not YAML: {e}') from e
    scalar = int | float | str | bool
    if not isinstance(doc, dict) or not doc or not all(
            isinstance(k, str) and POLICY_KEY.match(k) and isinstance(v, scalar)
            for k, v in doc.items()):
        raise ArtifactRejected('policy must be a non-empty mapping of <node>.<parameter> '
                               'names to scalars')
    return doc


def policy_overrides(policy: dict[str, object]) -> dict[str, dict[str, object]]:
    """Return a policy's parameters grouped by node: {node: {parameter: value}}."""
    nodes: dict[str, dict[str, object]] = {}
    for key, value in policy.items():
        node, _, name = key.partition('.')
        nodes.setdefault(node, {})[name] = value
    return nodes


VERIFIERS = {'model': check_model, 'map': check_map, 'policy': check_policy}
