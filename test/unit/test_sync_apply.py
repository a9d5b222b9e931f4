"""A policy applies whole or not at all (sync/apply.py), against fake parameter services."""

from collections.abc import Mapping
from typing import Any

import pytest

from robo_edge.sync.apply import ACTIVE, PENDING, REFUSED, CallFailed, IdleWatch, apply_whole


class FakeNodes:
    """Nodes with parameters; `refuse` maps node.parameter to a reason."""

    def __init__(self, nodes: dict[str, dict[str, Any]], refuse: dict[str, str] | None = None,
                 silent: frozenset[str] = frozenset()) -> None:
        self.nodes, self.refuse, self.silent = nodes, refuse or {}, silent

    def ready(self, node: str) -> bool:
        return node in self.nodes

    def get(self, node: str, names: list[str]) -> dict[str, Any]:
        return {name: self.nodes[node][name] for name in names}

    def set(self, node: str, values: Mapping[str, Any]) -> dict[str, str | None]:
        if node in self.silent:
            raise CallFailed(f'{node} did not answer')
        results = {}
        for name, value in values.items():
            results[name] = self.refuse.get(f'{node}.{name}')
            if results[name] is None:
                self.nodes[node][name] = value
        return results


def test_everything_taken_is_active() -> None:
    io = FakeNodes({'gate': {'crawl': 0.1, 'decel': 1.0}})
    assert apply_whole({'gate': {'crawl': 0.3, 'decel': 2}}, io).state == ACTIVE
    assert io.nodes['gate'] == {'crawl': 0.3, 'decel': 2.0}  # an integer for a double
    assert isinstance(io.nodes['gate']['decel'], float)


def test_one_refusal_restores_every_node_touched() -> None:
    io = FakeNodes({'mapper': {'wait': 0.3}, 'gate': {'crawl': 0.1, 'decel': 1.0}},
                   refuse={'gate.decel': 'decel above max_linear_accel'})
    result = apply_whole({'mapper': {'wait': 0.5}, 'gate': {'crawl': 0.3, 'decel': 5.0}}, io)
    assert result.state == REFUSED
    assert [str(r) for r in result.refusals] == ['gate.decel: decel above max_linear_accel']
    assert io.nodes == {'mapper': {'wait': 0.3}, 'gate': {'crawl': 0.1, 'decel': 1.0}}
    assert sorted(result.restored) == ['gate.crawl', 'mapper.wait']
    assert 'restored' in result.describe()


def test_a_node_that_does_not_answer_is_a_refusal_and_rolls_back() -> None:
    io = FakeNodes({'mapper': {'wait': 0.3}, 'gate': {'crawl': 0.1}}, silent=frozenset({'gate'}))
    result = apply_whole({'mapper': {'wait': 0.5}, 'gate': {'crawl': 0.3}}, io)
    assert result.state == REFUSED and io.nodes['mapper'] == {'wait': 0.3}
    assert result.restore_failures and 'did not answer' in result.describe()


def test_an_undeclared_parameter_is_refused() -> None:
    io = FakeNodes({'gate': {'crawl': 0.1}})
    result = apply_whole({'gate': {'crawl': 0.3, 'nope': 1}}, io)
    assert result.state == REFUSED and 'not declared' in result.describe()
    assert io.nodes['gate'] == {'crawl': 0.1}


def test_a_node_not_up_leaves_everything_pending() -> None:
    io = FakeNodes({'gate': {'crawl': 0.1}})
    result = apply_whole({'gate': {'crawl': 0.3}, 'mapper': {'wait': 0.5}}, io)
    assert result.state == PENDING and result.waiting_for == ['mapper']
    assert io.nodes['gate'] == {'crawl': 0.1}


@pytest.mark.parametrize(('heard', 'goal', 'now', 'idle'), [
    (None, '', 10, False),  # never heard: busy
    (0, '', 10**9, True),  # idle, fresh
    (0, '0', 10**9, False),  # navigating
    (0, '', 3 * 10**9, False),  # idle but stale
])
def test_idle_only_on_fresh_news(heard, goal, now, idle) -> None:
    watch = IdleWatch(stale_s=2.0)
    if heard is not None:
        watch.heard(heard, goal)
    assert watch.idle(now) is idle
