"""Who lies when the LiDAR and the camera disagree: the third vote decides (pure).

The comparison's statistics (robo_edge/breakers/cross_check.py) only say that the two scans
disagree, and how. Blame follows evidence one camera cannot fake, in this order:

1. the map contradicts the LiDAR: the LiDAR is the suspect (`map`);
2. the perception model is unhealthy, or its obstacles do not stay put while the robot moves:
   the camera is the suspect (`model_health`, `odometry`);
3. the map agrees with the LiDAR and the camera misses what the LiDAR sees, or reports it
   elsewhere, within its own coverage: the camera is the suspect (`map`);
4. the map agrees with the LiDAR and the camera sees obstacles the LiDAR does not: that is what
   their coverage explains (below the LiDAR's plane, thin poles between its beams), so nobody is
   blamed; the union of both near the robot keeps the obstacle (`coverage`);
5. no third vote (no map yet, a robot standing still): nobody is blamed (`unresolved`).

A disagreement never condemns the LiDAR on the camera's word alone.
"""

from dataclasses import dataclass

from robo_edge.breakers.cross_check import ScanComparison, ScanVerdict
from robo_edge.breakers.votes import Vote

NO_VOTE = Vote(None, float('nan'), 0)


@dataclass(frozen=True, slots=True)
class Votes:
    """The evidence beside the two scans."""

    map: Vote = NO_VOTE  # the LiDAR against the map
    motion: Vote = NO_VOTE  # the virtual scan against odometry
    model_healthy: bool | None = None  # the perception model's own detectors

    def detail(self) -> str:
        """Return every vote as text."""
        model = {True: 'healthy', False: 'unhealthy', None: 'unknown'}[self.model_healthy]
        return (f'{self.map.detail("map")}, {self.motion.detail("odometry")}, '
                f'model {model}')


@dataclass(frozen=True, slots=True)
class Decision:
    """A comparison's outcome after the votes: the suspect (or none) and the deciding vote."""

    verdict: ScanVerdict  # AGREE, INCONCLUSIVE, LIDAR_SUSPECT or VIRTUAL_SUSPECT
    decided_by: str  # 'scans', 'map', 'model_health', 'odometry', 'coverage', 'unresolved'
    comparison: ScanComparison
    votes: Votes

    def detail(self) -> str:
        """Return the decision with the statistics and the votes."""
        return (f'{self.verdict.value} (decided by {self.decided_by}); '
                f'{self.comparison.detail()}; {self.votes.detail()}')


def arbitrate(comparison: ScanComparison, votes: Votes) -> Decision:
    """Return who, if anyone, is the suspect of a comparison given the third votes."""
    stats = comparison.verdict
    if stats in (ScanVerdict.AGREE, ScanVerdict.INCONCLUSIVE):
        return Decision(stats, 'scans', comparison, votes)
    if votes.map.agrees is False:
        return Decision(ScanVerdict.LIDAR_SUSPECT, 'map', comparison, votes)
    if votes.model_healthy is False:
        return Decision(ScanVerdict.VIRTUAL_SUSPECT, 'model_health', comparison, votes)
    if votes.motion.agrees is False:
        return Decision(ScanVerdict.VIRTUAL_SUSPECT, 'odometry', comparison, votes)
    if votes.map.agrees is None:
        return Decision(ScanVerdict.INCONCLUSIVE, 'unresolved', comparison, votes)
    if _camera_sees_more(comparison):
        return Decision(ScanVerdict.AGREE, 'coverage', comparison, votes)
    return Decision(ScanVerdict.VIRTUAL_SUSPECT, 'map', comparison, votes)


def _camera_sees_more(comparison: ScanComparison) -> bool:
    """Whether the disagreement is obstacles the camera reports nearer than the LiDAR.

    The camera missing obstacles the LiDAR sees is not coverage (both look there); the camera
    seeing more, or nearer, is what a planar LiDAR's blind spots give.
    """
    if comparison.verdict is ScanVerdict.VIRTUAL_SUSPECT:
        return False
    return not comparison.virtual_miss_fraction > comparison.lidar_miss_fraction
