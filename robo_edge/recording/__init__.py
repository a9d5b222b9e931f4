"""Recording runs to MCAP: full message definitions, the raw-CDR writer, topic selection."""

from robo_edge.recording.definitions import MessageDefinitions, full_definition
from robo_edge.recording.mcap_recorder import McapRecorder, TopicResult, WriteResult
from robo_edge.recording.selection import (
    PublisherQos,
    RecordQos,
    TopicFilter,
    choose_qos,
    import_message_class,
)

__all__ = [
    'McapRecorder',
    'MessageDefinitions',
    'PublisherQos',
    'RecordQos',
    'TopicFilter',
    'TopicResult',
    'WriteResult',
    'choose_qos',
    'full_definition',
    'import_message_class',
]
