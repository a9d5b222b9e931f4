"""cloud_sync: periodic, signed, offline-first sync of maps, models and policies (lifecycle).

The robot decides locally; this node only changes which verified artifact is active. Sync
cycles run on a worker thread (network and canary never block the executor); everything else
(probation, diagnostics, telling perception about a new model) runs on the executor.
"""

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import OccupancyGrid
from rclpy.lifecycle import State, TransitionCallbackReturn
from std_msgs.msg import String

from robo_edge.exceptions import SyncError
from robo_edge.health.report import Level
from robo_edge.ros.breaker_messages import breaker_names
from robo_edge.ros.diagnostics import status_values, to_array
from robo_edge.ros.lifecycle import CleanLifecycleNode
from robo_edge.ros.nav_messages import grid_from_msg
from robo_edge.ros.param_apply import RosParamIO
from robo_edge.ros.params import LiveParameters, declare
from robo_edge.ros.qos import DIAGNOSTICS, LATCHED
from robo_edge.ros.run import spin_lifecycle_node
from robo_edge.ros.sync_params import LIVE, PARAMS
from robo_edge.ros.sync_swaps import Job, SwapConfig, SwapWorker
from robo_edge.sync.agent import Channel, SyncAgent
from robo_edge.sync.apply import IdleWatch
from robo_edge.sync.artifacts import VERIFIERS
from robo_edge.sync.canary import CanaryGate, GateConfig
from robo_edge.sync.client import SyncClient
from robo_edge.sync.fetcher import ResumableFetcher
from robo_edge.sync.identity import RobotIdentity
from robo_edge.sync.policy import KINDS, RobotProfile
from robo_edge.sync.probation import ProbationConfig
from robo_edge.sync.service import SyncService
from robo_edge.sync.slots import SlotStore
from robo_edge.sync.tls import TlsConfig
from robo_edge.sync.uplink import HttpSender, UplinkQueue

