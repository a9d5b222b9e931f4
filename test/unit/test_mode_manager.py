"""The mode manager: rules, one-way escalation, the hold before NOMINAL, flapping, gate caps."""

import math

import pytest
from breaker_streams import MS, T0, S
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.breakers.fallback import FallbackChain
from robo_edge.breakers.faults import BreakerState, Source
from robo_edge.breakers.guard import BreakerGuard, GuardConfig
from robo_edge.breakers.mode import Mode, ModeConfig, ModeManager, assess, speed_limit_value
from robo_edge.robot.kinematics import BaseLimits
from robo_edge.safety.gate import linear_cap

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
CONFIG = ModeConfig()


def healthy(**changes):
    states = {source: CLOSED for source in Source}
    states.update({Source(name): state for name, state in changes.items()})
    return states


class Inputs:
    """Breaker states through a fallback chain into a mode manager."""

    def __init__(self, config=CONFIG):
        self.chain = FallbackChain(start_ns=T0)
        self.manager = ModeManager(config, T0)

    def at(self, now_ns, **changes):
        states = healthy(**changes)
        return self.manager.update(now_ns, states, self.chain.select(now_ns, states))


@pytest.mark.parametrize(('changes', 'mode', 'reason'), [
    ({}, Mode.NOMINAL, 'all required sources healthy'),
    ({'lidar': OPEN}, Mode.DEGRADED, 'obstacles from perception'),
    ({'imu': HALF_OPEN}, Mode.DEGRADED, 'imu half_open'),
    ({'perception': OPEN}, Mode.NOMINAL, 'all required sources healthy'),
    ({'camera': OPEN}, Mode.NOMINAL, 'all required sources healthy'),
    ({'lidar': OPEN, 'perception': OPEN}, Mode.SAFE_STOP, 'no obstacle source'),
    ({'odometry': OPEN}, Mode.SAFE_STOP, 'odometry open'),
    ({'controller': HALF_OPEN, 'lidar': OPEN}, Mode.SAFE_STOP, 'controller half_open'),
])
def test_the_rules(changes, mode, reason):
    states = healthy(**changes)
    selection = FallbackChain(start_ns=T0).select(T0, states)
    assert assess(states, selection, CONFIG) == (mode, reason)


def test_escalation_is_immediate_and_one_way_within_an_incident():
    inputs = Inputs()
    assert inputs.at(T0).mode is Mode.NOMINAL
    degraded = inputs.at(T0 + S, lidar=OPEN)
    assert (degraded.mode, degraded.speed_cap, degraded.since_ns, degraded.changed) == (
        Mode.DEGRADED, 0.3, T0 + S, True)
    stop = inputs.at(T0 + 2 * S, lidar=OPEN, odometry=OPEN)
    assert (stop.mode, stop.speed_cap, stop.changed) == (Mode.SAFE_STOP, 0.0, True)
    still = inputs.at(T0 + 3 * S, lidar=OPEN)  # odometry is back, the LiDAR is not
    assert (still.mode, still.since_ns, still.changed) == (Mode.SAFE_STOP, T0 + 2 * S, False)
    assert still.reason == 'odometry open; now obstacles from perception'


def test_nominal_needs_the_hold_and_an_interruption_restarts_it():
    inputs = Inputs()
    inputs.at(T0, odometry=OPEN)
    assert inputs.at(T0 + 1 * S).reason == 'odometry open; recovering 0.0/5 s'
    assert inputs.at(T0 + 5900 * MS).mode is Mode.SAFE_STOP
    inputs.at(T0 + 6 * S, odometry=HALF_OPEN)
    assert inputs.at(T0 + 7 * S).mode is Mode.SAFE_STOP
    assert inputs.at(T0 + 11900 * MS).mode is Mode.SAFE_STOP
    back = inputs.at(T0 + 12 * S)
    assert (back.mode, back.speed_cap, back.since_ns, back.changed) == (
        Mode.NOMINAL, None, T0 + 12 * S, True)


