"""The README's figures are the result files' figures (tools/readme_figures.py)."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('readme_figures',
                                               ROOT / 'tools' / 'readme_figures.py')
figures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(figures)


def test_the_readme_table_is_generated_from_the_result_files() -> None:
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    block = figures.table()
    assert block in readme, 'README.md differs from bench/results: tools/readme_figures.py --write'
    for _, name, _ in figures.ROWS:
        assert f'`{name}`' in block


def test_each_row_names_its_commit_and_a_dirty_tree(tmp_path: Path) -> None:
    source = json.loads((ROOT / 'bench' / 'results' / 'planner.json').read_text())
    (tmp_path / 'planner.json').write_text(json.dumps({**source, 'commit': 'abcdef1234',
                                                       'dirty': True}))
    block = figures.table(tmp_path)
    assert '`planner.json` @ abcdef1, dirty |' in block
    assert '| no result file | `twin.json` missing |' in block


def test_a_changed_figure_fails_the_check(tmp_path: Path) -> None:
    source = json.loads((ROOT / 'bench' / 'results' / 'planner.json').read_text())
    source['verdict'] = {**source['verdict'], 'length_ratio_max': 9.876}
    (tmp_path / 'planner.json').write_text(json.dumps(source))
    changed = figures.table(tmp_path)
    assert 'length ratio max 9.876' in changed
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert figures.replace_block(readme, changed) != readme


def test_a_readme_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match='figures'):
        figures.replace_block('# no table here\n', figures.table())
