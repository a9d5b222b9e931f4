"""The obstacle-source fallback chain: LiDAR, then the perception virtual scan, then none."""

import pytest
from breaker_streams import T0, S
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.breakers.fallback import FallbackChain
from robo_edge.breakers.faults import BreakerState, Source

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


def states(lidar, perception):
    return {Source.LIDAR: lidar, Source.PERCEPTION: perception}


def test_lidar_first_then_perception_then_none_and_back():
    chain = FallbackChain(start_ns=T0)
    first = chain.select(T0, states(CLOSED, CLOSED))
    assert (first.source, first.changed, first.fallback, first.since_ns) == (
        Source.LIDAR, False, False, T0)
    down = chain.select(T0 + S, states(OPEN, CLOSED))
    assert (down.source, down.previous, down.changed, down.fallback, down.since_ns) == (
        Source.PERCEPTION, Source.LIDAR, True, True, T0 + S)
    held = chain.select(T0 + 2 * S, states(HALF_OPEN, CLOSED))
    assert (held.source, held.changed, held.since_ns) == (Source.PERCEPTION, False, T0 + S)
    none = chain.select(T0 + 3 * S, states(OPEN, OPEN))
    assert (none.source, none.name, none.fallback, none.previous) == (
        None, 'none', False, Source.PERCEPTION)
    back = chain.select(T0 + 4 * S, states(CLOSED, OPEN))
    assert (back.source, back.changed, back.fallback) == (Source.LIDAR, True, False)
    assert chain.selection is back


def test_a_missing_state_counts_as_open():
    chain = FallbackChain(start_ns=T0)
    assert chain.select(T0, {Source.PERCEPTION: CLOSED}).source is Source.PERCEPTION


def test_a_chain_needs_distinct_sources():
    with pytest.raises(ValueError):
        FallbackChain(())
    with pytest.raises(ValueError):
        FallbackChain((Source.LIDAR, Source.LIDAR))


@given(st.lists(st.tuples(st.sampled_from(list(BreakerState)),
                          st.sampled_from(list(BreakerState))), min_size=1, max_size=30))
@settings(max_examples=60, deadline=None)
def test_the_live_source_is_always_the_first_closed_one(sequence):
    chain = FallbackChain(start_ns=T0)
    previous = chain.selection
    for k, (lidar, perception) in enumerate(sequence):
        now = T0 + k * S
        sel = chain.select(now, states(lidar, perception))
        expected = (Source.LIDAR if lidar is CLOSED else
                    Source.PERCEPTION if perception is CLOSED else None)
        assert sel.source is expected
        assert sel.changed == (expected is not previous.source)
        assert sel.since_ns == (now if sel.changed else previous.since_ns)
        previous = sel
