"""Conversions between integer nanoseconds (what cores use) and ROS time messages."""

from builtin_interfaces.msg import Time

NS_PER_S = 1_000_000_000


def to_msg(stamp_ns: int) -> Time:
    """Return a builtin_interfaces/Time for an integer nanosecond stamp."""
    return Time(sec=stamp_ns // NS_PER_S, nanosec=stamp_ns % NS_PER_S)


def from_msg(stamp: Time) -> int:
    """Return the integer nanoseconds of a builtin_interfaces/Time."""
    return stamp.sec * NS_PER_S + stamp.nanosec
