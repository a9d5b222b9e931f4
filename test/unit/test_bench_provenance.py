"""Benchmarks record the commit they ran at, in a clone and in a linked worktree, and refuse
a tree that differs from it unless --allow-dirty (bench/_provenance.py)."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'bench'))

import _provenance as provenance  # noqa: E402
from _hostinfo import git_commit, git_dirty  # noqa: E402


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(['git', *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / 'repo'
    path.mkdir()
    _git(path, 'init', '-q', '-b', 'main')
    (path / 'a.txt').write_text('a')
    _git(path, 'add', 'a.txt')
    _git(path, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'one')
    return path


def test_the_commit_of_a_clone_on_a_branch_and_after_packing(repo: Path) -> None:
    head = _git(repo, 'rev-parse', 'HEAD')
    assert git_commit(repo) == head
    _git(repo, 'pack-refs', '--all')
    assert git_commit(repo) == head


def test_the_commit_of_a_linked_worktree(repo: Path, tmp_path: Path) -> None:
    head = _git(repo, 'rev-parse', 'HEAD')
    _git(repo, 'worktree', 'add', '-q', '--detach', str(tmp_path / 'pinned'), head)
    _git(repo, 'worktree', 'add', '-q', '-b', 'side', str(tmp_path / 'branch'))
    assert git_commit(tmp_path / 'pinned') == head
    assert git_commit(tmp_path / 'branch') == head


def test_no_repository_no_commit(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None


def test_the_dirty_flag_ignores_results_and_sees_code(repo: Path) -> None:
    assert git_dirty(repo) is False
    (repo / 'bench' / 'results').mkdir(parents=True)
    (repo / 'bench' / 'results' / 'x.json').write_text('{}')
    assert git_dirty(repo) is False  # a benchmark writing its result is not a code change
    (repo / 'a.txt').write_text('changed')
    assert git_dirty(repo) is True
    assert git_dirty(repo / 'no_such_dir') is None


# ---------------------------------------------------------------- bench/_provenance.py

BENCH = Path(__file__).resolve().parents[2] / 'bench'
COMMIT = '0123456789abcdef0123456789abcdef01234567'


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    provenance.add_arguments(parser)
    return parser.parse_args(list(argv))


def _tree(monkeypatch: pytest.MonkeyPatch, commit: str | None, dirty: bool | None) -> None:
    monkeypatch.setattr(provenance, 'git_commit', lambda: commit)
    monkeypatch.setattr(provenance, 'git_dirty', lambda: dirty)


def test_allow_dirty_is_off_unless_given() -> None:
    assert _args().allow_dirty is False
    assert _args('--allow-dirty').allow_dirty is True


def test_a_dirty_tree_is_refused_naming_the_commit_and_the_way_out(monkeypatch) -> None:
    _tree(monkeypatch, COMMIT, True)
    with pytest.raises(SystemExit) as refused:
        provenance.check(_args())
    message = str(refused.value.code)
    assert COMMIT in message
    assert '--allow-dirty' in message
    assert 'uncommitted changes' in message


def test_a_dirty_tree_runs_with_allow_dirty_and_the_block_says_so(monkeypatch) -> None:
    _tree(monkeypatch, COMMIT, True)
    block = provenance.check(_args('--allow-dirty'))
    assert block['commit'] == COMMIT
    assert block['dirty'] is True


def test_an_unknown_commit_is_refused_unless_allowed(monkeypatch) -> None:
    _tree(monkeypatch, None, False)
    with pytest.raises(SystemExit) as refused:
        provenance.check(_args())
    assert 'commit' in str(refused.value.code) and '--allow-dirty' in str(refused.value.code)
    block = provenance.check(_args('--allow-dirty'))
    assert block['commit'] is None


def test_an_unknown_dirty_flag_is_refused_unless_allowed(monkeypatch) -> None:
    _tree(monkeypatch, COMMIT, None)
    with pytest.raises(SystemExit):
        provenance.check(_args())
    assert provenance.check(_args('--allow-dirty'))['dirty'] is None


def test_a_clean_tree_gives_the_whole_block(monkeypatch) -> None:
    _tree(monkeypatch, COMMIT, False)
    monkeypatch.setattr(sys, 'argv', [str(BENCH / 'twin.py'), '--sim-s', '1'])
    block = provenance.check(_args())
    assert set(block) == {'commit', 'dirty', 'command', 'host'}
    assert (block['commit'], block['dirty']) == (COMMIT, False)
    assert block['command'] == ['python', 'bench/twin.py', '--sim-s', '1']
    assert {'hostname', 'cpu_model', 'versions', 'git_commit', 'git_dirty'} <= set(block['host'])


def test_a_main_called_with_its_own_arguments_records_them(monkeypatch) -> None:
    _tree(monkeypatch, COMMIT, False)
    monkeypatch.setattr(sys, 'argv', ['pytest', '-q'])
    block = provenance.check(_args(), ['--quick'], BENCH / 'robot.py')
    assert block['command'] == ['python', 'bench/robot.py', '--quick']


def test_a_real_uncommitted_change_is_refused(repo: Path, monkeypatch) -> None:
    monkeypatch.setattr(provenance, 'git_commit', lambda: git_commit(repo))
    monkeypatch.setattr(provenance, 'git_dirty', lambda: git_dirty(repo))
    assert provenance.check(_args())['commit'] == _git(repo, 'rev-parse', 'HEAD')
    (repo / 'a.txt').write_text('changed')
    with pytest.raises(SystemExit):
        provenance.check(_args())
    assert provenance.check(_args('--allow-dirty'))['dirty'] is True


def test_every_benchmark_checks_its_provenance() -> None:
    scripts = sorted(p for p in BENCH.glob('*.py') if not p.name.startswith('_'))
    assert len(scripts) >= 13, 'the benchmarks were found'
    for script in scripts:
        source = script.read_text(encoding='utf-8')
        assert 'provenance.check(' in source, f'{script.name} does not call provenance.check('
        assert 'add_arguments(' in source, f'{script.name} does not add --allow-dirty'
        assert 'host_info(' not in source, f'{script.name} writes a host block of its own'


def test_the_robot_benchmark_takes_allow_dirty() -> None:
    import robot

    assert robot.parse_args(['--quick', '--allow-dirty']).allow_dirty is True
    assert robot.parse_args(['--quick']).allow_dirty is False


def test_sync_keeps_the_commit_of_each_section_it_did_not_rerun(tmp_path: Path) -> None:
    import sync

    out = tmp_path / 'sync.json'
    old = {'commit': 'old', 'dirty': False, 'command': ['python'], 'host': {}}
    sync.write(out, old, {'linkcut': {'pass': True}, 'drift': {'pass': True}})
    new = {**old, 'commit': 'new', 'dirty': True}
    sync.write(out, new, {'drift': {'pass': False}})
    written = json.loads(out.read_text())
    assert (written['commit'], written['dirty']) == ('new', True)
    assert written['linkcut'] == {'pass': True} and written['drift'] == {'pass': False}
    assert written['section_commits'] == {'linkcut': {'commit': 'old', 'dirty': False},
                                          'drift': {'commit': 'new', 'dirty': True}}
