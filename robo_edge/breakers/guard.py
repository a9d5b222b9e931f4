"""Every breaker, the cross-checks, the fallback chain and the mode in one object (pure).

`BreakerGuard` is what sensor_guard and mode_manager do together, for tests and benches; the
nodes use the parts (sensor_guard: breakers, cross-checks, chain; mode_manager: ModeManager on
the breaker states it reads from /diagnostics). `baseline.BaselineGuard` has the same interface
(`Guard`), so a bench can feed both the same streams.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from robo_edge.breakers.arbiter import Decision, Votes, arbitrate
from robo_edge.breakers.breaker import Breaker, BreakerConfig, BreakerStatus, default_config
from robo_edge.breakers.cross_check import (
    BeamScan,
    ScanCheckConfig,
    ScanCrossCheck,
    ScanVerdict,
    compare_scans,
)
from robo_edge.breakers.fallback import FallbackChain, Selection
from robo_edge.breakers.faults import BreakerState, Source
from robo_edge.breakers.mode import ModeConfig, ModeManager, ModeOutput
from robo_edge.breakers.model_health import ModelHealth, ModelHealthConfig
from robo_edge.breakers.params import flatten, from_params, prefixes, to_params
from robo_edge.breakers.votes import Vote, VoteConfig
from robo_edge.breakers.yaw_check import YawCheckConfig, YawRateCrossCheck
from robo_edge.exceptions import ConfigError

SENSOR_GUARD = 'sensor_guard'
MODE_MANAGER = 'mode_manager'
NODE_KEYS = frozenset({'use_sim_time'})  # the nodes' own keys, skipped by the loaders


def _default_breakers() -> dict[Source, BreakerConfig]:
    return {source: default_config(source) for source in Source}


@dataclass(frozen=True)
class GuardConfig:
    """The configuration of every part."""

    breakers: Mapping[Source, BreakerConfig] = field(default_factory=_default_breakers)
    model: ModelHealthConfig = ModelHealthConfig()
    scan_check: ScanCheckConfig = ScanCheckConfig()
    yaw_check: YawCheckConfig = YawCheckConfig()
    mode: ModeConfig = ModeConfig()
    votes: VoteConfig = VoteConfig()


def sensor_guard_sections(params: Mapping[str, Any],
                          source: str = f'{SENSOR_GUARD} parameters',
                          node_keys: frozenset[str] = NODE_KEYS) -> GuardConfig:
    """Return the sensor_guard part of the config (mode left at its defaults)."""
    params = _without(params, node_keys)
    known = {s.value for s in Source} | {'model', 'scan_check', 'yaw_check', 'votes'}
    for prefix in prefixes(params):
        if prefix not in known:
            raise ConfigError(source, prefix, f'one of {sorted(known)} (unknown key)', prefix)
    breakers = {
        s: from_params(BreakerConfig, _over(params, s.value, default_config(s)), s.value,
                       source)
        for s in Source
    }
    return GuardConfig(
        breakers=breakers,
        model=from_params(ModelHealthConfig, params, 'model', source),
        scan_check=from_params(ScanCheckConfig, params, 'scan_check', source),
        yaw_check=from_params(YawCheckConfig, params, 'yaw_check', source),
        votes=from_params(VoteConfig, params, 'votes', source),
    )


def mode_config(params: Mapping[str, Any], source: str = f'{MODE_MANAGER} parameters',
                node_keys: frozenset[str] = NODE_KEYS) -> ModeConfig:
    """Return the mode_manager config from its parameters."""
    return from_params(ModeConfig, _without(params, node_keys), '', source)


def guard_config(sensor_guard: Mapping[str, Any], mode_manager: Mapping[str, Any]) -> GuardConfig:
    """Return the whole config from the two nodes' `ros__parameters`."""
    sections = sensor_guard_sections(sensor_guard)
    return GuardConfig(sections.breakers, sections.model, sections.scan_check,
                       sections.yaw_check, mode_config(mode_manager), sections.votes)


