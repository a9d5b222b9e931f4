"""Conversions between health reports and diagnostic_msgs."""

from collections.abc import Collection

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header

from robo_edge.health.report import HealthReport
from robo_edge.ros.stamps import to_msg


def to_status(report: HealthReport, name: str, hardware_id: str) -> DiagnosticStatus:
    """Return the DiagnosticStatus of one stream's report."""
    return DiagnosticStatus(
        level=bytes([int(report.level)]),
        name=name,
        message=report.message,
        hardware_id=hardware_id,
        values=[KeyValue(key=key, value=value) for key, value in report.key_values()],
    )


def to_array(statuses: list[DiagnosticStatus], stamp_ns: int) -> DiagnosticArray:
    """Return a DiagnosticArray holding `statuses`, stamped `stamp_ns`."""
    return DiagnosticArray(header=Header(stamp=to_msg(stamp_ns)), status=statuses)


def status_values(status: DiagnosticStatus) -> dict[str, str]:
    """Return the key-values of a status as a dict."""
    return {pair.key: pair.value for pair in status.values}


def status_level(status: DiagnosticStatus) -> int:
    """Return the level of a status as an int (rclpy holds it as one byte)."""
    level = status.level
    return level[0] if isinstance(level, bytes) else int(level)


def percentile_values(key: str, samples: Collection[float]) -> dict[str, str]:
    """Return `{key}_p50` and `{key}_p99` of the samples as diagnostic strings (0 when none)."""
    data = np.asarray(list(samples)) if samples else np.zeros(1)
    return {f'{key}_p{q}': f'{np.percentile(data, q):.2f}' for q in (50, 99)}