STATUS_NAME = 'robo_edge/cloud_sync'
PERCEPTION_STATUS = 'robo_edge/perception'
PLANNER_STATUS = 'robo_edge/planner'


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
    probation, uplink, swaps and the last refusal), /cloud_sync/active (std_msgs/String JSON
    per activation the stack took, latched).
    Clients: <node>/get_parameters and <node>/set_parameters of every node an activation sets
    (perception_node's model_path, mapper_node's static_map, a policy's parameters), each
    result checked (ros/sync_swaps.py).
    Lifecycle: configure opens the store, trust and uplink (the last verified artifacts are
    announced at once: no network needed); activate starts polling; cleanup releases.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('cloud_sync', **kwargs)
        self.params = declare(self, PARAMS)
        _check_breakers(self.params)
        self.service: SyncService | None = None
        self._idle = IdleWatch(self.params['planner_stale_s'])
        self.map_deferred = 0
        self._swaps: SwapWorker | None = None
        self._io: RosParamIO | None = None
        self._trips = 0  # cumulative trips of the probation breakers, summed
        self._breaker_trips: dict[str, int] = {}
        self._worker: threading.Thread | None = None
        self._timer = None
        self._diag = self.create_publisher(DiagnosticArray, '/diagnostics', DIAGNOSTICS)
        self._active_pub = self.create_publisher(String, '/cloud_sync/active', LATCHED)
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                 DIAGNOSTICS)
        self.create_timer(self.params['diagnostics_period_s'], self.publish_diagnostics)
        self._map: OccupancyGrid | None = None
        self.create_subscription(OccupancyGrid, '/map', self._on_map, LATCHED)
        self._uplink_timers: list[Any] = []
        self.live = LiveParameters(self, PARAMS, self.params, LIVE, _check_breakers)

    # -- lifecycle ------------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Open trust, store and uplink; announce the last verified artifacts."""
        try:
            self.service = self._build()
        except (SyncError, OSError, ValueError) as e:
            self.get_logger().error(f'cannot configure cloud_sync: {e}')
            return TransitionCallbackReturn.FAILURE
        p = self.params
        self._io = RosParamIO(self, p['timeout_s'])
        self._swaps = SwapWorker(
            self._io, self.service, SwapConfig(p['perception_node'], p['mapper_node'],
                                               p['swap_queue_limit'], p['pending_wait_s'],
                                               p['model_answer_s']),
            self._announce, self.get_logger().warning, self._now_ns)
        self._swaps.start()
        try:
            self.service.announce_active()
        except SyncError as e:
            self.get_logger().error(f'active artifact unusable: {e}')
        return TransitionCallbackReturn.SUCCESS

    def _build(self) -> SyncService:
        p = self.params
        data = Path(p['data_dir'])
        tls = TlsConfig.from_dir(Path(p['tls_dir'])) if p['tls_dir'] else None
        fetcher = ResumableFetcher(data / 'partial', p['bandwidth_bytes_per_s'], p['timeout_s'],
                                   tls=tls)
        client = SyncClient(data / 'trust', p['server_url'], data / 'cache', fetcher)
        width, height = (int(v) for v in p['model_input_size'])
        robot = RobotProfile(p['hardware_id'], (width, height), p['map_frame'])
        scenarios = tuple(s for s in p['gate_scenarios'] if s)
        gate = CanaryGate(GateConfig(Path(p['gate_sample_path']) if p['gate_sample_path']
                                     else None, p['gate_min_miou'], scenarios,
                                     Path(p['gate_report_dir'])))
        agent = SyncAgent(client, SlotStore(data / 'store', VERIFIERS), robot,
                          _channels(p['channels']), gate,
                          map_defer_warn_s=p['map_defer_warn_s'])
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
        if self._swaps is not None:
            self._swaps.stop(self.params['timeout_s'] * 3)
        if self._io is not None:
            self._io.close()
        if self.service is not None and self.service.uplink is not None:
            self.service.uplink.close()
        self.service = self._swaps = self._io = None

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
            for event in service.poll(now_ns, lambda: self._idle.idle(self._now_ns()), trips):
                self.map_deferred += event.action == 'deferred'
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

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_active(self, target: str, kind: str, folder: Path) -> None:
        if self._swaps is not None:
            self._swaps.submit(Job(target, kind, folder))

    def _announce(self, job: Job, path: str) -> None:
        """Say what the stack took (the reconciler declares it: only what was applied)."""
        self._active_pub.publish(String(data=json.dumps(
            {'kind': job.kind, 'target': job.target, 'path': path})))

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name == PLANNER_STATUS:
                self._idle.heard(self._now_ns(), status_values(status).get('goal_index', '?'))
            elif status.name in self.params['probation_breakers']:
                trips = status_values(status).get('trips', '0')
                self._breaker_trips[status.name] = int(trips) if trips.isdigit() else 0
                self._trips = sum(self._breaker_trips.values())
        for status in msg.status:
            if status.name == PERCEPTION_STATUS and self.service is not None:
                if self._swaps is not None:
                    self._swaps.observe_perception(status_values(status))
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
            values.append(('map_deferred', str(self.map_deferred)))
            if self._swaps is not None:
                values += self._swaps.values()
                if self._swaps.refused_last:
                    level = max(level, Level.WARN)
                    message += f'; refused by the stack: {self._swaps.last_refusal}'[:300]
        status = DiagnosticStatus(level=bytes([int(level)]), name=STATUS_NAME, message=message,
                                  hardware_id=self.params['hardware_id'],
                                  values=[KeyValue(key=k, value=v) for k, v in values])
        self._diag.publish(to_array([status], self.get_clock().now().nanoseconds))


def main(args: list[str] | None = None) -> int:
    """Configure and activate cloud_sync, then spin until stopped (inactive if it failed)."""
    return spin_lifecycle_node(CloudSyncNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
