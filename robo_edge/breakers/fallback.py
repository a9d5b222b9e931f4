"""The obstacle-source fallback chain behind /safety/scan (the core of sensor_guard, pure).

The first source of the chain whose breaker is CLOSED is live: the LiDAR, then the perception
virtual scan, then none. A HALF_OPEN source is not live: it returns only once its breaker has
closed, which already takes a healthy run (the breaker's hysteresis), so the chain itself needs
none.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from robo_edge.breakers.faults import BreakerState, Source

DEFAULT_CHAIN = (Source.LIDAR, Source.PERCEPTION)


@dataclass(frozen=True, slots=True)
class Selection:
    """The live obstacle source (None: no source), since when, and the one before it."""

    source: Source | None
    since_ns: int
    previous: Source | None
    changed: bool
    fallback: bool  # a source other than the chain's first is live

    @property
    def name(self) -> str:
        """Return the source's name, 'none' without one."""
        return 'none' if self.source is None else self.source.value


class FallbackChain:
    """Chooses the obstacle source from breaker states and remembers when it changed."""

    def __init__(self, chain: Sequence[Source] = DEFAULT_CHAIN, start_ns: int = 0) -> None:
        if not chain or len(set(chain)) != len(chain):
            raise ValueError('the chain needs at least one source, each at most once')
        self.chain = tuple(chain)
        self._selection = Selection(self.chain[0], start_ns, None, False, False)

    @property
    def selection(self) -> Selection:
        """Return the latest selection."""
        return self._selection

    def select(self, now_ns: int, states: Mapping[Source, BreakerState]) -> Selection:
        """Return the live source given the breaker states (a missing state counts as OPEN)."""
        live = next((s for s in self.chain if states.get(s) is BreakerState.CLOSED), None)
        current = self._selection
        if live == current.source:
            if current.changed:
                self._selection = Selection(live, current.since_ns, current.previous, False,
                                            current.fallback)
            return self._selection
        self._selection = Selection(live, now_ns, current.source, True,
                                    live is not None and live is not self.chain[0])
        return self._selection
