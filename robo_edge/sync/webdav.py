"""The robot's uploads to the fleet's nginx: WebDAV PUT into uploads/<id>/ over mutual TLS.

nginx (config/fleet/nginx.conf) stores `PUT /uploads/<id>/<name>` only when <id> is the CN of
the certificate the robot presented; any other area is answered 403 and nothing is stored. The
uplink queue drains its maps here (`WebDavSender.drain`); telemetry goes over MQTT
(`robo_edge.sync.mqtt`). Outcomes of one PUT:

    201, 204         STORED: created, or replaced the robot's earlier upload of that name
    403, 404, 405, 413   REFUSED: not the robot's area, a bad name or method, too large
    400              RETRY: nginx refused the certificate (expired, revoked): keep the item
                     until the robot is provisioned again
    anything else    RETRY: a link or server problem
"""

import re
from dataclasses import dataclass

import urllib3

from robo_edge.sync.tls import TlsConfig, check_robot_id
from robo_edge.sync.uplink import Item, Send, UplinkQueue

# What nginx's uploads location accepts as a name (no dot first: no hidden or relative names).
UPLOAD_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$')
UPLOAD_KINDS = ('map',)
REFUSED = (403, 404, 405, 413)


@dataclass(frozen=True)
class UploadResult:
    """What one PUT came to: the queue's outcome, the HTTP status (0: none) and why."""

    outcome: Send
    status: int = 0
    reason: str = ''


class WebDavSender:
    """PUTs a robot's items into its own upload area on the fleet's nginx."""

    def __init__(self, robot_id: str, base_url: str, tls: TlsConfig,
                 timeout_s: float = 30.0) -> None:
        self.robot_id = check_robot_id(robot_id)
        self.base_url = base_url.rstrip('/')
        self._http = urllib3.PoolManager(ssl_context=tls.context(), retries=False,
                                         timeout=urllib3.Timeout(connect=timeout_s,
                                                                 read=timeout_s))

    def url(self, name: str, area: str | None = None) -> str:
        """Return the URL of `name` in this robot's area (or, for tests, in `area`)."""
        return f'{self.base_url}/uploads/{area or self.robot_id}/{name}'

    def put(self, name: str, payload: bytes, area: str | None = None) -> UploadResult:
        """PUT `payload` as `name` into the robot's area; see the module docstring."""
        if not UPLOAD_NAME.match(name):
            return UploadResult(Send.REFUSED, 0, f'upload name {name!r} must match '
                                                 f'{UPLOAD_NAME.pattern}')
        try:
            response = self._http.request('PUT', self.url(name, area), body=payload)
        except urllib3.exceptions.HTTPError as e:
            return UploadResult(Send.RETRY, 0, f'{type(e).__name__}: {e}')
        status = response.status
        if status in (201, 204):
            return UploadResult(Send.STORED, status)
        if status in REFUSED:
            return UploadResult(Send.REFUSED, status, f'HTTP {status}')
        why = 'certificate refused' if status == 400 else 'server'
        return UploadResult(Send.RETRY, status, f'HTTP {status} ({why})')

    def __call__(self, item: Item) -> Send:
        """Upload one queue item as <kind>-<name> (a sender for `UplinkQueue.drain`)."""
        return self.put(f'{item.kind}-{item.name}', item.payload).outcome

    def drain(self, queue: UplinkQueue, max_items: int = 100) -> list[Item]:
        """Upload the queue's maps in priority order until empty or the link fails."""
        return queue.drain(self, max_items, kinds=UPLOAD_KINDS)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.clear()
