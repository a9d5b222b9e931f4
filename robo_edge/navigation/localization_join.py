"""Join the mapper's correction with the variances of the pose of the same stamp (pure).

For each scan stamped s the mapper publishes the correction (map -> odom) and the base pose in
map with its covariance, both stamped s, on two topics: DDS orders neither against the other.
A planner map or a controller tick at s must use the correction of s together with the
uncertainty of s, never one half: so the halves wait here, keyed by stamp, and a pair enters
the buffer of pairs (what `at` answers) only once both are in, whichever came first.

Once a consumer's bounded wait is over it takes `latest_not_after`: the newest correction not
later than its stamp, with the variances of that same stamp when they came, else unknown (inf:
fail closed, `paired` False). No rclpy here: the nodes convert the messages.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from robo_edge.control.uncertainty import UNKNOWN, Variances
from robo_edge.lockstep import StampedBuffer
from robo_edge.robot.kinematics import Pose2D

# Row-major 6x6 covariance (x, y, z, roll, pitch, yaw): the variances of x, y and yaw.
VARIANCE_INDICES = (0, 7, 35)


def variances_of(covariance: Sequence[float]) -> Variances:
    """Return (var x, var y, var yaw) of a row-major 6x6 pose covariance; short: unknown."""
    if len(covariance) < 36:
        return UNKNOWN
    x, y, yaw = (float(covariance[i]) for i in VARIANCE_INDICES)
    return x, y, yaw


@dataclass(frozen=True, slots=True)
class Localized:
    """The correction (odom in map) and the variances of the base pose at one stamp.

    `paired` False: the pose of that stamp never came and the variances are unknown.
    """

    correction: Pose2D
    variances: Variances
    paired: bool = True


class LocalizationJoin(StampedBuffer):
    """The pairs by stamp (`items`, what `at` answers), and the halves still waiting."""

    def __init__(self, keep: int = 64) -> None:
        super().__init__(keep=keep)
        self.lone_corrections = StampedBuffer(keep)
        self.lone_variances = StampedBuffer(keep)

    def add_correction(self, stamp_ns: int, correction: Pose2D) -> bool:
        """Hold a correction; True when it completed the pair of its stamp."""
        variances = self.lone_variances.items.pop(stamp_ns, None)
        held = self.items.get(stamp_ns)
        if variances is None and held is not None:
            variances = held.variances  # the same stamp again: keep its variances
        if variances is None:
            self.lone_corrections.add(stamp_ns, correction)
            return False
        self.add(stamp_ns, Localized(correction, variances))
        return True

    def add_variances(self, stamp_ns: int, variances: Variances) -> bool:
        """Hold the variances of the pose at a stamp; True when they completed its pair."""
        correction = self.lone_corrections.items.pop(stamp_ns, None)
        held = self.items.get(stamp_ns)
        if correction is None and held is not None:
            correction = held.correction
        if correction is None:
            self.lone_variances.add(stamp_ns, variances)
            return False
        self.add(stamp_ns, Localized(correction, variances))
        return True

    def latest_not_after(self, stamp_ns: int) -> tuple[int, Localized] | None:
        """Return the newest correction not later than the stamp, paired or not (overdue)."""
        paired = super().latest_not_after(stamp_ns)
        lone = self.lone_corrections.latest_not_after(stamp_ns)
        if lone is not None and (paired is None or lone[0] > paired[0]):
            return lone[0], Localized(lone[1], UNKNOWN, paired=False)
        return paired

    def forget_after(self, stamp_ns: int) -> None:
        """Drop everything stamped after `stamp_ns` (the clock started over)."""
        for buffer in (self, self.lone_corrections, self.lone_variances):
            buffer.items = {s: item for s, item in buffer.items.items() if s <= stamp_ns}
