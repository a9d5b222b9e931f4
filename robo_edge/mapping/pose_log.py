"""The mapper's pose log: the localised and dead-reckoned poses once a second, as JSON (pure).

The scenario runner scores localisation against the twin's ground truth from this file. It is
rewritten whole at each entry (written to a temporary name, then renamed), so a reader never
sees half a file.
"""

import json
import os
from pathlib import Path

from robo_edge.robot.kinematics import Pose2D

PERIOD_NS = 1_000_000_000
FIELDS = ['t', 'x', 'y', 'yaw', 'odom_x', 'odom_y', 'odom_yaw']


class PoseLog:
    """One entry per whole second of scan time: [t, x, y, yaw, odom_x, odom_y, odom_yaw]."""

    def __init__(self, path: Path | None, localization: bool) -> None:
        self.path = path
        self.localization = localization
        self.poses: list[list[float]] = []

    def add(self, stamp_ns: int, pose: Pose2D, dead: Pose2D) -> None:
        """Keep the poses of a scan stamped on a whole second and rewrite the file.

        Raises OSError when the file cannot be written (the entry is kept).
        """
        if self.path is None or stamp_ns % PERIOD_NS:
            return
        self.poses.append([stamp_ns / 1e9, pose.x, pose.y, pose.yaw, dead.x, dead.y, dead.yaw])
        tmp = self.path.with_name(f'.{self.path.name}.tmp')
        data = {'fields': FIELDS, 'localization': self.localization, 'poses': self.poses}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data) + '\n', encoding='utf-8')
        os.replace(tmp, self.path)
