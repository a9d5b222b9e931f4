"""Rate gates for the live view's heavy channels: drop, never queue, and count the drops.

A gate admits at most `max_rate_hz` messages a second (0: none, the channel is off) and drops
the rest where they arrive: nothing is held for later, so a slow viewer or a fast camera can
never grow a queue on the robot. Time is an argument (integer nanoseconds, a steady clock).
"""

from dataclasses import dataclass


@dataclass
class RateGate:
    """Admits a message when a period has passed since the last one admitted."""

    max_rate_hz: float
    admitted: int = 0
    dropped: int = 0
    _last_ns: int | None = None

    def ready(self, now_ns: int) -> bool:
        """Return whether a message at `now_ns` would be admitted (nothing counted)."""
        if not self.max_rate_hz > 0.0:  # 0 turns the channel off
            return False
        elapsed = None if self._last_ns is None else now_ns - self._last_ns
        # a clock that went back (never on a steady clock) does not close the gate for good
        return elapsed is None or elapsed < 0 or elapsed >= 1e9 / self.max_rate_hz

    def admit(self, now_ns: int) -> bool:
        """Return whether a message arriving at `now_ns` goes out; count it either way."""
        if not self.ready(now_ns):
            self.dropped += 1
            return False
        self._last_ns = now_ns
        self.admitted += 1
        return True

    def set_rate(self, max_rate_hz: float) -> None:
        """Change the rate at once (a live parameter); the counts carry on."""
        self.max_rate_hz = float(max_rate_hz)
