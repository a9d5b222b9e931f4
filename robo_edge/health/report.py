"""A plain health report of one stream, and its diagnostics key-values (no ROS types)."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum


class Level(IntEnum):
    """Health levels; the values are those of diagnostic_msgs/DiagnosticStatus."""

    OK = 0
    WARN = 1
    ERROR = 2
    STALE = 3


@dataclass(frozen=True, slots=True)
class HealthReport:
    """One stream's health at one instant."""

    level: Level
    message: str
    rate_hz: float
    jitter_ms: float
    age_ms: float
    received: int
    republished: int
    drops: Mapping[str, int]
    frozen: int
    nan_readings: int
    last_drop_reason: str
    last_drop_detail: str

    def key_values(self) -> list[tuple[str, str]]:
        """Return the report as diagnostics key-values, in a stable order."""
        pairs = [
            ('rate_hz', _number(self.rate_hz)),
            ('jitter_ms', _number(self.jitter_ms)),
            ('age_ms', _number(self.age_ms)),
            ('received', str(self.received)),
            ('republished', str(self.republished)),
            ('drops', str(sum(self.drops.values()))),
        ]
        pairs += [(f'drops_{reason}', str(count)) for reason, count in self.drops.items()]
        pairs += [
            ('frozen', str(self.frozen)),
            ('nan_readings', str(self.nan_readings)),
            ('last_drop_reason', self.last_drop_reason or 'none'),
            ('last_drop_detail', self.last_drop_detail),
        ]
        return pairs


def _number(value: float) -> str:
    return f'{value:.3f}' if math.isfinite(value) else str(value)
