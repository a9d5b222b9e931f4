"""Recording profiles: what each keeps, by message type, and rate limits on the recorder clock."""

import pytest

from robo_edge.recording.profiles import (
    GRID_TYPE,
    IMAGE_HZ,
    MAP_HZ,
    MINIMAL_MAP_HZ,
    RateLimits,
    TopicRule,
    rule_for,
)

IMAGE = 'sensor_msgs/msg/Image'
SCAN = 'sensor_msgs/msg/LaserScan'


@pytest.mark.parametrize('profile, topic, type_name, rule', [
    ('full', '/sensors/camera/image', IMAGE, TopicRule(True)),
    ('full', '/map', GRID_TYPE, TopicRule(True)),
    ('default', '/sensors/camera/image', IMAGE, TopicRule(False)),
    ('default', '/front_cam/image', IMAGE, TopicRule(True, IMAGE_HZ)),  # another robot's driver
    ('default', '/perception/mask', IMAGE, TopicRule(True, IMAGE_HZ)),
    ('default', '/map/navigation', GRID_TYPE, TopicRule(True, MAP_HZ)),
    ('default', '/scan', SCAN, TopicRule(True)),
    ('minimal', '/camera/image_raw', 'sensor_msgs/msg/CompressedImage', TopicRule(False)),
    ('minimal', '/map', GRID_TYPE, TopicRule(True, MINIMAL_MAP_HZ)),
    ('minimal', '/cmd_vel', 'geometry_msgs/msg/TwistStamped', TopicRule(True)),
])
def test_each_profile_keeps_what_it_says(profile, topic, type_name, rule) -> None:
    assert rule_for(profile, topic, type_name) == rule


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match='full, default, minimal'):
        rule_for('everything', '/scan', SCAN)


def test_a_rate_limit_keeps_the_first_and_then_one_per_period() -> None:
    limits = RateLimits({'/map': 0.5})
    kept = [t for t in range(0, 10_000_000_000, 100_000_000) if limits.allow('/map', t)]
    assert kept == [0, 2_000_000_000, 4_000_000_000, 6_000_000_000, 8_000_000_000]
    assert limits.dropped == {'/map': 95}
    assert all(limits.allow('/scan', t) for t in range(0, 10**9, 10**7)), 'no limit: all kept'


def test_a_clock_that_goes_back_starts_the_topic_over() -> None:
    limits = RateLimits({'/map': 0.5})
    assert limits.allow('/map', 5_000_000_000)
    assert limits.allow('/map', 1_000_000_000), 'a new time line: its first message is kept'
    assert not limits.allow('/map', 2_000_000_000)
