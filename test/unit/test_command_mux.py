"""The command mux: teleop outranks navigation while fresh; nothing old, future or NaN drives."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.robot.kinematics import Velocity
from robo_edge.safety.command_mux import (
    Drop,
    MuxConfig,
    MuxState,
    Source,
    StampedCommand,
    offer,
    select,
)

CONFIG = MuxConfig()  # teleop_timeout_s 0.5, future_tolerance_s 0.1
MS = 1_000_000
S = 1000 * MS
T0 = 100 * S
FORWARD = Velocity(0.3, 0.1)


def offered(command: Velocity, stamp_ns: int, now_ns: int,
            state: MuxState | None = None) -> tuple[MuxState, tuple[Drop, ...]]:
    return offer(state or MuxState(), StampedCommand(stamp_ns, command), now_ns, CONFIG)


def test_without_teleop_navigation_drives() -> None:
    result = select(MuxState(), T0, CONFIG)
    assert result.source is Source.NAVIGATION and result.teleop is None and not result.dropped


def test_fresh_teleop_outranks_navigation_until_its_timeout() -> None:
    state, dropped = offered(FORWARD, T0, T0 + 10 * MS)
    assert not dropped
    for now in (T0 + 10 * MS, T0 + 250 * MS, T0 + 500 * MS):  # the timeout is inclusive
        result = select(state, now, CONFIG)
        assert result.source is Source.TELEOP and result.teleop.velocity == FORWARD
        state = result.state
    result = select(state, T0 + 500 * MS + 1, CONFIG)
    assert result.source is Source.NAVIGATION and result.dropped == (Drop.EXPIRED,)
    # Forgotten: nothing, not even the clock stepping back a little, brings it back.
    assert select(result.state, T0 + 400 * MS, CONFIG).source is Source.NAVIGATION


def test_a_live_timeout_change_applies_to_the_command_held() -> None:
    state, _ = offered(FORWARD, T0, T0)
    assert select(state, T0 + 300 * MS, CONFIG).source is Source.TELEOP
    shorter = MuxConfig(teleop_timeout_s=0.2)
    result = select(state, T0 + 300 * MS, shorter)
    assert result.source is Source.NAVIGATION and result.dropped == (Drop.EXPIRED,)


def test_a_zero_twist_is_a_command_and_keeps_priority_while_fresh() -> None:
    state, _ = offered(FORWARD, T0, T0)
    state, dropped = offered(Velocity(), T0 + 50 * MS, T0 + 50 * MS, state)  # deadman released
    assert not dropped
    for now in range(T0 + 50 * MS, T0 + 550 * MS + 1, 50 * MS):
        result = select(state, now, CONFIG)
        assert result.source is Source.TELEOP and result.teleop.velocity == Velocity()
        state = result.state
    assert select(state, T0 + 551 * MS, CONFIG).source is Source.NAVIGATION


@pytest.mark.parametrize('velocity', [Velocity(math.nan, 0.0), Velocity(0.2, math.inf),
                                      Velocity(-math.inf, math.nan)])
def test_a_non_finite_command_is_dropped_and_navigation_drives(velocity: Velocity) -> None:
    state, _ = offered(FORWARD, T0, T0)
    state, dropped = offered(velocity, T0 + 20 * MS, T0 + 20 * MS, state)
    assert dropped == (Drop.NON_FINITE,)
    assert select(state, T0 + 30 * MS, CONFIG).source is Source.NAVIGATION


def test_a_future_stamp_beyond_the_tolerance_is_dropped() -> None:
    state, dropped = offered(FORWARD, T0 + 101 * MS, T0)
    assert dropped == (Drop.FUTURE,) and state.teleop is None
    # Not held for later either: when its stamp comes due it is still not used.
    assert select(state, T0 + 101 * MS, CONFIG).source is Source.NAVIGATION
    # A clock a little ahead (within the tolerance) is fine.
    state, dropped = offered(FORWARD, T0 + 100 * MS, T0)
    assert not dropped and select(state, T0, CONFIG).source is Source.TELEOP
    # A future command replaces a fresh one: the newest teleop command is not usable.
    state, dropped = offered(FORWARD, T0 + 5 * S, T0 + 10 * MS, state)
    assert dropped == (Drop.FUTURE,)
    assert select(state, T0 + 20 * MS, CONFIG).source is Source.NAVIGATION


def test_a_command_stale_on_arrival_or_older_than_the_held_one_is_dropped() -> None:
    state, dropped = offered(FORWARD, T0, T0 + 501 * MS)
    assert dropped == (Drop.STALE,) and state.teleop is None
    state, _ = offered(FORWARD, T0, T0)
    state, dropped = offered(Velocity(-0.2, 0.0), T0 - 10 * MS, T0 + 5 * MS, state)
    assert dropped == (Drop.STALE,)  # out of order: the newer one held stays in force
    assert select(state, T0 + 10 * MS, CONFIG).teleop.velocity == FORWARD


def test_the_clock_going_back_never_makes_an_old_command_fresh_again() -> None:
    state, _ = offered(FORWARD, T0, T0)
    result = select(state, T0 + 100 * MS, CONFIG)
    assert result.source is Source.TELEOP
    result = select(result.state, 10 * S, CONFIG)  # the system clock is set back 90 s
    assert result.source is Source.NAVIGATION and result.dropped == (Drop.CLOCK_WENT_BACK,)
    # The clock runs on to where the old command was stamped: it stays forgotten.
    state = result.state
    for now in range(T0 - 100 * MS, T0 + 300 * MS, 50 * MS):
        result = select(state, now, CONFIG)
        assert result.source is Source.NAVIGATION
        state = result.state
    # A step back of a few milliseconds is still a step back (an arrival sees it too).
    state, _ = offered(FORWARD, T0, T0)
    state, dropped = offered(Velocity(0.1, 0.0), T0 - 3 * MS, T0 - 2 * MS, state)
    assert dropped == (Drop.CLOCK_WENT_BACK,)  # the held one goes; the new one, on the new
    assert select(state, T0 - 2 * MS, CONFIG).teleop.velocity == Velocity(0.1, 0.0)  # line


def test_the_configuration_is_validated() -> None:
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match='teleop_timeout_s'):
            MuxConfig(teleop_timeout_s=bad)
    with pytest.raises(ValueError, match='future_tolerance_s'):
        MuxConfig(future_tolerance_s=-0.01)


components = st.floats(-2.0, 2.0, allow_nan=False) | st.sampled_from([0.0, -0.0])


@settings(max_examples=200, deadline=None)
@given(components, components, st.integers(-100 * MS, 500 * MS), st.integers(0, 500 * MS))
def test_any_finite_fresh_command_drives_until_its_timeout(
        linear: float, angular: float, offset_ns: int, later_ns: int) -> None:
    """Zero included: every finite command stamped within [now - 0.5 s, now + 0.1 s] drives."""
    now = T0
    command = Velocity(linear, angular)
    state, dropped = offered(command, now - offset_ns, now)
    assert not dropped
    result = select(state, now + later_ns, CONFIG)
    fresh = later_ns + offset_ns <= 500 * MS
    assert result.source is (Source.TELEOP if fresh else Source.NAVIGATION)
    if fresh:
        assert result.teleop.velocity == command


maybe_nan = st.floats(-2.0, 2.0, allow_nan=False) | st.sampled_from([math.nan, math.inf])
events = st.lists(st.tuples(
    st.booleans(),  # True: a teleop command arrives; False: a tick selects
    st.integers(-2 * S, 1 * S),  # the clock's step since the previous event (may go back)
    st.integers(-1 * S, 1 * S),  # the command's stamp relative to now
    maybe_nan,
), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(events)
def test_teleop_drives_only_with_the_newest_finite_fresh_command_of_an_unbroken_clock(
        sequence: list[tuple[bool, int, int, float]]) -> None:
    state, now = MuxState(), T0
    times: list[int] = []
    offers: list[tuple[int, StampedCommand]] = []  # (event index, command)
    for index, (arrives, step, stamp_offset, angular) in enumerate(sequence):
        now += step
        times.append(now)
        if arrives:
            # The linear speed names the event, so the command chosen can be traced back.
            command = StampedCommand(now + stamp_offset, Velocity(float(index), angular))
            state, _ = offer(state, command, now, CONFIG)
            offers.append((index, command))
            continue
        result = select(state, now, CONFIG)
        state = result.state
        if result.source is Source.NAVIGATION:
            continue
        chosen = result.teleop
        at = next(i for i, c in offers if c.velocity.linear == chosen.velocity.linear)
        assert math.isfinite(chosen.velocity.angular)
        assert -100 * MS <= now - chosen.stamp_ns <= 500 * MS
        # The clock never went back since it arrived...
        assert all(b >= a for a, b in zip(times[at:], times[at + 1:], strict=False))
        # ...and every command that arrived after it was older (out of order).
        assert all(c.stamp_ns < chosen.stamp_ns for i, c in offers if i > at)
