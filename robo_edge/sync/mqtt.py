"""The robot's telemetry link to the fleet's Mosquitto: MQTT 5, QoS 1, mutual TLS (paho-mqtt).

The uplink queue (`robo_edge.sync.uplink`) drains its telemetry, events and mode changes here:

    robots/<id>/telemetry   queue kind 'telemetry'
    robots/<id>/events      queue kind 'event'
    robots/<id>/mode        queue kind 'mode'

Maps are not sent over MQTT (they stay queued for the upload path). Each item is published at
QoS 1 with the MQTT 5 user properties `item-id`, `name` and `created-ns`, and leaves the queue
only after the broker's PUBACK reports success. A link that drops before the PUBACK keeps the
item queued and stops the drain; it is sent again after the reconnect. Delivery is therefore at
least once: a receiver may see an item twice (the broker got it, its PUBACK was lost), and
dedupes by (robot id, `item-id`). A PUBACK that says "not authorized" (the broker's ACL) is a
refusal: the item is dropped and counted as `refused_by_server`, like a 403 on HTTP.
"""

import threading
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from robo_edge.exceptions import FleetError
from robo_edge.sync.tls import TlsConfig, check_robot_id
from robo_edge.sync.uplink import Item, Send, UplinkQueue

KIND_TOPICS = {'telemetry': 'telemetry', 'event': 'events', 'mode': 'mode'}
KEEPALIVE_S = 30
RECONNECT_S = (1, 10)  # paho's backoff between reconnects: first and longest delay


@dataclass(frozen=True)
class PublishResult:
    """What one QoS 1 publish came to: STORED (PUBACK success), RETRY or REFUSED, and why."""

    outcome: Send
    reason: str = ''


class MqttLink:
    """One robot's MQTT connection; reconnects on its own (paho's network thread)."""

    def __init__(self, robot_id: str, host: str, port: int, tls: TlsConfig | None,
                 timeout_s: float = 5.0) -> None:
        self.robot_id = check_robot_id(robot_id)
        self.host, self.port, self.timeout_s = host, int(port), timeout_s
        self.last_error = ''
        self._cond = threading.Condition()
        self._acks: dict[int, ReasonCode] = {}
        self._connected = False
        self._epoch = 0  # counts disconnects: a PUBACK awaited across one will not come
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=robot_id,
                                   protocol=mqtt.MQTTv5)
        if tls is not None:
            self._client.tls_set_context(tls.context())
        self._client.reconnect_delay_set(*RECONNECT_S)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish

    def start(self) -> 'MqttLink':
        """Connect in the background; the link keeps reconnecting until `close`."""
        self._client.connect_async(self.host, self.port, keepalive=KEEPALIVE_S)
        self._client.loop_start()
        return self

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        """Return whether the broker accepted the connection and it still stands."""
        with self._cond:
            return self._connected

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait until connected (True) or `timeout_s` passes (False; see `last_error`)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._connected, timeout_s)

    def publish(self, topic: str, payload: bytes,
                properties: tuple[tuple[str, str], ...] = ()) -> PublishResult:
        """Publish at QoS 1 and wait for the broker's PUBACK (at most `timeout_s`)."""
        with self._cond:
            if not self._connected:
                return PublishResult(Send.RETRY, f'not connected: {self.last_error}')
            epoch = self._epoch
        props = Properties(PacketTypes.PUBLISH)
        if properties:
            props.UserProperty = list(properties)
        info = self._client.publish(topic, payload, qos=1, properties=props)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return PublishResult(Send.RETRY, mqtt.error_string(info.rc))
        with self._cond:
            done = self._cond.wait_for(lambda: info.mid in self._acks or self._epoch != epoch,
                                       self.timeout_s)
            code = self._acks.pop(info.mid, None)
            self._acks.clear()  # one publish at a time: anything else is a stale resend's ack
        if code is None:
            why = 'link lost before PUBACK' if done else f'no PUBACK in {self.timeout_s} s'
            return PublishResult(Send.RETRY, why)
        if code.is_failure:
            return PublishResult(Send.REFUSED, str(code))
        return PublishResult(Send.STORED)

    def __call__(self, item: Item) -> Send:
        """Send one queue item under robots/<id>/ (a sender for `UplinkQueue.drain`)."""
        if item.kind not in KIND_TOPICS:
            raise FleetError(f'uplink item {item.id}: kind {item.kind!r} has no MQTT topic')
        properties = (('item-id', str(item.id)), ('name', item.name),
                      ('created-ns', str(item.created_ns)))
        return self.publish(self.topic(item.kind), item.payload, properties).outcome

    def topic(self, kind: str) -> str:
        """Return this robot's topic for a queue kind."""
        return f'robots/{self.robot_id}/{KIND_TOPICS[kind]}'

    def drain(self, queue: UplinkQueue, max_items: int = 1000) -> list[Item]:
        """Drain the queue's MQTT kinds in priority order until empty or the link fails."""
        return queue.drain(self, max_items, kinds=tuple(KIND_TOPICS))

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason: ReasonCode, properties: object) -> None:
        with self._cond:
            self._connected = not reason.is_failure
            self.last_error = '' if self._connected else f'CONNACK {reason}'
            self._cond.notify_all()

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        with self._cond:
            self.last_error = f'cannot connect to {self.host}:{self.port}'

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object,
                       reason: ReasonCode, properties: object) -> None:
        with self._cond:
            self._connected = False
            self._epoch += 1
            self.last_error = f'disconnected: {reason}'
            self._cond.notify_all()

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int,
                    reason: ReasonCode, properties: object) -> None:
        with self._cond:
            self._acks[mid] = reason
            self._cond.notify_all()
