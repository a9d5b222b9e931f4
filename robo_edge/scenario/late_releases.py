"""Count the lockstep waits that ran out in a run, from its node logs (pure file reading).

Every node logs such a release with the `LATE_RELEASE` marker (robo_edge/lockstep.py). A run
with none answered every tick from exactly the inputs its schedule says exist, so it repeats
bit for bit; a run with some was either faulted on purpose (a silenced stream is waited for
until its breaker opens) or ran on a host too busy to deliver inputs within the waits. The
warnings are throttled to one a second per node, so a count is of such seconds, not ticks.
"""

from pathlib import Path

from robo_edge.lockstep import LATE_RELEASE


def late_releases(log_dir: Path) -> dict[str, int]:
    """Return {node: marked warning lines} for each node log under `log_dir` that has any."""
    counts: dict[str, int] = {}
    for log in sorted(log_dir.glob('*.log')):
        with log.open(encoding='utf-8', errors='replace') as lines:
            count = sum(1 for line in lines if LATE_RELEASE in line)
        if count:
            counts[log.stem] = count
    return counts
