"""What bench/robot.py watches during a run, on the scenario runner's own node (ROS side).

Attached through `RunOptions.monitor`: it subscribes to /diagnostics (the supervisor's CPU and
RSS per node, the controller's and the gate's tick latency), /clock (to map simulated stamps to
the wall), /perception/scan (camera to virtual scan, end to end) and the two command topics
(their arrival periods: the tick jitter a consumer sees). It only stores raw samples; the
figures are computed by bench/_robot_report.py (pure).
"""

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import LaserScan

from robo_edge.ros import qos
from robo_edge.ros.stamps import from_msg

SUPERVISOR = 'robo_edge/supervisor/'
TICK_STATUSES = {'robo_edge/controller': 'controller', 'robo_edge/safety_gate': 'safety_gate'}
COMMANDS = {'/cmd_vel_raw': 'controller', '/cmd_vel': 'safety_gate'}


class RunMonitor:
    """Raw samples of one run; `attach` is the runner's monitor hook."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clock: tuple[int, float] | None = None  # (simulated ns, wall s at arrival)
        self.arrivals: dict[str, list[float]] = {name: [] for name in COMMANDS.values()}
        self.tick_ms: dict[str, list[list[float]]] = {n: [] for n in TICK_STATUSES.values()}
        self.resources: list[dict[str, list[float]]] = []  # per sample: node -> [cpu %, MB]
        self.e2e_ms: list[float] = []
        self.controller_stamps: list[float] = []  # /cmd_vel_raw stamps (simulated s)

    def attach(self, node: Node) -> None:
        """Subscribe on the runner's node (called before it spins)."""
        node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                 qos.DIAGNOSTICS)
        node.create_subscription(Clock, '/clock', self._on_clock, qos.CLOCK)
        node.create_subscription(LaserScan, '/perception/scan', self._on_scan, qos.SENSOR)
        for topic, name in COMMANDS.items():
            node.create_subscription(TwistStamped, topic,
                                     lambda msg, n=name: self._arrived(n, msg), qos.COMMAND)

    def _arrived(self, name: str, msg: TwistStamped) -> None:
        with self._lock:
            self.arrivals[name].append(time.monotonic())
            if name == 'controller':
                self.controller_stamps.append(from_msg(msg.header.stamp) / 1e9)

    def _on_clock(self, msg: Clock) -> None:
        self._clock = (from_msg(msg.clock), time.monotonic())

    def _on_scan(self, msg: LaserScan) -> None:
        now, clock = time.monotonic(), self._clock
        if clock is None:
            return
        # The frame's capture on the wall: the newest /clock's wall time plus the simulated
        # time between them (the twin runs at 1x on the wall clock).
        captured = clock[1] + (from_msg(msg.header.stamp) - clock[0]) / 1e9
        with self._lock:
            self.e2e_ms.append((now - captured) * 1e3)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        sample: dict[str, list[float]] = {}
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            if status.name.startswith(SUPERVISOR):
                cpu, rss = values.get('cpu_percent', ''), values.get('rss_mb', '')
                if cpu and rss:
                    sample[status.name[len(SUPERVISOR):]] = [float(cpu), float(rss)]
            elif status.name in TICK_STATUSES and 'tick_ms_p99' in values:
                with self._lock:
                    self.tick_ms[TICK_STATUSES[status.name]].append(
                        [float(values['tick_ms_p50']), float(values['tick_ms_p99'])])
        if sample:
            with self._lock:
                self.resources.append(sample)

    def samples(self) -> dict:
        """Return the raw samples (JSON-ready; command periods in ms, rounded to 0.01)."""
        with self._lock:
            periods = {name: [round((b - a) * 1e3, 2) for a, b in zip(times, times[1:],
                                                                       strict=False)]
                       for name, times in self.arrivals.items()}
            return {'command_period_ms': periods,
                    'tick_ms': {k: list(v) for k, v in self.tick_ms.items()},
                    'resources': list(self.resources),
                    'e2e_ms': [round(v, 2) for v in self.e2e_ms],
                    'controller_stamps': list(self.controller_stamps)}
