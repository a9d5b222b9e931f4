"""Resolving user files: relative to the file that names them before the working directory."""

from pathlib import Path

import pytest

from robo_edge import paths


def test_a_relative_path_resolves_next_to_the_file_that_names_it_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario_dir, cwd = tmp_path / 'scn', tmp_path / 'cwd' / 'inner'
    for folder in (scenario_dir, cwd, tmp_path / 'worlds', tmp_path / 'cwd' / 'worlds'):
        folder.mkdir(parents=True, exist_ok=True)
    (tmp_path / 'worlds' / 'w.yaml').write_text('mine\n')
    (tmp_path / 'cwd' / 'worlds' / 'w.yaml').write_text('a stranger\n')
    monkeypatch.chdir(cwd)  # '../worlds/w.yaml' also exists relative to the working directory
    found = paths.resolve('../worlds/w.yaml', 'sim/worlds', relative_to=scenario_dir)
    assert found.read_text() == 'mine\n'
    assert paths.resolve('../worlds/w.yaml', 'sim/worlds').read_text() == 'a stranger\n'
    absolute = tmp_path / 'worlds' / 'w.yaml'
    assert paths.resolve(str(absolute), 'sim/worlds', relative_to=cwd) == absolute.resolve()
