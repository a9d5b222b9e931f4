"""Topic filter, QoS choice and message class lookup of the recorder, without ROS."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sensor_msgs.msg import LaserScan

from robo_edge.recording.selection import (
    PublisherQos,
    RecordQos,
    TopicFilter,
    choose_qos,
    import_message_class,
    message_class_path,
    normalize_topic,
)

RELIABLE_LATCHED = PublisherQos(reliable=True, transient_local=True)
RELIABLE_VOLATILE = PublisherQos(reliable=True, transient_local=False)
BEST_EFFORT = PublisherQos(reliable=False, transient_local=False)
TOPIC = st.from_regex(r'/?[a-z][a-z0-9_]{0,8}(/[a-z][a-z0-9_]{0,8}){0,2}', fullmatch=True)


def test_empty_include_records_everything_but_excluded() -> None:
    topic_filter = TopicFilter.from_lists([], ['rosout', '/parameter_events'])
    assert topic_filter.accepts('/scan')
    assert not topic_filter.accepts('/rosout')
    assert not topic_filter.accepts('/parameter_events')


def test_include_list_limits_topics_and_exclude_wins() -> None:
    topic_filter = TopicFilter.from_lists(['scan', '/odom', ''], ['/odom'])
    assert topic_filter.accepts('/scan')
    assert not topic_filter.accepts('/odom')
    assert not topic_filter.accepts('/imu')


@given(topics=st.lists(TOPIC, max_size=5), excluded=st.lists(TOPIC, max_size=5), topic=TOPIC)
def test_excluded_topics_are_never_accepted(
    topics: list[str], excluded: list[str], topic: str
) -> None:
    topic_filter = TopicFilter.from_lists(topics, excluded)
    name = normalize_topic(topic)
    accepted = topic_filter.accepts(name)
    in_exclude = name in {normalize_topic(t) for t in excluded}
    in_include = not topics or name in {normalize_topic(t) for t in topics}
    assert accepted == (in_include and not in_exclude)


@pytest.mark.parametrize(
    ('publishers', 'expected'),
    [
        ([], None),
        ([BEST_EFFORT], RecordQos.STREAM),
        ([RELIABLE_VOLATILE], RecordQos.STREAM),
        ([RELIABLE_LATCHED], RecordQos.LATCHED),
        ([RELIABLE_LATCHED, RELIABLE_LATCHED], RecordQos.LATCHED),
        # A transient-local subscriber would not match the volatile publisher.
        ([RELIABLE_LATCHED, RELIABLE_VOLATILE], RecordQos.STREAM),
        # A reliable subscriber would not match a best-effort publisher.
        ([PublisherQos(reliable=False, transient_local=True)], RecordQos.STREAM),
    ],
)
def test_choose_qos(publishers: list[PublisherQos], expected: RecordQos | None) -> None:
    assert choose_qos(publishers) is expected


def test_message_class_lookup() -> None:
    assert message_class_path('sensor_msgs/msg/LaserScan') == ('sensor_msgs.msg', 'LaserScan')
    assert import_message_class('sensor_msgs/msg/LaserScan') is LaserScan


@pytest.mark.parametrize(
    'type_name',
    [
        'no_such_msgs/msg/Nothing',
        'sensor_msgs/msg/NoSuchType',
        'sensor_msgs/LaserScan',
        'sensor_msgs/msg/LaserScan/extra',
        '',
        'sensor_msgs/msg/__name__',
    ],
)
def test_unimportable_types_give_none(type_name: str) -> None:
    assert import_message_class(type_name) is None
