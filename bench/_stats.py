"""Summary statistics every benchmark reports the same way."""

import numpy as np


def percentiles(values: 'list[float] | np.ndarray') -> dict[str, float | int | None]:
    """Return p50, p90, p99, max and count of the values (nulls when there are none)."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return {'p50': None, 'p90': None, 'p99': None, 'max': None, 'count': 0}
    p50, p90, p99 = np.percentile(data, [50, 90, 99])
    return {'p50': float(p50), 'p90': float(p90), 'p99': float(p99), 'max': float(data.max()),
            'count': int(data.size)}
