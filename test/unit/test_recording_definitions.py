"""Full ros2msg definition texts, as rosbag2 writes them into MCAP schemas."""

from pathlib import Path

import pytest

from robo_edge.exceptions import ResourceNotFound
from robo_edge.recording.definitions import (
    SEPARATOR,
    MessageDefinitions,
    field_dependencies,
    full_definition,
    installed_share_dir,
    split_type_name,
)


def headers(text: str) -> list[str]:
    return [line[len('MSG: ') :] for line in text.splitlines() if line.startswith('MSG: ')]


@pytest.mark.parametrize(
    ('type_name', 'expected'),
    [
        ('sensor_msgs/msg/LaserScan', ['std_msgs/Header', 'builtin_interfaces/Time']),
        ('sensor_msgs/msg/Image', ['std_msgs/Header', 'builtin_interfaces/Time']),
        (
            'nav_msgs/msg/Odometry',
            [
                'geometry_msgs/PoseWithCovariance',
                'geometry_msgs/Pose',
                'geometry_msgs/Point',
                'geometry_msgs/Quaternion',
                'geometry_msgs/TwistWithCovariance',
                'geometry_msgs/Twist',
                'geometry_msgs/Vector3',
                'std_msgs/Header',
                'builtin_interfaces/Time',
            ],
        ),
        (
            'geometry_msgs/msg/TwistStamped',
            [
                'geometry_msgs/Twist',
                'geometry_msgs/Vector3',
                'std_msgs/Header',
                'builtin_interfaces/Time',
            ],
        ),
        (
            'diagnostic_msgs/msg/DiagnosticArray',
            [
                'diagnostic_msgs/DiagnosticStatus',
                'diagnostic_msgs/KeyValue',
                'std_msgs/Header',
                'builtin_interfaces/Time',
            ],
        ),
    ],
)
def test_dependencies_follow_depth_first_and_once_each(
    type_name: str, expected: list[str]
) -> None:
    text = full_definition(type_name)
    assert headers(text) == expected
    # Every header is preceded by exactly one line of 80 '='.
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith('MSG: '):
            assert lines[index - 1] == SEPARATOR
    assert text.count(SEPARATOR) == len(expected)


def test_root_text_comes_first_verbatim() -> None:
    text = full_definition('sensor_msgs/msg/LaserScan')
    share = installed_share_dir('sensor_msgs')
    assert share is not None
    installed = (share / 'msg' / 'LaserScan.msg').read_text(encoding='utf-8')
    assert text.startswith(installed + '\n' + SEPARATOR + '\nMSG: std_msgs/Header\n')
    time_section = text.split('MSG: builtin_interfaces/Time\n', 1)[1]
    assert 'int32 sec' in time_section
    assert 'uint32 nanosec' in time_section


def test_type_without_dependencies_has_no_separator() -> None:
    assert SEPARATOR not in full_definition('std_msgs/msg/String')


def test_short_type_name_is_accepted() -> None:
    assert full_definition('std_msgs/Header') == full_definition('std_msgs/msg/Header')


def test_field_dependencies_parse_arrays_comments_constants_and_local_types() -> None:
    text = (
        '# a comment naming geometry_msgs/Pose pose\n'
        'uint8 LEVEL=1  # constant\n'
        'string<=8 bounded\n'
        'KeyValue[] values\n'
        'geometry_msgs/Point[<=3] points\n'
        'builtin_interfaces/Time[2] stamps\n'
        '  float64 indented\n'
    )
    assert field_dependencies(text, 'diagnostic_msgs') == [
        'builtin_interfaces/Time',
        'diagnostic_msgs/KeyValue',
        'geometry_msgs/Point',
    ]


def test_split_type_name() -> None:
    assert split_type_name('sensor_msgs/msg/Imu') == ('sensor_msgs', 'msg', 'Imu')
    assert split_type_name('std_msgs/Header') == ('std_msgs', 'msg', 'Header')
    with pytest.raises(ValueError):
        split_type_name('Imu')


def test_missing_definition_raises_resource_not_found() -> None:
    with pytest.raises(ResourceNotFound):
        full_definition('no_such_msgs/msg/Nothing')
    with pytest.raises(ResourceNotFound):
        full_definition('sensor_msgs/msg/NoSuchType')


def test_definitions_are_read_once_per_type(tmp_path: Path) -> None:
    (tmp_path / 'pkg' / 'msg').mkdir(parents=True)
    (tmp_path / 'pkg' / 'msg' / 'Outer.msg').write_text('Inner a\nInner b\npkg/Inner c\n')
    (tmp_path / 'pkg' / 'msg' / 'Inner.msg').write_text('float64 x\n')
    lookups: list[str] = []

    def find_share(package: str) -> Path | None:
        lookups.append(package)
        return tmp_path / package

    definitions = MessageDefinitions(find_share)
    text = definitions.full_text('pkg/msg/Outer')
    assert text == f'Inner a\nInner b\npkg/Inner c\n\n{SEPARATOR}\nMSG: pkg/Inner\nfloat64 x\n'
    assert definitions.full_text('pkg/msg/Outer') is text
    assert lookups == ['pkg', 'pkg']


def test_missing_share_directory_is_resource_not_found() -> None:
    definitions = MessageDefinitions(lambda _package: None)
    with pytest.raises(ResourceNotFound):
        definitions.full_text('pkg/msg/Outer')
