"""Recorder node: every run's topics, as they were on the wire, into one MCAP file.

`topics` and `exclude_topics` apply live: a topic the new lists leave out stops being recorded
at once, one they let in is recorded from the next discovery (a discovery runs at once). The
file, its compression, the discovery period and `ready_topics` are read-only.
"""

from collections.abc import Callable, Sequence, Sized
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription

from robo_edge.exceptions import ConfigError
from robo_edge.recording.mcap_recorder import COMPRESSIONS, McapRecorder, TopicResult
from robo_edge.recording.profiles import NAMES as PROFILE_NAMES
from robo_edge.recording.profiles import RateLimits, rule_for
from robo_edge.recording.selection import (
    PublisherQos,
    RecordQos,
    TopicFilter,
    choose_qos,
    import_message_class,
)
from robo_edge.ros.params import LiveParameters, Param, declare
from robo_edge.ros.qos import LATCHED, RECORDER
from robo_edge.ros.readiness import ReadinessReporter
from robo_edge.ros.run import spin_node

NODE_NAME = 'recorder'
SCALAR_PARAMS = [
    Param(
        'output_path',
        '',
        'MCAP file to write (required); parent directories are created.',
        read_only=True,
    ),
    Param('discovery_period_s', 1.0, 'Period of the search for new topics [s].', 0.05, 60.0,
          read_only=True),
    Param('compression', 'zstd', 'Chunk compression: zstd, lz4 or none.', read_only=True),
    Param('profile', 'default', 'What is kept (recording/profiles.py): full, default (one copy '
          'of the camera at <= 5 Hz, grids at <= 0.5 Hz) or minimal (no images)',
          read_only=True),
]
ARRAY_PARAMS = {
    'topics': 'Topics to record; empty records every topic discovered.',
    'exclude_topics': 'Topics never recorded, even when listed in topics.',
    'ready_topics': 'Topics recorded from their first sample: the recorder reports ready on '
                    '/robo_edge/ready once each is recorded and matched to a writer '
                    '(read-only: set at start).',
}
LIVE = frozenset({'topics', 'exclude_topics'})
# The string arrays are declared with dynamic typing (an empty list reads as a byte array).
PARAMS = SCALAR_PARAMS + [Param(name, [], text, read_only=name not in LIVE)
                          for name, text in ARRAY_PARAMS.items()]
# Latched topics keep the recorder's buffer depth while taking the publisher's durability.
LATCHED_RECORDER = QoSProfile(
    history=LATCHED.history,
    depth=RECORDER.depth,
    reliability=LATCHED.reliability,
    durability=LATCHED.durability,
)
QOS_PROFILES = {RecordQos.STREAM: RECORDER, RecordQos.LATCHED: LATCHED_RECORDER}


