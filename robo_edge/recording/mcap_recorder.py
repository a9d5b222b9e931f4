"""Write already-serialized CDR messages to an MCAP file with the `ros2` profile.

Recording the bytes that were on the wire avoids re-serializing in Python and keeps the file
exactly what the subscribers saw. Schemas are `ros2msg` full definitions, so Foxglove,
Lichtblick and `ros2 bag` decode the file without the message packages of the recording run.
"""

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from mcap.well_known import MessageEncoding, Profile, SchemaEncoding
from mcap.writer import CompressionType, Writer

from robo_edge.exceptions import ResourceNotFound
from robo_edge.recording.definitions import full_definition

LIBRARY = 'robo_edge-recorder'
COMPRESSIONS = {
    'zstd': CompressionType.ZSTD,
    'lz4': CompressionType.LZ4,
    'none': CompressionType.NONE,
}
DefinitionSource = Callable[[str], str]


class TopicResult(Enum):
    """Outcome of registering a topic."""

    ADDED = 'added'
    ALREADY_ADDED = 'already_added'
    UNKNOWN_TYPE = 'unknown_type'
    TYPE_CONFLICT = 'type_conflict'
    CLOSED = 'closed'


class WriteResult(Enum):
    """Outcome of writing one message."""

    WRITTEN = 'written'
    UNKNOWN_TOPIC = 'unknown_topic'
    CLOSED = 'closed'


class McapRecorder:
    """An MCAP file of raw CDR messages, one channel per topic and one schema per type."""

    def __init__(
        self,
        output_path: str | Path,
        compression: str = 'zstd',
        chunk_size: int = 1024 * 1024,
        definitions: DefinitionSource = full_definition,
    ) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(f'compression must be one of {sorted(COMPRESSIONS)}: {compression!r}')
        self.path = Path(output_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._definitions = definitions
        self._stream: BinaryIO = self.path.open('wb')
        self._writer = Writer(
            self._stream, chunk_size=chunk_size, compression=COMPRESSIONS[compression]
        )
        self._writer.start(profile=Profile.ROS2, library=LIBRARY)
        self._schema_ids: dict[str, int] = {}
        self._channels: dict[str, tuple[int, str]] = {}
        self._counts: dict[str, int] = {}
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether close() has run."""
        return self._closed

    def add_topic(
        self, topic: str, type_name: str, metadata: dict[str, str] | None = None
    ) -> TopicResult:
        """Register a channel for `topic` carrying `type_name` (e.g. `sensor_msgs/msg/Imu`)."""
        if self._closed:
            return TopicResult.CLOSED
        existing = self._channels.get(topic)
        if existing is not None:
            same = existing[1] == type_name
            return TopicResult.ALREADY_ADDED if same else TopicResult.TYPE_CONFLICT
        schema_id = self._schema_id(type_name)
        if schema_id is None:
            return TopicResult.UNKNOWN_TYPE
        channel_id = self._writer.register_channel(
            topic=topic,
            message_encoding=MessageEncoding.CDR,
            schema_id=schema_id,
            metadata=dict(metadata or {}),
        )
        self._channels[topic] = (channel_id, type_name)
        self._counts[topic] = 0
        return TopicResult.ADDED

    def write(
        self, topic: str, cdr_bytes: bytes, log_time_ns: int, publish_time_ns: int | None = None
    ) -> WriteResult:
        """Append one serialized message; `publish_time_ns` defaults to `log_time_ns`."""
        if self._closed:
            return WriteResult.CLOSED
        channel = self._channels.get(topic)
        if channel is None:
            return WriteResult.UNKNOWN_TOPIC
        count = self._counts[topic]
        self._writer.add_message(
            channel_id=channel[0],
            log_time=log_time_ns,
            publish_time=log_time_ns if publish_time_ns is None else publish_time_ns,
            sequence=count,
            data=bytes(cdr_bytes),
        )
        self._counts[topic] = count + 1
        return WriteResult.WRITTEN

    def flush(self) -> None:
        """Write the chunk in progress so a crash loses nothing recorded so far."""
        if not self._closed:
            self._writer.flush()

    def close(self) -> None:
        """Write the summary and indexes and close the file; later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self._writer.finish()
        finally:
            self._stream.close()

    def message_counts(self) -> dict[str, int]:
        """Return the number of messages written per registered topic."""
        return dict(self._counts)

    def topics(self) -> dict[str, str]:
        """Return the type name of every registered topic."""
        return {topic: type_name for topic, (_, type_name) in self._channels.items()}

    def _schema_id(self, type_name: str) -> int | None:
        schema_id = self._schema_ids.get(type_name)
        if schema_id is not None:
            return schema_id
        try:
            text = self._definitions(type_name)
        except (ResourceNotFound, ValueError):
            return None
        schema_id = self._writer.register_schema(
            name=type_name, encoding=SchemaEncoding.ROS2, data=text.encode('utf-8')
        )
        self._schema_ids[type_name] = schema_id
        return schema_id
