"""Report key-values and their conversion to diagnostic_msgs."""

from robo_edge.health.report import HealthReport, Level
from robo_edge.ros.diagnostics import status_level, status_values, to_array, to_status


def report(level=Level.WARN):
    return HealthReport(
        level=level,
        message='1 drops',
        rate_hz=9.87654,
        jitter_ms=1.5,
        age_ms=float('inf'),
        received=10,
        republished=9,
        drops={'nan': 1, 'structure': 0},
        frozen=0,
        nan_readings=4,
        last_drop_reason='nan',
        last_drop_detail='3 of 4 beams NaN',
    )


def test_key_values_are_complete_and_ordered():
    pairs = report().key_values()
    keys = [k for k, _ in pairs]
    assert keys == [
        'rate_hz',
        'jitter_ms',
        'age_ms',
        'received',
        'republished',
        'drops',
        'drops_nan',
        'drops_structure',
        'frozen',
        'nan_readings',
        'last_drop_reason',
        'last_drop_detail',
    ]
    values = dict(pairs)
    assert values['rate_hz'] == '9.877'
    assert values['age_ms'] == 'inf'
    assert values['drops'] == '1'


def test_no_drop_yet_reads_none():
    empty = HealthReport(Level.OK, 'ok', 0.0, 0.0, 0.0, 0, 0, {}, 0, 0, '', '')
    assert dict(empty.key_values())['last_drop_reason'] == 'none'


def test_status_carries_level_name_hardware_and_values():
    status = to_status(report(Level.ERROR), 'robo_edge/ingest/lidar', 'laser')
    assert status_level(status) == 2
    assert status.name == 'robo_edge/ingest/lidar'
    assert status.hardware_id == 'laser'
    assert status_values(status)['drops_nan'] == '1'
    array = to_array([status], 3_500_000_000)
    assert (array.header.stamp.sec, array.header.stamp.nanosec) == (3, 500_000_000)
    assert len(array.status) == 1