class Recorder(Node):
    """Subscribe to topics with raw=True and append their CDR bytes to an MCAP file.

    Parameters:
        output_path (string, required), profile (string: full | default | minimal),
        topics (string[], live), exclude_topics (string[], live), ready_topics (string[];
        when set, publishes its name on /robo_edge/ready, latched, once each is recorded and
        matched), discovery_period_s (double, 0.05-60),
        compression (string: zstd | lz4 | none); all but the two live ones are read-only,
        use_sim_time (bool, set by the bringup; log and publish times come from the node clock).
    Subscriptions: every selected topic of an importable type, raw CDR; best effort depth 200,
        or reliable + transient local when all its publishers are transient local (/map).
    Publishers: /robo_edge/ready (std_msgs/String), only with ready_topics. Services: none.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        values = declare(self, SCALAR_PARAMS)
        output_path = str(values['output_path'])
        if not output_path:
            raise ConfigError(f'{NODE_NAME} parameters', 'output_path', 'a non-empty file path')
        if values['compression'] not in COMPRESSIONS:
            raise ConfigError(
                f'{NODE_NAME} parameters',
                'compression',
                ' | '.join(COMPRESSIONS),
                values['compression'],
            )
        if values['profile'] not in PROFILE_NAMES:
            raise ConfigError(f'{NODE_NAME} parameters', 'profile', ' | '.join(PROFILE_NAMES),
                              values['profile'])
        self._profile, self._rates = str(values['profile']), RateLimits()
        values.update({name: self._string_array(name) for name in ARRAY_PARAMS})
        self._filter = topic_filter(values)
        try:
            self._recorder = McapRecorder(output_path, compression=values['compression'])
        except OSError as e:
            raise ConfigError(
                f'{NODE_NAME} parameters',
                'output_path',
                f'a writable file path ({e})',
                output_path,
            ) from e
        self._recorded: dict[str, Subscription] = {}
        self._skipped: dict[str, str] = {}
        self.get_logger().info(f'recording to {self._recorder.path}')
        self._discover()
        self._ready_topics = values['ready_topics']
        self._ready_inputs: list[Subscription] = []
        if self._ready_topics:
            self.readiness = ReadinessReporter(self, self._ready_inputs,
                                               pending=self._ready_pending)
        # Discovery runs on the steady clock: in lockstep, sim time stands still until the
        # twin sees its subscribers, and the recorder is one of them.
        self._timer = self.create_timer(
            float(values['discovery_period_s']), self._discover,
            clock=Clock(clock_type=ClockType.STEADY_TIME),
        )
        self.live = LiveParameters(self, PARAMS, values, LIVE, self._retune)

    def _retune(self, values: dict[str, Any], _changed: dict[str, Any]) -> None:
        """Record what the new topic lists select: drop the topics they leave out, look again."""
        self._filter = topic_filter(values)
        for topic in [t for t in self._recorded if not self._filter.accepts(t)]:
            self.destroy_subscription(self._recorded.pop(topic))
            self.get_logger().info(f'no longer recording {topic}')
        self._discover()

    def message_counts(self) -> dict[str, int]:
        """Return the number of messages recorded per topic."""
        return self._recorder.message_counts()

    def dropped_by_rate(self) -> dict[str, int]:
        """Return the messages the profile's rate limits left out, per topic."""
        return dict(self._rates.dropped)

    def skipped_topics(self) -> dict[str, str]:
        """Return the topics left out because of their type, with the reason."""
        return dict(self._skipped)

    def destroy_node(self) -> None:
        """Stop recording, write the file's summary so it is valid, then destroy the node."""
        self._close()
        super().destroy_node()

    def _close(self) -> None:
        if getattr(self, '_recorder', None) is None or self._recorder.closed:
            return
        for subscription in self._recorded.values():
            self.destroy_subscription(subscription)
        self._recorded.clear()
        self._recorder.close()
        counts = ', '.join(f'{t}: {n}' for t, n in sorted(self.message_counts().items()))
        dropped = sum(self._rates.dropped.values())
        self.get_logger().info(
            f'closed {self._recorder.path} ({counts or "no topics"}; '
            f'{len(self._skipped)} topics skipped; {dropped} messages over the '
            f"{self._profile} profile's rates)"
        )

    def _ready_pending(self) -> bool:
        """Look for the ready topics not seen yet; True while any is still missing.

        A topic skipped for its type (logged as such) does not hold the run.
        """
        def missing() -> list[str]:
            return [t for t in self._ready_topics
                    if t not in self._recorded and t not in self._skipped]
        if missing():
            self._discover()
        self._ready_inputs[:] = [self._recorded[t] for t in self._ready_topics
                                 if t in self._recorded]
        return bool(missing())

    def _string_array(self, name: str) -> list[str]:
        # An empty list is typed as a byte array by rclpy, so any array type is accepted here
        # and checked, whether the list comes from a launch file, YAML or the default.
        descriptor = ParameterDescriptor(description=ARRAY_PARAMS[name], dynamic_typing=True,
                                         read_only=name not in LIVE)
        return string_list(name, self.declare_parameter(name, [], descriptor).value)

    def _discover(self) -> None:
        if self._recorder.closed:
            return
        for topic, types in self.get_topic_names_and_types():
            if topic in self._recorded or topic in self._skipped:
                continue
            if self._filter.accepts(topic):
                self._try_record(topic, types)

    def _try_record(self, topic: str, types: list[str]) -> None:
        if len(types) != 1:
            self._skip(topic, f'{len(types)} types on the graph: {types}')
            return
        rule = rule_for(self._profile, topic, types[0])
        if not rule.record:
            self._skip(topic, f'left out by the {self._profile} profile')
            return
        if rule.max_rate_hz is not None:
            self._rates.limits[topic] = rule.max_rate_hz
        qos = choose_qos(self._publisher_qos(topic))
        if qos is None:
            return  # no publisher yet: its durability decides the QoS, so look again later
        msg_class = import_message_class(types[0])
        if msg_class is None:
            self._skip(topic, f'type {types[0]} cannot be imported')
            return
        result = self._recorder.add_topic(topic, types[0])
        if result not in (TopicResult.ADDED, TopicResult.ALREADY_ADDED):
            self._skip(topic, f'type {types[0]}: {result.value}')
            return
        self._recorded[topic] = self.create_subscription(
            msg_class, topic, self._writer_for(topic), QOS_PROFILES[qos], raw=True
        )
        self.get_logger().info(f'recording {topic} [{types[0]}] ({qos.value})')

    def _publisher_qos(self, topic: str) -> list[PublisherQos]:
        return [
            PublisherQos(
                reliable=info.qos_profile.reliability == ReliabilityPolicy.RELIABLE,
                transient_local=info.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL,
            )
            for info in self.get_publishers_info_by_topic(topic)
        ]

    def _skip(self, topic: str, reason: str) -> None:
        self._skipped[topic] = reason
        self.get_logger().warning(f'not recording {topic}: {reason}')

    def _writer_for(self, topic: str) -> Callable[[bytes], None]:
        def write(cdr_bytes: bytes) -> None:
            now_ns = self.get_clock().now().nanoseconds
            if self._rates.allow(topic, now_ns):
                self._recorder.write(topic, cdr_bytes, now_ns, now_ns)

        return write


def string_list(name: str, value: object) -> list[str]:
    """Return a list-of-topics parameter as a list; ConfigError for anything else."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if all(isinstance(item, str) for item in value):
            return list(value)
    if isinstance(value, Sized) and len(value) == 0:
        return []
    raise ConfigError(f'{NODE_NAME} parameters', name, 'a list of topic names', value)


def topic_filter(values: dict[str, Any]) -> TopicFilter:
    """Return the filter of the `topics` and `exclude_topics` values (ConfigError: not lists)."""
    return TopicFilter.from_lists(string_list('topics', values['topics']),
                                  string_list('exclude_topics', values['exclude_topics']))


def main(args: list[str] | None = None) -> int:
    """Run the recorder until SIGINT/SIGTERM; the file is closed on the way out."""
    return spin_node(Recorder, args)


if __name__ == '__main__':
    raise SystemExit(main())
