"""cloud_sync: periodic, signed, offline-first sync of maps, models and policies (lifecycle).

The robot decides locally; this node only changes which verified artifact is active. Sync
cycles run on a worker thread (network and canary never block the executor); everything else
(probation, diagnostics, telling perception about a new model) runs on the executor.
"""

import json
import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import OccupancyGrid
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.lifecycle import State, TransitionCallbackReturn
from std_msgs.msg import String

from robo_edge.exceptions import ArtifactRejected, SyncError
from robo_edge.ros.breaker_messages import breaker_names
from robo_edge.ros.diagnostics import status_values, to_array
from robo_edge.ros.lifecycle import CleanLifecycleNode
from robo_edge.ros.nav_messages import grid_from_msg
from robo_edge.ros.params import LiveParameters, Param, declare, read_only
from robo_edge.ros.qos import DIAGNOSTICS, LATCHED
from robo_edge.ros.run import spin_lifecycle_node
from robo_edge.sync.agent import Channel, SyncAgent
from robo_edge.sync.artifacts import VERIFIERS, load_policy, policy_overrides
from robo_edge.sync.canary import CanaryGate, GateConfig
from robo_edge.sync.client import SyncClient
from robo_edge.sync.fetcher import ResumableFetcher
from robo_edge.sync.identity import RobotIdentity
from robo_edge.sync.policy import KINDS, RobotProfile
from robo_edge.sync.probation import ProbationConfig
from robo_edge.sync.service import SyncService
from robo_edge.sync.slots import SlotStore
from robo_edge.sync.uplink import HttpSender, UplinkQueue

STATUS_NAME = 'robo_edge/cloud_sync'
PERCEPTION_STATUS = 'robo_edge/perception'
PLANNER_STATUS = 'robo_edge/planner'
# All is built at configure (read-only) but the breakers read at every /diagnostics (live).
LIVE = frozenset({'probation_breakers'})
PARAMS = read_only([
    Param('server_url', 'http://127.0.0.1:8765', 'Repository base URL (http or https)'),
    Param('data_dir', '/var/lib/robo_edge/sync', 'trust/ (root.json), store/, cache/, uplink'),
    Param('channels', ['policy:policy/limits.yaml', 'model:model/floor_seg.onnx'],
          'kind:target path of each artifact this robot follows'),
    Param('hardware_id', 'rover-v2', 'This robot hardware (a target must list it or *)'),
    Param('model_input_size', [160, 120], 'Model input [width, height] the stack expects'),
    Param('map_frame', 'map', 'Frame a map artifact must be in'),
    Param('poll_period_s', 60.0, 'Seconds between sync cycles', 0.1, 86400.0),
    Param('bandwidth_bytes_per_s', 0, 'Download cap (0: none)', 0, 10**10),
    Param('timeout_s', 10.0, 'Connect and between-bytes timeout', 0.1, 600.0),
    Param('robot_id', '', 'Identity for uploads; empty: no uplink'),
    Param('robot_key', '', 'Ed25519 PEM key of robot_id'),
    Param('uplink_budget_bytes', 50_000_000, 'Byte budget of the uplink queue', 1, 10**12),
    Param('telemetry_period_s', 300.0, 'Period of telemetry summaries queued for upload',
          0.1, 86400.0),
    Param('map_upload_period_s', 0.0, 'Period of uploads of the latest /map (0: never)',
          0.0, 86400.0),
    Param('gate_sample_path', '', 'Labelled frames (npz) of the model gate; empty: shipped'),
    Param('gate_min_miou', 0.6, 'Mean IoU a candidate model must reach', 0.0, 1.0),
    Param('gate_scenarios', [''], 'Scenario files of the twin gate; [""]: none'),
    Param('gate_report_dir', '/tmp/robo_edge_canary', 'Reports of twin gate runs'),
    Param('probation_s', 300.0, 'Probation after a model activation', 1.0, 86400.0),
    Param('probation_window_s', 5.0, 'Window of output statistics', 0.1, 3600.0),
    Param('probation_min_samples', 5, 'Samples in the window before drift is judged', 1, 10**6),
    Param('probation_hold_s', 5.0, 'Drift held this long rolls back', 0.0, 3600.0),
    Param('probation_max_trips', 2, 'Breaker trips in probation that roll back', 0, 10**6),
    Param('perception_node', 'perception', 'Node whose model_path a new model sets'),
    Param('diagnostics_period_s', 1.0, 'Period of the diagnostics', 0.05, 60.0),
]) + [Param('probation_breakers', ['robo_edge/breaker/perception'],
            'Breaker statuses (sensor_guard) whose trips count in a model probation')]


