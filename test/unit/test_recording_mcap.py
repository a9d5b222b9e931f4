"""McapRecorder writes raw CDR that the maintained MCAP readers decode back to equal values."""

from collections.abc import Sized
from pathlib import Path
from typing import Any

import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import TwistStamped
from hypothesis import given, settings
from hypothesis import strategies as st
from mcap.exceptions import EndOfFile
from mcap.reader import NonSeekingReader, make_reader
from mcap_ros2.decoder import DecoderFactory
from nav_msgs.msg import Odometry
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image, LaserScan
from std_msgs.msg import Header

from robo_edge.recording.mcap_recorder import McapRecorder, TopicResult, WriteResult


def header(sec: int, frame: str) -> Header:
    return Header(stamp=Time(sec=sec, nanosec=500), frame_id=frame)


def scan(sec: int, ranges: list[float] | None = None) -> LaserScan:
    return LaserScan(
        header=header(sec, 'lidar'),
        angle_min=-1.5,
        angle_max=1.5,
        angle_increment=0.5,
        range_min=0.125,
        range_max=30.0,
        ranges=ranges if ranges is not None else [1.0, 2.5, float(sec)],
        intensities=[10.0, 20.0, 30.0],
    )


def sample_messages() -> dict[str, tuple[str, Any]]:
    odom = Odometry(header=header(3, 'odom'), child_frame_id='base_link')
    odom.pose.pose.position.x = 1.25
    odom.pose.pose.orientation.w = 1.0
    odom.pose.covariance[0] = 0.01
    odom.twist.twist.linear.x = 0.5
    twist = TwistStamped(header=header(4, 'base_link'))
    twist.twist.linear.x = 0.3
    twist.twist.angular.z = -0.2
    status = DiagnosticStatus(
        level=DiagnosticStatus.WARN,
        name='lidar',
        message='late',
        hardware_id='hw0',
        values=[KeyValue(key='age_ms', value='120')],
    )
    return {
        '/scan': ('sensor_msgs/msg/LaserScan', scan(1)),
        '/camera/image': (
            'sensor_msgs/msg/Image',
            Image(
                header=header(2, 'camera'),
                height=2,
                width=3,
                encoding='rgb8',
                step=9,
                data=bytes(range(18)),
            ),
        ),
        '/odom': ('nav_msgs/msg/Odometry', odom),
        '/cmd_vel': ('geometry_msgs/msg/TwistStamped', twist),
        '/diagnostics': ('diagnostic_msgs/msg/DiagnosticArray', DiagnosticArray(status=[status])),
    }


def read_all(path: Path) -> list[tuple[Any, Any, Any, Any]]:
    with path.open('rb') as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        return list(reader.iter_decoded_messages())


def read_summary(path: Path) -> Any:
    with path.open('rb') as stream:
        reader = make_reader(stream)
        return reader.get_header(), reader.get_summary()


@pytest.mark.parametrize('compression', ['zstd', 'lz4', 'none'])
def test_round_trip_decodes_to_equal_values(tmp_path: Path, compression: str) -> None:
    path = tmp_path / 'nested' / 'dir' / 'run.mcap'
    messages = sample_messages()
    recorder = McapRecorder(path, compression=compression)
    for topic, (type_name, _) in messages.items():
        assert recorder.add_topic(topic, type_name) is TopicResult.ADDED
    for index, (topic, (_, msg)) in enumerate(messages.items()):
        result = recorder.write(topic, serialize_message(msg), 1_000 + index, 900 + index)
        assert result is WriteResult.WRITTEN
    recorder.close()

    records = read_all(path)
    assert [channel.topic for _, channel, _, _ in records] == list(messages)
    for schema, channel, message, decoded in records:
        type_name, original = messages[channel.topic]
        assert schema.name == type_name
        assert schema.encoding == 'ros2msg'
        assert channel.message_encoding == 'cdr'
        # The raw bytes are what was handed in, so rclpy deserializes them to an equal message.
        assert deserialize_message(message.data, type(original)) == original
        assert message.publish_time == message.log_time - 100
        assert_decoded_equal(decoded, original)


def assert_decoded_equal(decoded: Any, original: Any) -> None:
    """Compare a dynamically decoded message field by field with the generated message."""
    for field in original.get_fields_and_field_types():
        assert_value_equal(getattr(decoded, field), getattr(original, field))


def assert_value_equal(actual: Any, expected: Any) -> None:
    if hasattr(expected, 'get_fields_and_field_types'):
        assert_decoded_equal(actual, expected)
    elif isinstance(expected, str):
        assert actual == expected
    elif isinstance(expected, bytes):
        # rclpy gives a `byte` field as one-byte bytes; the dynamic decoder as an int.
        assert (bytes([actual]) if isinstance(actual, int) else bytes(actual)) == expected
    elif isinstance(expected, Sized):
        assert len(actual) == len(expected)
        for actual_item, expected_item in zip(actual, expected, strict=True):
            assert_value_equal(actual_item, expected_item)
    else:
        assert actual == expected


