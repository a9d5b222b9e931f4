"""The test tree: pytest imports test modules by basename (rootdir, no packages), so a name
used in two tiers stops collection of the whole run (it did: test_graph_reconcile.py)."""

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_every_test_module_has_a_unique_basename() -> None:
    names = Counter(p.name for p in TESTS.rglob('test_*.py'))
    assert len(names) > 100, 'the tree was found'
    assert [name for name, count in names.items() if count > 1] == []
