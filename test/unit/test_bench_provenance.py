"""Benchmarks record the commit they ran at, in a clone and in a linked worktree."""

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'bench'))

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
