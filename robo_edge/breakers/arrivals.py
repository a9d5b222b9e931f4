"""Sensor arrivals handed to the breakers at the lockstep tick they belong to (pure).

On a robot a breaker times an arrival by the node's clock when the message comes. In lockstep
simulated time only moves when the graph has answered a tick, so that clock says more about
how busy the host is than about the sensor: an IMU burst that sat 3 ticks in a descheduled
ingest process would read as 150 ms of silence, open the IMU breaker and cap the speed, and
the run would not repeat. So in lockstep the guard holds each arrival and, at tick t_k, waits
(bounded in wall time) for the samples its schedule says exist at t_k of every stream it
trusts, then hands the breakers every held sample stamped up to t_k as arriving at t_k: the
moment the twin published them (docs/architecture.md, Circuit breakers in lockstep).

A sample released later than its stamp (a delay fault) is handed over at the first tick that
holds it, so it still ages; a sample stamped after the tick (a clock running ahead) waits for
its time.
"""

from collections import deque
from dataclasses import dataclass

from robo_edge.breakers.faults import Source
from robo_edge.lockstep import latest_due

# Streams whose every control period carries a sample in the twin's schedule (IMU 100 Hz,
# odometry 50 Hz against 20 Hz ticks): a tick can wait for them. The LiDAR is waited for at
# its own slots by the node (a relayed scan is needed there anyway); the camera's 15 Hz skips
# periods, and commands, inferences and virtual scans come from the graph, not the twin.
EVERY_TICK = (Source.IMU, Source.ODOMETRY)
DEFAULT_KEEP = 4096  # held samples, all streams: over 8 s of IMU, odometry and LiDAR


@dataclass(frozen=True)
class Arrival:
    """One sample of a watched stream, as the breakers take it."""

    source: Source
    stamp_ns: int
    payload: bytes
    valid: bool
    yaw_rate: float | None = None  # IMU and odometry: the yaw rate for the cross-check


class LockstepArrivals:
    """Held arrivals in order, the newest stamp per stream, and what is due at a tick."""

    def __init__(self, rates_hz: dict[Source, float], keep: int = DEFAULT_KEEP) -> None:
        self.rates_hz = dict(rates_hz)
        self._held: deque[Arrival] = deque()
        self._newest: dict[Source, int] = {}
        self.keep = keep
        self.overflowed = 0  # samples handed over early because too many were held

    def add(self, arrival: Arrival) -> list[Arrival]:
        """Hold an arrival; return any the bound forces out now (the oldest, counted)."""
        self._held.append(arrival)
        newest = self._newest.get(arrival.source)
        if newest is None or arrival.stamp_ns > newest:
            self._newest[arrival.source] = arrival.stamp_ns
        forced = []
        while len(self._held) > self.keep:
            forced.append(self._held.popleft())
            self.overflowed += 1
        return forced

    def due(self, source: Source, tick_ns: int) -> int | None:
        """Return the stamp of the newest sample of `source` scheduled at or before the tick."""
        rate = self.rates_hz.get(source, 0.0)
        return latest_due(tick_ns, rate) if rate > 0 else None

    def held(self, source: Source, tick_ns: int) -> bool:
        """Whether the sample due at the tick (or a later one) has come.

        Samples of one stream come in order, so a later stamp means the due one is here or
        lost: either way there is nothing more to wait for.
        """
        due = self.due(source, tick_ns)
        newest = self._newest.get(source)
        return due is None or (newest is not None and newest >= due)

    def missing(self, sources: list[Source], tick_ns: int) -> list[str]:
        """Return 'stream@time' for each of `sources` whose due sample has not come."""
        return [f'{s.value}@{self.due(s, tick_ns) / 1e9:.3f}' for s in sources
                if not self.held(s, tick_ns)]

    def take(self, tick_ns: int) -> list[Arrival]:
        """Remove and return the held samples stamped up to the tick, in arrival order."""
        taken = [a for a in self._held if a.stamp_ns <= tick_ns]
        if taken:
            self._held = deque(a for a in self._held if a.stamp_ns > tick_ns)
        return taken

    def restart(self) -> None:
        """Forget everything (the clock went back: a new run)."""
        self._held.clear()
        self._newest.clear()
