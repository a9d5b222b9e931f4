"""The vocabulary of the breakers: sources, states, trip reasons, faults and trips (pure)."""

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000


class Source(Enum):
    """One breaker per source; the value is its parameter prefix and diagnostics name."""

    LIDAR = 'lidar'
    CAMERA = 'camera'
    IMU = 'imu'
    ODOMETRY = 'odometry'
    PERCEPTION = 'perception'
    CONTROLLER = 'controller'


class BreakerState(Enum):
    """CLOSED: the source is trusted. OPEN: it is not. HALF_OPEN: on probation after OPEN."""

    CLOSED = 'closed'
    OPEN = 'open'
    HALF_OPEN = 'half_open'


class TripReason(Enum):
    """Why a breaker opened."""

    SILENCE = 'silence'  # no message for k nominal periods
    STALE = 'stale'  # the newest message's stamp was older than the limit on arrival
    FROZEN = 'frozen'  # identical payloads over a window
    INVALID = 'invalid'  # share of invalid (NaN, dropped) messages over a window
    CROSS_CHECK = 'cross_check'  # another source contradicts this one
    LATENCY = 'latency'  # model inference over budget
    NAN_OUTPUT = 'nan_output'  # model outputs NaN
    LOW_CONFIDENCE = 'low_confidence'  # model confidence collapsed


@dataclass(frozen=True, slots=True)
class Fault:
    """A condition that holds now: its reason and a one-line explanation."""

    reason: TripReason
    detail: str


@dataclass(frozen=True, slots=True)
class Trip:
    """A recorded opening: why, and when (ns of the caller's clock)."""

    reason: TripReason
    detail: str
    time_ns: int

    def text(self) -> str:
        """Return the trip as one line, e.g. 'silence: no message for 351 ms'."""
        return f'{self.reason.value}: {self.detail}'


class Detector(Protocol):
    """Anything polled by a breaker: returns the fault that holds at `now_ns`, if any."""

    def check(self, now_ns: int) -> Fault | None:
        """Return the fault at `now_ns`, or None when healthy (or without evidence)."""
        ...
