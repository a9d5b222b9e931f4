"""robo-edge cloud init | publish | add-robot | provision, end to end with a robot agent."""

from pathlib import Path

from perception_fixtures import threshold_model
from sync_fixtures import map_file, policy_file

from robo_edge.cli import main
from robo_edge.sync.agent import Channel, SyncAgent
from robo_edge.sync.artifacts import VERIFIERS
from robo_edge.sync.client import SyncClient
from robo_edge.sync.fetcher import ResumableFetcher
from robo_edge.sync.identity import RobotIdentity
from robo_edge.sync.policy import RobotProfile
from robo_edge.sync.repository import Repository
from robo_edge.sync.server import RepoServer, start_in_thread
from robo_edge.sync.slots import SlotStore


def test_cloud_verbs_publish_what_a_robot_installs(tmp_path, capsys):
    repo = tmp_path / 'repo'
    assert main(['cloud', 'init', '--repo', str(repo)]) == 0
    assert (tmp_path / 'keys' / 'root.pem').is_file()
    assert main(['cloud', 'init', '--repo', str(repo)]) == 1  # not twice
    model = threshold_model(tmp_path / 'm.onnx')
    assert main(['cloud', 'publish', '--repo', str(repo), '--kind', 'model', '--target',
                 'model/floor_seg.onnx', '--version', 'v1', '--release', '1',
                 '--hardware', 'rover-v2', str(model)]) == 0
    map_yaml = map_file(tmp_path / 'map').with_suffix('.yaml')
    assert main(['cloud', 'publish', '--repo', str(repo), '--kind', 'map', '--target',
                 'map/warehouse.tar', '--version', 'm1', '--release', '1', str(map_yaml)]) == 0
    assert main(['cloud', 'publish', '--repo', str(repo), '--kind', 'policy', '--target',
                 'policy/limits.yaml', '--version', 'p1', '--release', '1',
                 str(policy_file(tmp_path / 'p.yaml', 0.4))]) == 0
    (tmp_path / 'bad.yaml').write_text('[1, 2]')
    assert main(['cloud', 'publish', '--repo', str(repo), '--kind', 'policy', '--target',
                 'policy/limits.yaml', '--version', 'p2', '--release', '2',
                 str(tmp_path / 'bad.yaml')]) == 1
    assert main(['cloud', 'add-robot', '--repo', str(repo), 'r1', '--key-out',
                 str(tmp_path / 'r1.pem')]) == 0
    assert RobotIdentity.load('r1', tmp_path / 'r1.pem').public_hex() == \
        (repo / 'robots' / 'r1.pub').read_text()
    data = tmp_path / 'robot'
    assert main(['cloud', 'provision', '--repo', str(repo), '--data-dir', str(data)]) == 0
    targets = Repository(repo, tmp_path / 'keys').targets()
    assert targets['model/floor_seg.onnx'].custom['compat'] == {'input_size': [160, 120]}
    assert targets['map/warehouse.tar'].custom['hardware'] == ['*']

    server = RepoServer(('127.0.0.1', 0), repo)
    start_in_thread(server)
    try:
        client = SyncClient(data / 'trust', server.url, data / 'cache',
                            ResumableFetcher(data / 'partial'))
        agent = SyncAgent(client, SlotStore(data / 'store', VERIFIERS),
                          RobotProfile('rover-v2', (160, 120)),
                          [Channel('model/floor_seg.onnx', 'model'),
                           Channel('map/warehouse.tar', 'map'),
                           Channel('policy/limits.yaml', 'policy')])
        events = agent.poll(1, idle=True)
        assert [e.action for e in events].count('activated') == 3, events
        assert Path(agent.store.active_path('map/warehouse.tar') / 'map' / 'map.yaml').is_file()
    finally:
        server.shutdown()
        server.server_close()
