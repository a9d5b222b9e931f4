"""The mapper's DiagnosticStatus: counts, timings, the last match, the covariance."""

import math

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

STATUS_NAME = 'robo_edge/mapper'
OK, WARN, ERROR = 0, 1, 2


def mapper_status(node: object) -> DiagnosticStatus:
    """Return the status of a MapperNode now."""
    level, message = OK, 'mapping'
    if node.counts['late_inputs'] or node.counts['dropped_inputs']:
        level, message = WARN, 'some scans went without their own odometry'
    if node.static_map_error:
        level, message = ERROR, f'static_map not loaded: {node.static_map_error}'
    ms = np.asarray(node.update_ms) if node.update_ms else np.zeros(1)
    match_ms = np.asarray(node.match_ms) if node.match_ms else np.zeros(1)
    last = node.last_match
    correction = node.localizer.correction
    values = {
        **{key: str(count) for key, count in node.counts.items()},
        'pending': str(node.join.pending),
        'transient_scans': str(node.transient.scans),
        'update_ms_p50': f'{np.percentile(ms, 50):.2f}',
        'update_ms_p99': f'{np.percentile(ms, 99):.2f}',
        'localization': str(node.localize).lower(),
        'match_ms_p50': f'{np.percentile(match_ms, 50):.2f}',
        'match_ms_p99': f'{np.percentile(match_ms, 99):.2f}',
        'rejected': ', '.join(f'{k}: {v}' for k, v in sorted(node.rejected.items())),
        'last_match': '' if last is None else (last.reason or 'accepted'),
        'last_inlier_fraction': '' if last is None else f'{last.inlier_fraction:.2f}',
        'correction': f'{correction.x:.3f} {correction.y:.3f} {correction.yaw:.4f}',
        'static_map_error': node.static_map_error,
        'sigma_xy_m': f'{math.sqrt(node.localizer.grown_covariance()[0]):.3f}',
        'dead_reckoned_m': f'{node.localizer.travel_m:.2f}',
    }
    return DiagnosticStatus(
        level=bytes([level]), name=STATUS_NAME, message=message, hardware_id='map',
        values=[KeyValue(key=k, value=v) for k, v in values.items()])
