"""The controller's inputs by stamp and the snapshot one tick computes on (pure).

Tick t_k needs odom at latest_due(t_k, odom rate) and, once a scan is due, the plan, the scan
and (with localisation) the correction and the pose variances, all stamped latest_due(t_k,
scan rate) (docs/architecture.md, Navigation lockstep). `exact` answers only with all of them;
once the wait is over `newest` gives the newest of each not later than t_k, and `missing` says
which of those are not the ones due. A correction whose pose never came carries unknown
variances; no correction at all with localisation on means initial_pose, also unknown.
"""

from dataclasses import dataclass, field, replace

from robo_edge.control.navigator import Obstacles, Plan, TickInputs
from robo_edge.control.uncertainty import UNKNOWN, Variances
from robo_edge.lockstep import StampedBuffer, latest_due
from robo_edge.navigation.localization_join import LocalizationJoin
from robo_edge.robot.kinematics import Pose2D, Velocity


@dataclass
class TickInputBuffers:
    """The last few inputs of each stream, by stamp; `localize` False: no corrections."""

    localize: bool = True
    odom_hz: float = 50.0
    scan_hz: float = 10.0
    odom: StampedBuffer = field(default_factory=lambda: StampedBuffer(64))
    scans: StampedBuffer = field(default_factory=lambda: StampedBuffer(16))
    plans: StampedBuffer = field(default_factory=lambda: StampedBuffer(16))
    localization: LocalizationJoin = field(default_factory=lambda: LocalizationJoin(16))

    def add_odom(self, stamp_ns: int, odom: tuple[Pose2D, Velocity]) -> None:
        """Hold an odometry sample (pose in odom, twist)."""
        self.odom.add(stamp_ns, odom)

    def add_scan(self, stamp_ns: int, obstacles: Obstacles) -> None:
        """Hold what a scan says."""
        self.scans.add(stamp_ns, obstacles)

    def add_plan(self, stamp_ns: int, plan: Plan) -> None:
        """Hold a plan."""
        self.plans.add(stamp_ns, plan)

    def add_correction(self, stamp_ns: int, correction: Pose2D) -> bool:
        """Hold a correction; True when it completed the pair of its stamp."""
        return self.localization.add_correction(stamp_ns, correction)

    def add_variances(self, stamp_ns: int, variances: Variances) -> bool:
        """Hold the pose variances of a stamp; True when they completed its pair."""
        return self.localization.add_variances(stamp_ns, variances)

    def start_over(self, tick_ns: int) -> None:
        """Drop everything stamped after `tick_ns` (the clock went back)."""
        for buffer in (self.odom, self.scans, self.plans):
            buffer.items = {s: item for s, item in buffer.items.items() if s <= tick_ns}
        self.localization.forget_after(tick_ns)

    def exact(self, tick_ns: int) -> TickInputs | None:
        """Return the inputs due at t_k when every one is held; None: wait."""
        odom_due = latest_due(tick_ns, self.odom_hz)
        odom = self.odom.at(odom_due)
        if odom_due is not None and odom is None:
            return None
        scan_due = latest_due(tick_ns, self.scan_hz)
        if scan_due is None:
            return TickInputs(odom, None, None, None)
        plan, obstacles = self.plans.at(scan_due), self.scans.at(scan_due)
        located = self.localization.at(scan_due) if self.localize else None
        if plan is None or obstacles is None or (self.localize and located is None):
            return None
        age = (tick_ns - odom_due) / 1e9 if odom_due is not None else 0.0
        if located is None:
            return TickInputs(odom, plan, scan_due, obstacles, odom_age_s=age)
        return TickInputs(odom, plan, scan_due, obstacles, located.correction,
                          located.variances, age)

    def newest(self, tick_ns: int) -> TickInputs:
        """Return the newest inputs not later than t_k (the wait is over)."""
        odom, plan, scan = (buffer.latest_not_after(tick_ns)
                            for buffer in (self.odom, self.plans, self.scans))
        inputs = TickInputs(odom[1] if odom else None, plan[1] if plan else None,
                            plan[0] if plan else None, scan[1] if scan else None,
                            odom_age_s=(tick_ns - odom[0]) / 1e9 if odom else 0.0)
        if not self.localize:
            return inputs
        located = self.localization.latest_not_after(tick_ns)
        if located is None:  # no correction yet: initial_pose, and nothing known of it
            return replace(inputs, variances=UNKNOWN)
        return replace(inputs, correction=located[1].correction, variances=located[1].variances)

    def missing(self, tick_ns: int) -> list[str]:
        """Return 'name@due s' for each input `newest` gives that is not the one due."""
        scan_due = latest_due(tick_ns, self.scan_hz)
        due = {'odom': latest_due(tick_ns, self.odom_hz), 'plan': scan_due, 'scan': scan_due}
        held = {name: buffer.latest_not_after(tick_ns)
                for name, buffer in (('odom', self.odom), ('plan', self.plans),
                                     ('scan', self.scans))}
        if self.localize:  # a correction without its pose's variances misses the pose
            located = self.localization.latest_not_after(tick_ns)
            due['correction'] = due['pose'] = scan_due
            held['correction'] = located
            held['pose'] = located if located and located[1].paired else None
        return [f'{name}@{due[name] / 1e9:.3f}' for name in held
                if due[name] is not None and (held[name] is None or held[name][0] != due[name])]
