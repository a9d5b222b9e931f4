"""`/safety/scan_source`: where each `/safety/scan` came from, stamped exactly like it.

sensor_guard publishes one DiagnosticArray per `/safety/scan`, just before it, with the same
stamp: consumers join the two by stamp (exact in lockstep) and know, per sample, whether the
LiDAR made it (`lidar`), the LiDAR with the camera's near returns folded in
(`lidar+perception`, the fused beams listed), the camera alone (`perception`) or nobody
(`none`), and which dead-reckoning inputs the breakers trust at that stamp. A consumer that
builds the world model uses only LiDAR beams; one that finds no source for a scan treats it as
untrusted (fail closed).
"""

from dataclasses import dataclass

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from robo_edge.navigation.obstacle_source import LIDAR_ORIGINS
from robo_edge.ros.stamps import from_msg, to_msg

TOPIC = '/safety/scan_source'
STATUS_NAME = 'robo_edge/safety_scan'


@dataclass(frozen=True, slots=True)
class ScanSource:
    """One `/safety/scan`'s origin and the trust of the inputs beside it."""

    stamp_ns: int
    origin: str
    fused: tuple[int, ...] = ()  # beam indices the camera set
    odometry_trusted: bool = True
    imu_trusted: bool = True

    @property
    def lidar_made(self) -> bool:
        """Whether the LiDAR's own returns are in the scan (all but the fused beams)."""
        return self.origin in LIDAR_ORIGINS

    def lidar_only(self, ranges: np.ndarray) -> np.ndarray:
        """Return the ranges with the fused beams set NaN (no information)."""
        out = np.array(ranges, dtype=np.float64)
        if self.fused:
            out[np.asarray(self.fused, dtype=np.int64)] = np.nan
        return out


def encode_indices(indices: np.ndarray) -> str:
    """Return beam indices as runs, '3-7,12'."""
    runs, start, last = [], None, None
    for i in (int(v) for v in np.sort(np.asarray(indices, dtype=np.int64))):
        if start is None:
            start = last = i
        elif i == last + 1:
            last = i
        else:
            runs.append(_run(start, last))
            start = last = i
    if start is not None:
        runs.append(_run(start, last))
    return ','.join(runs)


def decode_indices(text: str) -> tuple[int, ...]:
    """Return the indices of '3-7,12' (ValueError on malformed text)."""
    out: list[int] = []
    for run in filter(None, text.split(',')):
        first, _, last = run.partition('-')
        out.extend(range(int(first), int(last or first) + 1))
    return tuple(out)


def _run(start: int, last: int) -> str:
    return str(start) if start == last else f'{start}-{last}'


def source_msg(stamp_ns: int, origin: str, fused: np.ndarray | None,
               odometry_trusted: bool, imu_trusted: bool) -> DiagnosticArray:
    """Return the `/safety/scan_source` message of one scan."""
    indices = np.flatnonzero(fused) if fused is not None else np.zeros(0, dtype=np.int64)
    values = {'origin': origin, 'fused_beams': encode_indices(indices),
              'odometry_trusted': str(odometry_trusted).lower(),
              'imu_trusted': str(imu_trusted).lower()}
    msg = DiagnosticArray()
    msg.header.stamp = to_msg(stamp_ns)
    msg.status = [DiagnosticStatus(
        level=DiagnosticStatus.OK if origin in LIDAR_ORIGINS else DiagnosticStatus.WARN,
        name=STATUS_NAME, message=origin, hardware_id='sensor_guard',
        values=[KeyValue(key=k, value=v) for k, v in values.items()])]
    return msg


def read_source(msg: DiagnosticArray) -> ScanSource | None:
    """Return the ScanSource a message holds, None when it holds none (or a malformed one)."""
    status = next((s for s in msg.status if s.name == STATUS_NAME), None)
    if status is None:
        return None
    values = {kv.key: kv.value for kv in status.values}
    try:
        fused = decode_indices(values.get('fused_beams', ''))
    except ValueError:
        return None
    return ScanSource(from_msg(msg.header.stamp), values.get('origin', 'none'), fused,
                      values.get('odometry_trusted') == 'true',
                      values.get('imu_trusted') == 'true')
