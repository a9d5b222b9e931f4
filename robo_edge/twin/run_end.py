"""When a navigation run may end before its duration: once the planner has no goal left."""

from dataclasses import dataclass


@dataclass
class EndAfterGoals:
    """Ends a run `hold_ns` of simulated time after the planner's goal list ran out.

    The planner publishes an empty `/plan` when no goal is left. An empty plan before the first
    non-empty one (start-up, or a robot that only takes goals from RViz) does not count, and a
    new goal after the end cancels it. `hold_ns` <= 0 disables the early end.
    """

    hold_ns: int
    seen_goal: bool = False
    done_ns: int | None = None

    def on_plan(self, stamp_ns: int, has_poses: bool) -> None:
        """Take one `/plan` (its stamp and whether it holds any pose)."""
        if has_poses:
            self.seen_goal, self.done_ns = True, None
        elif self.seen_goal and self.done_ns is None:
            self.done_ns = stamp_ns

    def due(self, now_ns: int) -> bool:
        """Return True once the hold after the last goal has passed at simulated time `now_ns`."""
        if self.hold_ns <= 0 or self.done_ns is None:
            return False
        return now_ns >= self.done_ns + self.hold_ns
