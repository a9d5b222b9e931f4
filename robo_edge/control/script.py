"""A scripted drive: a list of timed body twists, looked up by simulated time (pure)."""

from dataclasses import dataclass

from robo_edge.exceptions import ConfigError
from robo_edge.robot.kinematics import Velocity


@dataclass(frozen=True)
class DriveSegment:
    """Hold a body twist for a duration."""

    for_s: float
    linear: float
    angular: float


class DriveScript:
    """Commands as a function of time since the start; zero after the last segment."""

    def __init__(self, segments: list[DriveSegment]) -> None:
        self.segments = segments
        self._ends: list[float] = []
        elapsed = 0.0
        for segment in segments:
            elapsed += segment.for_s
            self._ends.append(elapsed)

    @property
    def duration_s(self) -> float:
        """Total scripted time."""
        return self._ends[-1] if self._ends else 0.0

    def command_at(self, t_s: float) -> Velocity:
        """Return the command in force at t_s (segments are half-open [start, end)).

        Zero before the start (t_s < 0) as after the end: the script has not begun.
        """
        if not t_s >= 0.0:  # NaN too
            return Velocity()
        for end, segment in zip(self._ends, self.segments, strict=True):
            if t_s < end:
                return Velocity(segment.linear, segment.angular)
        return Velocity()

    def to_flat(self) -> list[float]:
        """Encode as [for_s, linear, angular, ...], the form of a ROS double-array parameter."""
        return [v for s in self.segments for v in (s.for_s, s.linear, s.angular)]

    @staticmethod
    def from_flat(values: list[float]) -> 'DriveScript':
        """Decode the flat parameter form."""
        if len(values) % 3:
            raise ConfigError('drive_script parameters', 'segments',
                              'a flat list of [for_s, linear, angular] triples', list(values))
        triples = [values[i:i + 3] for i in range(0, len(values), 3)]
        for index, (for_s, _, _) in enumerate(triples):
            if for_s <= 0:
                raise ConfigError('drive_script parameters', f'segments[{index}].for_s',
                                  'a positive duration', for_s)
        return DriveScript([DriveSegment(*map(float, t)) for t in triples])
