"""Command sources in priority order, each valid while fresh: twist_mux inside the gate (pure).

Two sources reach the base, both through the safety gate: navigation (`/cmd_vel_raw`: the
controller, or a drive script) and teleop (`/cmd_vel_teleop`: an operator). Teleop outranks
navigation while its newest command is fresh: stamped not after now (up to
`future_tolerance_s`, for clocks a little apart) and not older than `teleop_timeout_s`. A
teleop command that is not finite, stamped in the future or already too old is not used
(dropped, with the reason): navigation drives as without teleop. An explicit zero twist is a
command like any other: a released deadman stops the robot and keeps priority until it times
out, rather than handing the base to navigation at once.

Time only moves forward here: when it goes back (a system clock set back, a new simulated run)
the held teleop command is forgotten, so a command stamped on the old time line never becomes
fresh again on the new one. A command that timed out is forgotten too (a later small step back
cannot revive it). The mux only chooses; the gate then caps, brakes and stops the chosen command.
"""

import math
from dataclasses import dataclass
from enum import Enum

from robo_edge.robot.kinematics import Velocity

NS_PER_S = 1_000_000_000


class Source(Enum):
    """Which command source drove a tick."""

    NAVIGATION = 'navigation'
    TELEOP = 'teleop'


class Drop(Enum):
    """Why a teleop command is not (or no longer) used."""

    NON_FINITE = 'non_finite'  # a NaN or infinite component
    FUTURE = 'future'  # stamped after now, beyond the tolerance
    STALE = 'stale'  # older than the timeout on arrival, or older than the one held
    EXPIRED = 'expired'  # used while fresh, then timed out: navigation drives again
    CLOCK_WENT_BACK = 'clock_went_back'  # held when the clock went back


@dataclass(frozen=True, slots=True)
class MuxConfig:
    """How long a teleop command lasts, and how far ahead of now its stamp may lie (s)."""

    teleop_timeout_s: float = 0.5
    future_tolerance_s: float = 0.1  # a clock a little ahead; a lockstep tick or two

    def __post_init__(self) -> None:
        """Reject a timeout that is not positive and finite, or a negative tolerance."""
        if not (math.isfinite(self.teleop_timeout_s) and self.teleop_timeout_s > 0):
            raise ValueError(f'teleop_timeout_s must be > 0, got {self.teleop_timeout_s}')
        if not (math.isfinite(self.future_tolerance_s) and self.future_tolerance_s >= 0):
            raise ValueError(f'future_tolerance_s must be >= 0, got {self.future_tolerance_s}')


@dataclass(frozen=True, slots=True)
class StampedCommand:
    """A body twist and its stamp (integer ns)."""

    stamp_ns: int
    velocity: Velocity


@dataclass(frozen=True, slots=True)
class MuxState:
    """The teleop command held, and the latest time seen (to notice the clock going back)."""

    teleop: StampedCommand | None = None
    last_now_ns: int | None = None


@dataclass(frozen=True, slots=True)
class MuxResult:
    """A tick's choice: the source, the teleop command when teleop drives, what was dropped."""

    source: Source
    teleop: StampedCommand | None
    state: MuxState
    dropped: tuple[Drop, ...] = ()


def is_finite(velocity: Velocity) -> bool:
    """Return whether both components of a twist are finite."""
    return math.isfinite(velocity.linear) and math.isfinite(velocity.angular)


def age_drop(stamp_ns: int, now_ns: int, config: MuxConfig) -> Drop | None:
    """Return FUTURE or STALE when a stamp is not fresh at `now_ns`, else None."""
    age_ns = now_ns - stamp_ns
    if age_ns < -config.future_tolerance_s * NS_PER_S:
        return Drop.FUTURE
    if age_ns > config.teleop_timeout_s * NS_PER_S:
        return Drop.STALE
    return None


def advance(state: MuxState, now_ns: int) -> tuple[MuxState, tuple[Drop, ...]]:
    """Move the state to `now_ns`; forget the held command when the clock went back."""
    if state.last_now_ns is not None and now_ns < state.last_now_ns:
        dropped = (Drop.CLOCK_WENT_BACK,) if state.teleop is not None else ()
        return MuxState(None, now_ns), dropped
    return MuxState(state.teleop, now_ns), ()


def offer(state: MuxState, command: StampedCommand, now_ns: int,
          config: MuxConfig) -> tuple[MuxState, tuple[Drop, ...]]:
    """Take a teleop command arriving at `now_ns`; return the state and what was dropped.

    A command older than the one held says nothing about now: it is dropped and the held one
    kept. Otherwise the new command is the newest: held when usable, and when not (not finite,
    future, stale) teleop has no usable command and navigation drives.
    """
    state, dropped = advance(state, now_ns)
    held = state.teleop
    if held is not None and command.stamp_ns < held.stamp_ns:
        return state, (*dropped, Drop.STALE)
    drop = Drop.NON_FINITE if not is_finite(command.velocity) else age_drop(
        command.stamp_ns, now_ns, config)
    if drop is not None:
        return MuxState(None, now_ns), (*dropped, drop)
    return MuxState(command, now_ns), dropped


def select(state: MuxState, now_ns: int, config: MuxConfig) -> MuxResult:
    """Return the source for the tick at `now_ns`: teleop while its held command is fresh."""
    state, dropped = advance(state, now_ns)
    held = state.teleop
    if held is None:
        return MuxResult(Source.NAVIGATION, None, state, dropped)
    drop = age_drop(held.stamp_ns, now_ns, config)
    if drop is not None:
        # Forgotten once it has timed out: no later step of the clock makes it fresh again.
        drop = Drop.EXPIRED if drop is Drop.STALE else drop
        return MuxResult(Source.NAVIGATION, None, MuxState(None, now_ns), (*dropped, drop))
    return MuxResult(Source.TELEOP, held, state, dropped)