def test_reset_ends_an_incident():
    inputs = Inputs()
    inputs.at(T0, lidar=OPEN, perception=OPEN)
    inputs.manager.reset(T0 + S)
    assert inputs.manager.output.mode is Mode.NOMINAL
    assert inputs.at(T0 + 2 * S, lidar=OPEN).mode is Mode.DEGRADED


def test_speed_limit_values_for_the_gate():
    inputs = Inputs()
    limits = BaseLimits()
    nominal = inputs.at(T0)
    degraded = inputs.at(T0 + S, lidar=OPEN)
    stop = inputs.at(T0 + 2 * S, odometry=OPEN)
    assert speed_limit_value(nominal) == math.inf  # the gate reads only +inf as no cap
    assert speed_limit_value(degraded) == 0.3
    assert speed_limit_value(stop) == 0.0  # 0 stops: a default value never lifts the cap
    assert linear_cap(speed_limit_value(degraded), limits) == 0.3
    assert linear_cap(speed_limit_value(stop), limits) == 0.0


def test_a_source_both_required_and_degrading_is_rejected():
    with pytest.raises(ValueError, match='both required and degrading'):
        ModeConfig(required=(Source.IMU,), degrading=(Source.IMU,))


@given(st.lists(st.tuples(st.integers(1, 3000), st.dictionaries(
    st.sampled_from(['lidar', 'perception', 'imu', 'odometry', 'controller']),
    st.sampled_from(list(BreakerState)), max_size=3)), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_mode_never_steps_down_except_to_nominal_after_the_hold(steps):
    inputs = Inputs()
    now, previous, nominal_since = T0, Mode.NOMINAL, None
    for dt_ms, changes in steps:
        now += dt_ms * MS
        states = healthy(**changes)
        wanted, _ = assess(states, inputs.chain.select(now, states), CONFIG)
        out = inputs.at(now, **changes)
        nominal_since = (nominal_since or now) if wanted is Mode.NOMINAL else None
        assert out.mode >= wanted
        if out.mode < previous:
            assert out.mode is Mode.NOMINAL
            assert now - nominal_since >= CONFIG.hold_s * S
        previous = out.mode


# -- flapping (a target of the issue) --------------------------------------------------------
def changes_per_window(times, window_ns):
    return max((sum(1 for u in times if t <= u < t + window_ns) for t in times), default=0)


def flap(on_ms, period_ms, seconds, phase_ms=0):
    """Run a guard with every source nominal but a LiDAR that is silent for part of each
    period; return the times the mode changed and the guard."""
    guard = BreakerGuard(GuardConfig(), T0)
    changes = []
    for k in range(int(seconds * 100)):  # 100 Hz: every stream's slot, and the update tick
        now = T0 + k * 10 * MS
        digest = k.to_bytes(4, 'little')
        for source, every in ((Source.IMU, 1), (Source.ODOMETRY, 2), (Source.CAMERA, 7),
                              (Source.CONTROLLER, 5), (Source.PERCEPTION, 10)):
            if k % every == 0:
                guard.on_message(source, now, now, digest)
        in_cycle = (k * 10 + phase_ms) % period_ms
        if k % 10 == 0 and (now < T0 + 5 * S or in_cycle < on_ms):
            guard.on_message(Source.LIDAR, now, now, digest)
        if guard.update(now).mode.changed:
            changes.append(now)
    return changes, guard


@given(on_ms=st.integers(150, 600).map(lambda v: v - v % 10), phase_ms=st.integers(0, 990))
@settings(max_examples=3, deadline=None)
def test_a_lidar_flapping_at_1_hz_changes_the_mode_at_most_once_per_10_s(on_ms, phase_ms):
    changes, guard = flap(on_ms, 1000, 25.0, phase_ms - phase_ms % 10)
    assert changes_per_window(changes, 10 * S) <= 1
    assert len(changes) == 1
    assert guard.mode.output.mode is Mode.DEGRADED


def test_a_slow_flapper_latches_its_breaker_and_the_mode_stays_degraded():
    changes, guard = flap(3500, 4000, 25.0)
    lidar = guard.breakers[Source.LIDAR]
    assert lidar.latched
    assert lidar.state is OPEN
    assert len(changes) == 1
