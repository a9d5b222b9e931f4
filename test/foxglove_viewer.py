"""A Foxglove websocket viewer for tests, and decoding of foxglove-sdk messages.

`Viewer` speaks the Foxglove websocket protocol with the `websockets` client: it offers the
subprotocols `foxglove.sdk.v1` (what foxglove-sdk 0.30 serves) and `foxglove.websocket.v1`
(the older name of the same protocol), reads the server's `advertise`, subscribes to the
topics it was asked for and keeps every message that arrives on them, in a thread of its own.
"""

import base64
import json
import struct
import threading
from typing import Any

from google.protobuf import descriptor_pb2, message_factory
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

SUBPROTOCOLS = [Subprotocol('foxglove.sdk.v1'), Subprotocol('foxglove.websocket.v1')]
MESSAGE_DATA = 0x01  # binary opcode: subscription id (u32), log time (u64), payload


def protobuf_class(schema_name: str, schema: bytes) -> Any:
    """Return the protobuf message class of a Foxglove schema (a FileDescriptorSet)."""
    files = descriptor_pb2.FileDescriptorSet.FromString(schema)
    return message_factory.GetMessages(list(files.file))[schema_name]


def decode(message: Any) -> Any:
    """Return a foxglove.messages object as its protobuf message (fields readable)."""
    schema = type(message).get_schema()
    return protobuf_class(schema.name, bytes(schema.data)).FromString(message.encode())


class Viewer:
    """A websocket client subscribed to `topics`, collecting their messages by topic.

    Used as a context manager: `with Viewer(port, topics) as viewer:` connects and reads in a
    thread until the block ends.
    """

    def __init__(self, port: int, topics: list[str]) -> None:
        self._connect = connect(f'ws://127.0.0.1:{port}', subprotocols=SUBPROTOCOLS,
                                open_timeout=10)
        self.ws = None
        self.wanted = set(topics)
        self.channels: dict[str, dict] = {}
        self.received: dict[str, list[bytes]] = {}
        self._by_subscription: dict[int, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> 'Viewer':
        self.ws = self._connect.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._connect.__exit__(*exc)

    def messages(self, topic: str) -> list[bytes]:
        """Return the payloads received on `topic` so far."""
        with self._lock:
            return list(self.received.get(topic, []))

    def json(self, topic: str) -> list[dict]:
        """Return the JSON payloads received on `topic`."""
        return [json.loads(payload) for payload in self.messages(topic)]

    def decoded(self, topic: str) -> list[Any]:
        """Return the protobuf payloads received on `topic`, decoded with its advertised schema."""
        channel = self.channels[topic]
        cls = protobuf_class(channel['schemaName'],
                             _schema_bytes(channel['schema'], channel['schemaEncoding']))
        return [cls.FromString(payload) for payload in self.messages(topic)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self.ws.recv(timeout=0.2)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            if isinstance(frame, bytes):
                self._on_data(frame)
            else:
                self._on_control(json.loads(frame))

    def _on_control(self, message: dict) -> None:
        if message.get('op') != 'advertise':
            return
        subscriptions = []
        for channel in message['channels']:
            self.channels[channel['topic']] = channel
            if channel['topic'] in self.wanted:
                sub_id = len(self._by_subscription) + 1
                self._by_subscription[sub_id] = channel['topic']
                subscriptions.append({'id': sub_id, 'channelId': channel['id']})
        if subscriptions:
            self.ws.send(json.dumps({'op': 'subscribe', 'subscriptions': subscriptions}))

    def _on_data(self, frame: bytes) -> None:
        if frame[0] != MESSAGE_DATA:
            return
        sub_id, _log_time = struct.unpack_from('<IQ', frame, 1)
        topic = self._by_subscription.get(sub_id)
        if topic is not None:
            with self._lock:
                self.received.setdefault(topic, []).append(frame[13:])


def _schema_bytes(schema: str, encoding: str) -> bytes:
    return base64.b64decode(schema) if encoding == 'protobuf' else schema.encode()
