"""Which discovered topics to record, and with which QoS, decided without ROS."""

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum


class RecordQos(Enum):
    """Subscription QoS a recorder uses for one topic."""

    # Best effort matches reliable and best-effort publishers alike.
    STREAM = 'stream'
    # Reliable + transient local, so messages latched before the recorder joined arrive.
    LATCHED = 'latched'


@dataclass(frozen=True)
class PublisherQos:
    """What one publisher offers, as plain flags."""

    reliable: bool
    transient_local: bool


@dataclass(frozen=True)
class TopicFilter:
    """Topics to record: `include` empty means every topic; `exclude` always wins."""

    include: frozenset[str]
    exclude: frozenset[str]

    @classmethod
    def from_lists(cls, include: Iterable[str], exclude: Iterable[str]) -> 'TopicFilter':
        """Build a filter from parameter lists, accepting names without a leading slash."""
        return cls(
            include=frozenset(normalize_topic(t) for t in include if t),
            exclude=frozenset(normalize_topic(t) for t in exclude if t),
        )

    def accepts(self, topic: str) -> bool:
        """Whether `topic` should be recorded."""
        if topic in self.exclude:
            return False
        return not self.include or topic in self.include


def normalize_topic(topic: str) -> str:
    """Return the fully qualified form of a topic name given without a leading slash."""
    return topic if topic.startswith('/') else '/' + topic


def choose_qos(publishers: Sequence[PublisherQos]) -> RecordQos | None:
    """Return the QoS to subscribe with, or None while the topic has no publisher yet.

    A transient-local subscription does not match volatile publishers and a reliable one does
    not match best-effort publishers, so LATCHED is chosen only when every publisher allows it.
    """
    if not publishers:
        return None
    if all(p.reliable and p.transient_local for p in publishers):
        return RecordQos.LATCHED
    return RecordQos.STREAM


def message_class_path(type_name: str) -> tuple[str, str]:
    """Return (module, class) of a type: `sensor_msgs/msg/Imu` -> (`sensor_msgs.msg`, `Imu`)."""
    parts = type_name.split('/')
    if len(parts) != 3 or not all(parts):
        raise ValueError(f'not a ROS type name: {type_name!r} (expected pkg/msg/Type)')
    return f'{parts[0]}.{parts[1]}', parts[2]


def import_message_class(type_name: str) -> type | None:
    """Return the generated Python class of a message type, or None if it cannot be imported."""
    try:
        module_name, class_name = message_class_path(type_name)
        message_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        return None
    return message_class if isinstance(message_class, type) else None
