"""Pacing of a free-running twin: at most a real-time factor, and no race to catch up."""


class Pacer:
    """Says how long to wait before the next period so simulated time keeps to the wall.

    Simulated time runs at most `factor` times the wall. A twin that fell behind by more than
    `max_lag_s` (a slow render on a loaded host) gives the lag up rather than stepping as fast
    as it can to catch up: a burst of /clock starves every timer on simulated time and reads
    as a silent node to the breakers. `dropped_s` is the wall time given up so far.
    """

    def __init__(self, factor: float, max_lag_s: float) -> None:
        self.factor = factor
        self.max_lag_s = max_lag_s
        self.dropped_s = 0.0

    def delay(self, sim_s: float, elapsed_s: float) -> float:
        """Return the seconds to wait at simulated `sim_s`, `elapsed_s` wall after the start."""
        if self.factor <= 0:
            return 0.0  # as fast as it can
        ahead = sim_s / self.factor - (elapsed_s - self.dropped_s)
        if ahead < -self.max_lag_s:
            self.dropped_s += -ahead
        return max(0.0, ahead)