def _without(params: Mapping[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in flatten(params).items() if key not in keys}


def _over(params: Mapping[str, Any], prefix: str, defaults: BreakerConfig) -> dict[str, Any]:
    """Return the source's defaults overlaid by the given keys (defaults differ per source)."""
    return {**to_params(defaults, prefix), **flatten(params)}


@dataclass(frozen=True, slots=True)
class GuardOutput:
    """One update: every breaker's status, the obstacle source, the mode."""

    statuses: Mapping[Source, BreakerStatus]
    selection: Selection
    mode: ModeOutput

    def states(self) -> dict[Source, BreakerState]:
        """Return the breaker states by source."""
        return {source: status.state for source, status in self.statuses.items()}


class Guard(Protocol):
    """What a bench feeds: messages of each source, model and cross-check inputs, updates."""

    def on_message(self, source: Source, now_ns: int, stamp_ns: int, digest: bytes = b'',
                   valid: bool = True) -> None:
        """Record an arrival."""
        ...

    def on_inference(self, now_ns: int, latency_ns: int, nan_outputs: int,
                     confidence: float) -> None:
        """Record one inference of the perception model."""
        ...

    def on_scans(self, now_ns: int, lidar: BeamScan, virtual: BeamScan,
                 votes: Callable[[], Votes] | None = None) -> Decision | None:
        """Compare a LiDAR scan with the virtual scan of about the same stamp."""
        ...

    def on_virtual_alone(self, now_ns: int, vote: Callable[[], Vote]) -> None:
        """Judge a virtual scan with no LiDAR scan to compare it with."""
        ...

    def on_yaw_rate(self, source: Source, stamp_ns: int, yaw_rate: float) -> None:
        """Record a yaw rate of the IMU or odometry."""
        ...

    def clock_went_back(self, now_ns: int) -> None:
        """Take a jump back of the clock to `now_ns`: reset nothing, unlock nothing."""

    def update(self, now_ns: int) -> GuardOutput:
        """Evaluate everything at `now_ns`."""
        ...


class BreakerGuard:
    """Breakers with cross-checks, the fallback chain and the mode manager."""

    def __init__(self, config: GuardConfig, start_ns: int) -> None:
        self.config = config
        self.model = ModelHealth(config.model)
        self.scan_check = ScanCrossCheck(config.scan_check)
        self.yaw_check = YawRateCrossCheck(config.yaw_check)
        self.breakers = {s: Breaker(s, config.breakers[s], start_ns) for s in Source}
        self.breakers[Source.PERCEPTION].attach(self.model)
        self.breakers[config.yaw_check.blame].attach(self.yaw_check)
        self.chain = FallbackChain(start_ns=start_ns)
        self.mode = ModeManager(config.mode, start_ns)

    def on_message(self, source: Source, now_ns: int, stamp_ns: int, digest: bytes = b'',
                   valid: bool = True) -> None:
        """Record an arrival."""
        self.breakers[source].on_message(now_ns, stamp_ns, digest, valid)

    def on_inference(self, now_ns: int, latency_ns: int, nan_outputs: int,
                     confidence: float) -> None:
        """Record one inference of the perception model."""
        self.model.observe(now_ns, latency_ns, nan_outputs, confidence)

    def on_scans(self, now_ns: int, lidar: BeamScan, virtual: BeamScan,
                 votes: Callable[[], Votes] | None = None) -> Decision:
        """Compare the scans, let the third votes decide; a blame that holds is reported.

        The model's own health is a vote the guard holds itself; the map and motion votes
        come from the caller (they need the map and odometry), asked for only when the scans
        disagree: agreeing scans (nearly every slot) cost no ray tracing.
        """
        comparison = compare_scans(lidar, virtual, self.config.scan_check)
        if comparison.verdict in (ScanVerdict.AGREE, ScanVerdict.INCONCLUSIVE):
            cast = Votes()
        else:
            cast = votes() if votes is not None else Votes()
            cast = Votes(cast.map, cast.motion, self.model.check(now_ns) is None)
        decision = arbitrate(comparison, cast)
        blame = self.scan_check.observe(now_ns, decision)
        if blame is not None:
            self.breakers[blame[0]].report(blame[1])
        return decision

    def on_virtual_alone(self, now_ns: int, vote: Callable[[], Vote]) -> None:
        """With the LiDAR out, judge the camera on the odometry vote alone.

        The virtual scan is then the only obstacle source, and one that paints obstacles
        riding along with the robot would steer it (or stop it) for nothing; `vote` is asked
        only while the perception breaker is closed.
        """
        if self.breakers[Source.PERCEPTION].state is not BreakerState.CLOSED:
            return
        blame = self.scan_check.observe_alone(now_ns, vote())
        if blame is not None:
            self.breakers[blame[0]].report(blame[1])

    def on_yaw_rate(self, source: Source, stamp_ns: int, yaw_rate: float) -> None:
        """Record a yaw rate of the IMU or odometry."""
        if source is Source.IMU:
            self.yaw_check.on_imu(stamp_ns, yaw_rate)
        elif source is Source.ODOMETRY:
            self.yaw_check.on_odom(stamp_ns, yaw_rate)
        else:
            raise ValueError(f'no yaw rate from {source.value}')

    def clock_went_back(self, now_ns: int) -> None:
        """Take a jump back to `now_ns`: every breaker keeps its state and its evidence."""
        for breaker in self.breakers.values():
            breaker.clock_went_back(now_ns)

    def reset(self, source: Source, now_ns: int) -> None:
        """Clear a breaker's latch (operator)."""
        self.breakers[source].reset(now_ns)

    def update(self, now_ns: int) -> GuardOutput:
        """Evaluate every breaker, then the chain, then the mode."""
        states = {s: b.update(now_ns) for s, b in self.breakers.items()}
        selection = self.chain.select(now_ns, states)
        mode = self.mode.update(now_ns, states, selection)
        statuses = {s: b.status() for s, b in self.breakers.items()}
        return GuardOutput(statuses, selection, mode)
