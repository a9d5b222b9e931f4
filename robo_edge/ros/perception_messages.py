"""Perception results (numpy, virtual scan) <-> sensor_msgs and visualization_msgs."""

import array

import numpy as np
from builtin_interfaces.msg import Duration
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point
from sensor_msgs.msg import CameraInfo, Image, LaserScan
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from robo_edge.perception.virtual_scan import Intrinsics, VirtualScan

OBSTACLE_NAMESPACE = 'perception/virtual_scan'
POINT_SIZE_M = 0.05
# A marker outlives a frame or two, then vanishes if perception stops (no ghost obstacles).
MARKER_LIFETIME = Duration(sec=0, nanosec=300_000_000)


def intrinsics_from_info(msg: CameraInfo) -> Intrinsics | None:
    """Return the intrinsics of the full-resolution image a CameraInfo describes, or None.

    K refers to the unbinned image; `Intrinsics.scaled` takes it to any other resolution.
    """
    fx, _, cx, _, fy, cy = (float(v) for v in msg.k[:6])
    if msg.width <= 0 or msg.height <= 0 or not (fx > 0 and fy > 0):
        return None
    if not all(np.isfinite([fx, fy, cx, cy])):
        return None
    return Intrinsics(int(msg.width), int(msg.height), fx, fy, cx, cy)


def mask_msg(mask: np.ndarray, header: Header) -> Image:
    """Return a mono8 Image of class ids (the model's resolution)."""
    height, width = mask.shape
    msg = Image(header=header, height=height, width=width, encoding='mono8', is_bigendian=0,
                step=width)
    msg.data = array.array('B', np.ascontiguousarray(mask, dtype=np.uint8).tobytes())
    return msg


def scan_msg(scan: VirtualScan, header: Header, scan_time: float = 0.0) -> LaserScan:
    """Return the LaserScan of a virtual scan (header frame: base_link)."""
    grid = scan.grid
    msg = LaserScan(header=header)
    msg.angle_min = float(grid.angle_min)
    msg.angle_max = float(grid.angle_max)
    msg.angle_increment = float(grid.angle_increment)
    msg.time_increment = 0.0
    msg.scan_time = float(scan_time)
    msg.range_min = float(scan.range_min)
    msg.range_max = float(scan.range_max)
    msg.ranges = array.array('f', np.ascontiguousarray(scan.ranges, np.float32).tobytes())
    return msg


def obstacles_msg(points: np.ndarray, header: Header) -> MarkerArray:
    """Return one POINTS marker of the virtual scan's obstacle points (on the floor)."""
    marker = Marker(header=header, ns=OBSTACLE_NAMESPACE, id=0, type=Marker.POINTS,
                    action=Marker.ADD, lifetime=MARKER_LIFETIME, frame_locked=False)
    marker.pose.orientation.w = 1.0
    marker.scale.x = marker.scale.y = POINT_SIZE_M
    marker.color = ColorRGBA(r=1.0, g=0.3, b=0.1, a=1.0)
    marker.points = [Point(x=float(x), y=float(y), z=0.0) for x, y in points]
    return MarkerArray(markers=[marker])


INFERENCE_STATUS = 'robo_edge/perception/inference'


def inference_msg(header: Header, latency_ms: float, confidence: float,
                  non_finite: int) -> DiagnosticArray:
    """Return one frame's model health (stamped like its image) for the perception breaker."""
    values = {'latency_ms': f'{latency_ms:.3f}', 'confidence': f'{confidence:.4f}',
              'non_finite': str(non_finite)}
    status = DiagnosticStatus(name=INFERENCE_STATUS, hardware_id='perception',
                              values=[KeyValue(key=k, value=v) for k, v in values.items()])
    return DiagnosticArray(header=header, status=[status])


def read_inference(msg: DiagnosticArray) -> tuple[float, int, float] | None:
    """Return (latency_ms, non_finite, confidence) of an inference message, None if not one."""
    for status in msg.status:
        if status.name == INFERENCE_STATUS:
            values = {kv.key: kv.value for kv in status.values}
            try:
                return (float(values['latency_ms']), int(values['non_finite']),
                        float(values['confidence']))
            except (KeyError, ValueError):
                return None
    return None