def _channels(values: list[str]) -> list[Channel]:
    channels = []
    for value in values:
        kind, _, target = str(value).partition(':')
        if kind not in KINDS or not target:
            raise SyncError(f'parameter channels: {value!r} is not kind:target, kind in {KINDS}')
        channels.append(Channel(target, kind))
    return channels


def _check_breakers(values: dict[str, Any], _changed: object = None) -> None:
    """Refuse probation_breakers naming no breaker's status (it would count nothing)."""
    breaker_names(values['probation_breakers'], 'cloud_sync parameters', 'probation_breakers')


class CloudSyncNode(CleanLifecycleNode):
    """Keeps the robot's maps, models and policies in sync with a TUF repository.

    Parameters: see PARAMS (LIVE apply at once, the rest is read-only).
    Subscriptions: /diagnostics (DiagnosticArray: perception output statistics and breaker
    trips (robo_edge/breaker/<source>, key trips) for probation; the planner's goal_index says
    whether the robot is navigating),
    /map (nav_msgs/OccupancyGrid, latched; uploaded every map_upload_period_s when set).
    Publishers: /diagnostics (status robo_edge/cloud_sync: link, stale, active versions,
    probation, uplink), /cloud_sync/active (std_msgs/String JSON per activation, latched).
    Clients: <perception_node>/set_parameters (model_path of a newly active model),
    <node>/set_parameters for every `<node>.<parameter>` of a newly active policy.
    Lifecycle: configure opens the store, trust and uplink (the last verified artifacts are
    announced at once: no network needed); activate starts polling; cleanup releases.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('cloud_sync', **kwargs)
        self.params = declare(self, PARAMS)
        _check_breakers(self.params)
        self.service: SyncService | None = None
        self._navigating = False
        self._trips = 0  # cumulative trips of the probation breakers, summed
        self._breaker_trips: dict[str, int] = {}
        self._worker: threading.Thread | None = None
        self._timer = None
        self._diag = self.create_publisher(DiagnosticArray, '/diagnostics', DIAGNOSTICS)
        self._active_pub = self.create_publisher(String, '/cloud_sync/active', LATCHED)
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                 DIAGNOSTICS)
        self.create_timer(self.params['diagnostics_period_s'], self.publish_diagnostics)
        self._set_params = None
        self._map: OccupancyGrid | None = None
        self.create_subscription(OccupancyGrid, '/map', self._on_map, LATCHED)
        self._uplink_timers: list[Any] = []
        self._policy_clients: dict[str, Any] = {}
        # Activations happen on the worker thread; the stack is told from the executor.
        self._activations: deque[tuple[str, str, Path]] = deque()
        self._activated = self.create_guard_condition(self._on_activations)
        self.live = LiveParameters(self, PARAMS, self.params, LIVE, _check_breakers)

    # -- lifecycle ------------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Open trust, store and uplink; announce the last verified artifacts."""
        try:
            self.service = self._build()
        except (SyncError, OSError, ValueError) as e:
            self.get_logger().error(f'cannot configure cloud_sync: {e}')
            return TransitionCallbackReturn.FAILURE
        self._set_params = self.create_client(
            SetParameters, f'/{self.params["perception_node"]}/set_parameters')
        try:
            self.service.announce_active()
        except SyncError as e:
            self.get_logger().error(f'active artifact unusable: {e}')
        return TransitionCallbackReturn.SUCCESS

    def _build(self) -> SyncService:
        p = self.params
        data = Path(p['data_dir'])
        fetcher = ResumableFetcher(data / 'partial', p['bandwidth_bytes_per_s'], p['timeout_s'])
        client = SyncClient(data / 'trust', p['server_url'], data / 'cache', fetcher)
        width, height = (int(v) for v in p['model_input_size'])
        robot = RobotProfile(p['hardware_id'], (width, height), p['map_frame'])
        scenarios = tuple(s for s in p['gate_scenarios'] if s)
        gate = CanaryGate(GateConfig(Path(p['gate_sample_path']) if p['gate_sample_path']
                                     else None, p['gate_min_miou'], scenarios,
                                     Path(p['gate_report_dir'])))
        agent = SyncAgent(client, SlotStore(data / 'store', VERIFIERS), robot,
                          _channels(p['channels']), gate)
        probation = ProbationConfig(
            duration_s=p['probation_s'], window_s=p['probation_window_s'],
            min_frames=p['probation_min_samples'], hold_s=p['probation_hold_s'],
            max_trips=p['probation_max_trips'])
        uplink = sender = None
        if p['robot_id']:
            identity = RobotIdentity.load(p['robot_id'], Path(p['robot_key']))
            uplink = UplinkQueue(data / 'uplink.sqlite', p['uplink_budget_bytes'])
            sender = HttpSender(identity, p['server_url'], uplink, p['timeout_s'])
        return SyncService(agent, probation, self._on_active, uplink, sender)

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Start polling (the first cycle at once)."""
        self._timer = self.create_timer(self.params['poll_period_s'], self._poll)
        self._uplink_timers = [self.create_timer(self.params['telemetry_period_s'],
                                                 self._queue_telemetry)]
        if self.params['map_upload_period_s'] > 0:
            self._uplink_timers.append(self.create_timer(self.params['map_upload_period_s'],
                                                         self._queue_map))
        self._poll()
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Stop polling (a cycle in progress finishes)."""
        self._stop_timers()
        return super().on_deactivate(state)

    def _stop_timers(self) -> None:
        for timer in [self._timer, *self._uplink_timers]:
            if timer is not None:
                self.destroy_timer(timer)
        self._timer, self._uplink_timers = None, []

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Release the store, the uplink and the perception client."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Release everything."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _release(self) -> None:
        self._stop_timers()
        if self._worker is not None:
            self._worker.join(timeout=self.params['timeout_s'] * 3)
        if self.service is not None and self.service.uplink is not None:
            self.service.uplink.close()
        for client in [self._set_params, *self._policy_clients.values()]:
            if client is not None:
                self.destroy_client(client)
        self._set_params, self._policy_clients = None, {}
        self.service = None

    # -- work -----------------------------------------------------------------------------
    def _poll(self) -> None:
        if self.service is None or (self._worker is not None and self._worker.is_alive()):
            return
        service, trips = self.service, self._trips
        now_ns = self.get_clock().now().nanoseconds
        self._worker = threading.Thread(target=self._cycle, args=(service, now_ns, trips),
                                        name='cloud-sync', daemon=True)
        self._worker.start()

    def _cycle(self, service: SyncService, now_ns: int, trips: int) -> None:
        try:
            # Idle is read when a map would be swapped, not when the cycle began.
            for event in service.poll(now_ns, lambda: not self._navigating, trips):
                self.get_logger().info(f'{event.action} {event.target}: {event.detail}')
        except Exception as e:  # noqa: BLE001 - a failed cycle is retried on the next period
            self.get_logger().error(f'sync cycle failed: {type(e).__name__}: {e}')

    def _on_map(self, msg: OccupancyGrid) -> None:
        self._map = msg

    def _queue_telemetry(self) -> None:
        if self.service is not None:
            now_ns = self.get_clock().now().nanoseconds
            self.service.put_telemetry(f'sync-{now_ns}.json',
                                       self.service.telemetry(datetime.now(UTC)), now_ns)

    def _queue_map(self) -> None:
        if self.service is not None and self._map is not None:
            now_ns = self.get_clock().now().nanoseconds
            self.service.put_map(grid_from_msg(self._map), f'map-{now_ns}.tar', now_ns)

    def _on_active(self, target: str, kind: str, folder: Path) -> None:
        self._activations.append((target, kind, folder))
        self._activated.trigger()

    def _on_activations(self) -> None:
        while self._activations:
            self._announce(*self._activations.popleft())

    def _announce(self, target: str, kind: str, folder: Path) -> None:
        payload = folder / 'payload'
        path = folder / 'map' / 'map.yaml' if kind == 'map' else payload
        self._active_pub.publish(String(data=json.dumps(
            {'kind': kind, 'target': target, 'path': str(path)})))
        if kind == 'model' and self._set_params is not None:
            self._set_params.call_async(SetParameters.Request(
                parameters=[_parameter('model_path', str(path))]))
        elif kind == 'policy':
            self._apply_policy(payload)
        elif kind == 'map':
            # The mapper reseeds its grid from the new map (a bad file is refused there and
            # the previous map kept); the swap itself already waited for idle.
            self._set_on_node('mapper', {'static_map': str(path)})

    def _apply_policy(self, payload: Path) -> None:
        """Set each `<node>.<parameter>` of the active policy on its node."""
        try:
            nodes = policy_overrides(load_policy(payload))
        except ArtifactRejected as e:
            self.get_logger().error(f'active policy unusable: {e}')
            return
        for node, values in nodes.items():
            self._set_on_node(node, values)

    def _set_on_node(self, node: str, values: dict) -> None:
        """Set parameters on a running node through its parameter service."""
        client = self._policy_clients.get(node)
        if client is None:
            client = self.create_client(SetParameters, f'/{node}/set_parameters')
            self._policy_clients[node] = client
        if not client.service_is_ready():
            self.get_logger().warning(f'node {node} is not running; {sorted(values)} not set')
            return
        client.call_async(SetParameters.Request(
            parameters=[_parameter(k, v) for k, v in values.items()]))

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name == PLANNER_STATUS:
                self._navigating = status_values(status).get('goal_index', '') != ''
            elif status.name in self.params['probation_breakers']:
                trips = status_values(status).get('trips', '0')
                self._breaker_trips[status.name] = int(trips) if trips.isdigit() else 0
                self._trips = sum(self._breaker_trips.values())
        for status in msg.status:
            if status.name == PERCEPTION_STATUS and self.service is not None:
                self._observe(status_values(status))

    def _observe(self, values: dict[str, str]) -> None:
        try:
            floor, confidence = float(values['floor_fraction']), float(values['confidence_mean'])
        except (KeyError, ValueError):
            return
        if floor != floor or confidence != confidence:  # NaN: no frames in the window
            return
        event = self.service.observe(self.get_clock().now().nanoseconds, floor, confidence,
                                     self._trips)
        if event is not None:
            self.get_logger().warning(f'{event.action} {event.target}: {event.detail}')
            self._poll()  # report it upstream now: the cycle drains the uplink when online

    def publish_diagnostics(self) -> None:
        """Publish the node's status."""
        if self.service is None:
            level, message, values = 0, 'unconfigured', []
        else:
            level, message, values = self.service.status(datetime.now(UTC))
        status = DiagnosticStatus(level=bytes([int(level)]), name=STATUS_NAME, message=message,
                                  hardware_id=self.params['hardware_id'],
                                  values=[KeyValue(key=k, value=v) for k, v in values])
        self._diag.publish(to_array([status], self.get_clock().now().nanoseconds))


def _parameter(name: str, value: object) -> ParameterMsg:
    """Return a parameter message for a scalar value."""
    if isinstance(value, bool):
        pv = ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=value)
    elif isinstance(value, int):
        pv = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=value)
    elif isinstance(value, float):
        pv = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value)
    else:
        pv = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=str(value))
    return ParameterMsg(name=name, value=pv)


def main(args: list[str] | None = None) -> int:
    """Configure and activate cloud_sync, then spin until stopped (inactive if it failed)."""
    return spin_lifecycle_node(CloudSyncNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
