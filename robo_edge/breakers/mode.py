"""The mode manager core: breaker states and the obstacle source -> a mode and a speed cap.

- SAFE_STOP: no obstacle source, or a required breaker (odometry, the controller) not CLOSED.
- DEGRADED: the obstacle source is a fallback, or a degrading breaker (the IMU) not CLOSED;
  the speed is capped (`degraded_speed_cap`).
- NOMINAL: otherwise.

Escalation is immediate and one-way within an incident: NOMINAL -> DEGRADED -> SAFE_STOP, never
back down to DEGRADED. The incident ends, and the mode returns to NOMINAL, only after the
inputs have been nominal (every required and degrading breaker CLOSED, the primary obstacle
source live) for `hold_s`, or on `reset`.

The gate's cap input (/robo_edge/speed_limit, std_msgs/Float64) fails closed: +inf is "no cap",
a positive value caps, and 0, a negative value or NaN stop (as does no cap at all, or one that
stopped coming). So `speed_limit_value` maps NOMINAL to +inf, DEGRADED to the cap and SAFE_STOP
to 0.0.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from robo_edge.breakers.fallback import Selection
from robo_edge.breakers.faults import NS_PER_S, BreakerState, Source
from robo_edge.breakers.params import param


class Mode(IntEnum):
    """Modes in order of severity."""

    NOMINAL = 0
    DEGRADED = 1
    SAFE_STOP = 2


@dataclass(frozen=True, slots=True)
class ModeConfig:
    """Which breakers matter how, the degraded cap, and the hold before NOMINAL."""

    required: tuple[Source, ...] = param((Source.ODOMETRY, Source.CONTROLLER),
                                         'breakers whose opening stops the robot')
    degrading: tuple[Source, ...] = param((Source.IMU,),
                                          'breakers whose opening degrades the mode')
    degraded_speed_cap: float = param(0.3, 'speed cap while DEGRADED (m/s)', 0.01)
    hold_s: float = param(5.0, 'nominal inputs for this long end an incident (s)', 0.0)

    def __post_init__(self) -> None:
        """Reject a source listed both as required and degrading."""
        both = set(self.required) & set(self.degrading)
        if both:
            raise ValueError(f'{sorted(s.value for s in both)} both required and degrading')


@dataclass(frozen=True, slots=True)
class ModeOutput:
    """The mode, why, its speed cap (None: no cap; 0.0: stop), since when, and if it changed."""

    mode: Mode
    reason: str
    speed_cap: float | None
    since_ns: int
    changed: bool


def speed_limit_value(output: ModeOutput) -> float:
    """Return the /robo_edge/speed_limit value for the gate: +inf no cap, 0.0 stop."""
    if output.mode is Mode.SAFE_STOP:
        return 0.0
    return math.inf if output.speed_cap is None else output.speed_cap


def assess(states: Mapping[Source, BreakerState], selection: Selection,
           config: ModeConfig) -> tuple[Mode, str]:
    """Return the mode the inputs call for now (no memory) and why."""
    def not_closed(sources: tuple[Source, ...]) -> list[str]:
        return [f'{s.value} {states.get(s, BreakerState.OPEN).value}' for s in sources
                if states.get(s) is not BreakerState.CLOSED]

    stop = not_closed(config.required)
    if selection.source is None:
        stop.insert(0, 'no obstacle source')
    if stop:
        return Mode.SAFE_STOP, ', '.join(stop)
    degrade = not_closed(config.degrading)
    if selection.fallback:
        degrade.insert(0, f'obstacles from {selection.name}')
    if degrade:
        return Mode.DEGRADED, ', '.join(degrade)
    return Mode.NOMINAL, 'all required sources healthy'


class ModeManager:
    """Keeps the mode with one-way escalation and a hold before returning to NOMINAL."""

    def __init__(self, config: ModeConfig, start_ns: int = 0) -> None:
        self.config = config
        self._hold_ns = round(config.hold_s * NS_PER_S)
        self._output = ModeOutput(Mode.NOMINAL, 'start', None, start_ns, False)
        self._nominal_since_ns: int | None = None
        self._cause = 'start'  # what raised the mode (kept while recovering)

    @property
    def output(self) -> ModeOutput:
        """Return the latest output."""
        return self._output

    def update(self, now_ns: int, states: Mapping[Source, BreakerState],
               selection: Selection) -> ModeOutput:
        """Return the mode at `now_ns`."""
        wanted, reason = assess(states, selection, self.config)
        current = self._output.mode
        if wanted is Mode.NOMINAL:
            if self._nominal_since_ns is None:
                self._nominal_since_ns = now_ns
            held_ns = now_ns - self._nominal_since_ns
            if current is not Mode.NOMINAL and held_ns < self._hold_ns:
                return self._keep(f'{self._cause}; recovering '
                                  f'{held_ns / NS_PER_S:.1f}/{self.config.hold_s:g} s')
            return self._set(now_ns, Mode.NOMINAL, reason)
        self._nominal_since_ns = None
        if wanted > current:
            return self._set(now_ns, wanted, reason)
        if wanted == current:
            self._cause = reason
            return self._keep(reason)
        return self._keep(f'{self._cause}; now {reason}')

    def reset(self, now_ns: int) -> None:
        """End the incident (an operator's decision): the next update starts from NOMINAL."""
        self._output = ModeOutput(Mode.NOMINAL, 'reset', None, now_ns, True)
        self._nominal_since_ns = None
        self._cause = 'reset'

    def _cap(self, mode: Mode) -> float | None:
        return {Mode.NOMINAL: None, Mode.DEGRADED: self.config.degraded_speed_cap,
                Mode.SAFE_STOP: 0.0}[mode]

    def _set(self, now_ns: int, mode: Mode, reason: str) -> ModeOutput:
        self._cause = reason
        changed = mode is not self._output.mode
        since = now_ns if changed else self._output.since_ns
        self._output = ModeOutput(mode, reason, self._cap(mode), since, changed)
        return self._output

    def _keep(self, reason: str) -> ModeOutput:
        out = self._output
        if not out.changed and out.reason == reason:
            return out
        self._output = ModeOutput(out.mode, reason, out.speed_cap, out.since_ns, False)
        return self._output
