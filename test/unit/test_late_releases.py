"""Counting the lockstep waits that ran out, from the node logs of a run."""

from pathlib import Path

from robo_edge.lockstep import LATE_RELEASE
from robo_edge.scenario.late_releases import late_releases


def test_marked_warnings_are_counted_per_node_and_quiet_nodes_left_out(tmp_path: Path) -> None:
    (tmp_path / 'controller.log').write_text(
        f'[INFO] started\n[WARN] [controller]: {LATE_RELEASE} tick 4.050 s released\n'
        f'[WARN] [controller]: {LATE_RELEASE} tick 5.100 s released\n', encoding='utf-8')
    (tmp_path / 'mapper.log').write_text('[WARN] scan match failed\n', encoding='utf-8')
    (tmp_path / 'twin.log').write_bytes(b'\xff\xfe not utf-8 ' + LATE_RELEASE.encode() + b'\n')
    assert late_releases(tmp_path) == {'controller': 2, 'twin': 1}
    assert late_releases(tmp_path / 'missing') == {}
