"""What a twin run leaves behind for scoring: trajectory, collisions, clearance, hashes (pure)."""

import hashlib
import json
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path

from robo_edge.twin.readings import Collision

NS_PER_S = 1e9


@dataclass
class RunRecord:
    """Everything the scenario runner scores, filled by the twin node as it runs."""

    world: str
    seed: int
    clock_mode: str
    trajectory: list[tuple[float, float, float, float]] = field(default_factory=list)
    collisions: list[dict] = field(default_factory=list)
    min_clearance_m: float = float('inf')
    path_length_m: float = 0.0
    sim_time_s: float = 0.0
    wall_time_s: float = 0.0
    control_periods: int = 0
    lockstep_wait_ms: list[float] = field(default_factory=list)
    stream_hashes: dict[str, str] = field(default_factory=dict)
    faults: list[dict] = field(default_factory=list)  # the fault injector's report
    outcome: str = 'running'
    error: str = ''

    def add_pose(self, stamp_ns: int, x: float, y: float, yaw: float) -> None:
        """Append a ground-truth pose sample (one per control period)."""
        self.trajectory.append((stamp_ns / NS_PER_S, x, y, yaw))

    def add_collision(self, collision: Collision) -> None:
        """Record the start of a contact."""
        self.collisions.append({
            't': collision.stamp_ns / NS_PER_S,
            'robot': [collision.robot.x, collision.robot.y, collision.robot.yaw],
            'contact': [collision.contact_x, collision.contact_y],
            'obstacle': collision.obstacle,
        })

    def trajectory_hash(self) -> str:
        """SHA-256 of the trajectory's exact float bits: equal only for identical runs."""
        digest = hashlib.sha256()
        for sample in self.trajectory:
            digest.update(struct.pack('<4d', *sample))
        return digest.hexdigest()

    def real_time_factor(self) -> float:
        """Return simulated seconds per wall second."""
        return self.sim_time_s / self.wall_time_s if self.wall_time_s > 0 else 0.0

    def to_json(self) -> dict:
        """Return a JSON-ready dict (inf clearance becomes null)."""
        data = asdict(self)
        data['trajectory_hash'] = self.trajectory_hash()
        data['real_time_factor'] = self.real_time_factor()
        if self.min_clearance_m == float('inf'):
            data['min_clearance_m'] = None
        return data

    def write(self, path: Path) -> None:
        """Write the record atomically (a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + '.tmp')
        tmp.write_text(json.dumps(self.to_json()), encoding='utf-8')
        tmp.replace(path)