def test_summary_has_profile_statistics_and_counts(tmp_path: Path) -> None:
    path = tmp_path / 'run.mcap'
    recorder = McapRecorder(path)
    recorder.add_topic('/scan', 'sensor_msgs/msg/LaserScan')
    recorder.add_topic('/scan_rear', 'sensor_msgs/msg/LaserScan')
    for sec in range(5):
        recorder.write('/scan', serialize_message(scan(sec)), sec * 10)
    recorder.write('/scan_rear', serialize_message(scan(9)), 7)
    assert recorder.message_counts() == {'/scan': 5, '/scan_rear': 1}
    recorder.close()

    mcap_header, summary = read_summary(path)
    assert mcap_header.profile == 'ros2'
    assert len(summary.schemas) == 1  # one schema shared by both LaserScan channels
    counts = {
        summary.channels[channel_id].topic: count
        for channel_id, count in summary.statistics.channel_message_counts.items()
    }
    assert counts == {'/scan': 5, '/scan_rear': 1}
    assert summary.statistics.message_start_time == 0
    assert summary.statistics.message_end_time == 40
    assert summary.chunk_indexes


def test_close_twice_is_safe_and_later_calls_are_refused(tmp_path: Path) -> None:
    path = tmp_path / 'run.mcap'
    recorder = McapRecorder(path)
    recorder.add_topic('/scan', 'sensor_msgs/msg/LaserScan')
    recorder.write('/scan', serialize_message(scan(1)), 5)
    recorder.close()
    recorder.close()
    assert recorder.closed
    assert recorder.write('/scan', serialize_message(scan(2)), 6) is WriteResult.CLOSED
    assert recorder.add_topic('/odom', 'nav_msgs/msg/Odometry') is TopicResult.CLOSED
    recorder.flush()
    assert len(read_all(path)) == 1


def test_empty_recording_is_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / 'empty.mcap'
    McapRecorder(path).close()
    assert read_all(path) == []


def test_unknown_type_and_topic_are_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / 'run.mcap'
    recorder = McapRecorder(path)
    assert recorder.add_topic('/x', 'no_such_msgs/msg/Nothing') is TopicResult.UNKNOWN_TYPE
    assert recorder.add_topic('/y', 'not a type') is TopicResult.UNKNOWN_TYPE
    assert recorder.write('/x', b'\x00\x01\x00\x00', 1) is WriteResult.UNKNOWN_TOPIC
    assert recorder.add_topic('/scan', 'sensor_msgs/msg/LaserScan') is TopicResult.ADDED
    assert recorder.add_topic('/scan', 'sensor_msgs/msg/LaserScan') is TopicResult.ALREADY_ADDED
    assert recorder.add_topic('/scan', 'nav_msgs/msg/Odometry') is TopicResult.TYPE_CONFLICT
    recorder.write('/scan', serialize_message(scan(1)), 1)
    recorder.close()
    assert recorder.message_counts() == {'/scan': 1}
    assert recorder.topics() == {'/scan': 'sensor_msgs/msg/LaserScan'}
    assert [channel.topic for _, channel, _, _ in read_all(path)] == ['/scan']


def test_flush_keeps_a_readable_prefix_before_close(tmp_path: Path) -> None:
    path = tmp_path / 'run.mcap'
    recorder = McapRecorder(path)
    recorder.add_topic('/scan', 'sensor_msgs/msg/LaserScan')
    recorder.write('/scan', serialize_message(scan(1)), 1)
    recorder.flush()
    # No summary yet (as after a crash): a streaming reader still finds the flushed message.
    with path.open('rb') as stream:
        reader = NonSeekingReader(stream, decoder_factories=[DecoderFactory()])
        decoded = [msg for _, _, _, msg in iter_until_truncated(reader)]
    assert [msg.header.stamp.sec for msg in decoded] == [1]
    recorder.close()


def iter_until_truncated(reader: NonSeekingReader) -> list[tuple[Any, Any, Any, Any]]:
    records = []
    try:
        for record in reader.iter_decoded_messages(log_time_order=False):
            records.append(record)
    except EndOfFile:
        pass
    return records


def test_rejects_unknown_compression(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        McapRecorder(tmp_path / 'run.mcap', compression='gzip')
    assert not (tmp_path / 'run.mcap').exists()


@settings(max_examples=25, deadline=None)
@given(
    ranges=st.lists(st.floats(width=32, allow_nan=False), max_size=50),
    frame=st.text(alphabet=st.characters(codec='utf-8', exclude_characters='\x00'), max_size=20),
)
def test_any_scan_round_trips(
    tmp_path_factory: pytest.TempPathFactory, ranges: list[float], frame: str
) -> None:
    path = tmp_path_factory.mktemp('prop') / 'run.mcap'
    msg = scan(1, ranges)
    msg.header.frame_id = frame
    recorder = McapRecorder(path)
    recorder.add_topic('/scan', 'sensor_msgs/msg/LaserScan')
    recorder.write('/scan', serialize_message(msg), 1)
    recorder.close()
    ((_, _, _, decoded),) = read_all(path)
    assert list(decoded.ranges) == ranges
    assert decoded.header.frame_id == frame
