"""The digital twin node: a thin ROS adapter around robo_edge.twin.sim.Twin.

Two clock modes. `lockstep` (default for scenarios and CI): at each control boundary t_k the
node publishes the sensors due, then `/clock = t_k`, then waits, bounded in wall time, for the
`/cmd_vel` stamped t_k; a timeout fails the run. `free_run`: no waiting, the latest command
applies (with a command watchdog), optionally paced to a maximum real-time factor.
"""

import time
from pathlib import Path

import rclpy
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Path as PathMsg
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import State, TransitionCallbackReturn
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String

from robo_edge import paths
from robo_edge.chaos.injector import FaultInjector
from robo_edge.chaos.spec import from_params
from robo_edge.exceptions import ConfigError, LockstepTimeout, RoboEdgeError
from robo_edge.robot.kinematics import Pose2D, Velocity
from robo_edge.ros import qos
from robo_edge.ros.lifecycle import CleanLifecycleNode
from robo_edge.ros.params import LiveParameters, declare
from robo_edge.ros.readiness import READY_QOS, READY_TOPIC, parse_topic_counts
from robo_edge.ros.run import install_stop_handlers
from robo_edge.ros.stamps import from_msg, to_msg
from robo_edge.ros.twin_params import LIVE, PARAMS
from robo_edge.ros.twin_publishers import TwinPublishers
from robo_edge.twin.config import flatten_defaults, from_flat
from robo_edge.twin.digest import StreamDigests
from robo_edge.twin.pacing import Pacer
from robo_edge.twin.run_end import EndAfterGoals
from robo_edge.twin.run_record import RunRecord
from robo_edge.twin.sim import Twin
from robo_edge.twin.world import load_world

EXIT_OK = 0
EXIT_LOCKSTEP_TIMEOUT = 3
EXIT_CONFIG = 2
# While a period waits for its command, /clock is sent again this often (wall seconds), for a
# node that joined late or a best-effort time source that lost the sample.
CLOCK_RESEND_S = 0.25
# Longest idle spin in that wait: bounds how late the re-send and the timeout are checked.
WAIT_SPIN_S = 0.05
# A free-running twin further behind the wall than this drops the lag instead of racing.
MAX_PACE_LAG_S = 0.05
URDF_NAME = 'diff_drive.urdf'


class TwinNode(CleanLifecycleNode):
    """Publishes the twin's sensors and clock and drives its base from `/cmd_vel`.

    Parameters: see ros/twin_params.PARAMS (world, seed, start, clock_mode, duration_s,
    result_path, faults (JSON; injected into what is published, never into ground truth), and
    every twin setting such as `scan.rate_hz`, `camera.rate_hz`; read-only) and LIVE
    (lockstep_timeout_s, cmd_timeout_s, progress_period_s: applied at once).
    Subscriptions: /cmd_vel (geometry_msgs/TwistStamped, reliable); /plan (nav_msgs/Path,
    transient local) only when end_after_goals_s > 0.
    Publishers: /clock (rosgraph_msgs/Clock), /scan (sensor_msgs/LaserScan),
    /camera/image_raw (sensor_msgs/Image), /camera/camera_info (sensor_msgs/CameraInfo),
    /imu/data (sensor_msgs/Imu), /odom (nav_msgs/Odometry), /twin/ground_truth (Odometry).
    """

    def __init__(self, **node_kwargs: object) -> None:
        super().__init__('twin', **node_kwargs)
        self.values = declare(self, PARAMS)
        self.twin: Twin | None = None
        self.out: TwinPublishers | None = None
        self.record: RunRecord | None = None
        self.injector = FaultInjector((), 0)
        self.published = StreamDigests()  # the run record's stream hashes: what was published
        self.commands: dict[int, Velocity] = {}
        self.latest_command: tuple[int, Velocity] = (0, Velocity())
        self.exit_code = EXIT_OK
        self.finished = False
        self._next_progress_ns = int(float(self.values['progress_period_s']) * 1e9)
        self._pacer = Pacer(float(self.values['max_real_time_factor']), MAX_PACE_LAG_S)
        self.end_after_goals = EndAfterGoals(int(float(self.values['end_after_goals_s']) * 1e9))
        # Nothing to build: the live values are read where they are used.
        self.live = LiveParameters(self, PARAMS, self.values, LIVE, lambda _v, _c: None)

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Load the world and robot into a new PyBullet client and create the publishers."""
        try:
            self.required = parse_topic_counts(list(self.values['required_subscribers']),
                                               'twin parameters', 'required_subscribers')
            self.injector = self._make_injector()
            self.twin = self._make_twin()
        except (RoboEdgeError, OSError, ValueError) as e:
            self.get_logger().error(f'cannot configure the twin: {e}')
            self.exit_code = EXIT_CONFIG
            return TransitionCallbackReturn.FAILURE
        self.out = TwinPublishers(self, self.twin.config)
        unknown = set(self.required) - self.out.topics()
        if unknown:
            self.get_logger().error(f'required_subscribers names topics the twin does not '
                                    f'publish: {sorted(unknown)}')
            self.exit_code = EXIT_CONFIG
            return TransitionCallbackReturn.FAILURE
        self.clock_pub = self.create_publisher(Clock, '/clock', qos.CLOCK)
        self._command_sub = self.create_subscription(TwistStamped, '/cmd_vel', self._on_command,
                                                     qos.COMMAND)
        self.required_ready = {name for name in self.values['required_ready'] if name}
        self.ready: set[str] = set()
        self.create_subscription(String, READY_TOPIC, self._on_ready, READY_QOS)
        if self.end_after_goals.hold_ns > 0:
            self.create_subscription(PathMsg, '/plan', self._on_plan, qos.LATCHED)
        v = self.values
        self.record = RunRecord(str(v['world']), int(v['seed']), str(v['clock_mode']))
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Release the physics client."""
        if self.twin is not None:
            self.twin.close()
            self.twin = None
        return TransitionCallbackReturn.SUCCESS

    on_shutdown = on_cleanup

    def _make_injector(self) -> FaultInjector:
        faults = from_params(str(self.values['faults']))
        for fault in faults:
            self.get_logger().info(f'fault declared: {fault.to_dict()} '
                                   f'(injected by {fault.injected_by})')
        return FaultInjector(faults, int(self.values['seed']))

    def _make_twin(self) -> Twin:
        v = self.values
        if v['clock_mode'] not in ('lockstep', 'free_run'):
            raise ConfigError('twin parameters', 'clock_mode', 'lockstep or free_run',
                              v['clock_mode'])
        world = load_world(paths.resolve(str(v['world']), 'sim/worlds'))
        config = from_flat({k: v[k] for k in flatten_defaults()})
        start = v['start']
        if len(start) != 3:
            raise ConfigError('twin parameters', 'start', '[x, y, yaw]', list(start))
        urdf = Path(v['urdf']) if v['urdf'] else paths.share_file('sim', 'robot', URDF_NAME)
        self.get_logger().info(
            f'world {world.name} ({world.source}), seed {v["seed"]}, start {list(start)}, '
            f'{v["clock_mode"]}'
        )
        return Twin(world, config, int(v['seed']), Pose2D(*map(float, start)), urdf)

    def _on_command(self, msg: TwistStamped) -> None:
        stamp = from_msg(msg.header.stamp)
        command = Velocity(msg.twist.linear.x, msg.twist.angular.z)
        self.commands[stamp] = command
        if stamp >= self.latest_command[0]:
            self.latest_command = (stamp, command)

    def _on_ready(self, msg: String) -> None:
        self.ready.add(msg.data)

    def _on_plan(self, msg: PathMsg) -> None:
        self.end_after_goals.on_plan(from_msg(msg.header.stamp), bool(msg.poses))

    # -- the run loop -----------------------------------------------------------------------
    def run(self, executor: SingleThreadedExecutor, stop: dict[str, bool]) -> int:
        """Step the twin until the duration, a stop request or a failed handshake."""
        assert self.twin is not None and self.out is not None and self.record is not None
        try:
            self._wait_for_graph(executor, stop)
        except LockstepTimeout as e:
            return self._fail(e, time.monotonic())
        wall_start = time.monotonic()
        # Nothing is published stamped t = 0: a zero stamp means "unset" in ROS.
        try:
            while not stop['requested'] and self.context.ok() and not self._duration_reached():
                if self.twin.at_control_boundary():
                    self._control_boundary(executor, wall_start)
                self._step()
            self.record.outcome = 'interrupted' if stop['requested'] else 'completed'
        except LockstepTimeout as e:
            return self._fail(e, wall_start)
        self._finish(wall_start)
        return self.exit_code

    def _step(self) -> None:
        """Step physics and publish what is due, after the declared faults had their say."""
        readings = self.twin.step()
        now = self.twin.time_ns
        published = self.injector.apply(now, readings)
        self.published.add_all(now, published)
        self.out.publish(published)

    def _fail(self, error: LockstepTimeout, wall_start: float) -> int:
        self.get_logger().error(str(error))
        self.record.outcome, self.record.error = 'lockstep_timeout', str(error)
        self.exit_code = EXIT_LOCKSTEP_TIMEOUT
        self._finish(wall_start)
        return self.exit_code

    def _wait_for_graph(self, executor: SingleThreadedExecutor, stop: dict[str, bool]) -> None:
        """Hold t=0 until the required subscribers are matched, bounded in wall time."""
        deadline = time.monotonic() + float(self.values['startup_timeout_s'])
        missing = self._graph_missing()
        while missing and not stop['requested']:
            if time.monotonic() > deadline:
                raise LockstepTimeout(f'graph not up after startup_timeout_s: missing {missing}')
            executor.spin_once(timeout_sec=0.02)
            missing = self._graph_missing()
        # A writer sees its readers match before each reader has matched the writer, and a
        # reader drops samples from writers it does not know yet: neither side can observe the
        # other's discovery, so the first samples get a bounded grace (DDS discovery latency).
        settle_until = time.monotonic() + float(self.values['startup_settle_s'])
        while time.monotonic() < settle_until and not stop['requested']:
            executor.spin_once(timeout_sec=0.05)

    def _graph_missing(self) -> list[str]:
        """List what t = 0 still waits for: unmatched readers, unready nodes, no command writer."""
        missing = [f'{topic} readers' for topic in self.out.unmatched(self.required)]
        missing += [f'ready:{name}' for name in sorted(self.required_ready - self.ready)]
        lockstep = self.values['clock_mode'] == 'lockstep'
        if lockstep and self.required_ready and self._command_sub.get_publisher_count() < 1:
            missing.append('/cmd_vel writer')
        return missing

    def _duration_reached(self) -> bool:
        duration = float(self.values['duration_s'])
        now = self.twin.time_ns
        if self.end_after_goals.due(now):
            return True
        return duration > 0 and now >= int(duration * 1e9)

    def _control_boundary(self, executor: SingleThreadedExecutor, wall_start: float) -> None:
        twin = self.twin
        twin.update_clearance()
        self.record.add_pose(twin.time_ns, twin.pose.x, twin.pose.y, twin.pose.yaw)
        self.record.control_periods += 1
        self._publish_clock()
        if self.values['clock_mode'] == 'lockstep':
            twin.set_command(self._wait_for_command(executor, twin.time_ns))
        else:
            executor.spin_once(timeout_sec=0.0)
            twin.set_command(self._latest_fresh_command())
            self._pace(wall_start)
        self._log_progress(wall_start)

    def _publish_clock(self) -> None:
        self.clock_pub.publish(Clock(clock=to_msg(self.twin.time_ns)))

    def _wait_for_command(self, executor: SingleThreadedExecutor, stamp_ns: int) -> Velocity:
        # The first period also waits for the partner to start; later ones are tight.
        key = 'startup_timeout_s' if stamp_ns == 0 else 'lockstep_timeout_s'
        start = time.monotonic()
        last_clock = start
        while stamp_ns not in self.commands:
            now = time.monotonic()
            timeout = float(self.values[key])  # live: a new value bounds this wait too
            if now - start > timeout:
                raise LockstepTimeout(
                    f'no /cmd_vel stamped {stamp_ns / 1e9:.3f} s within {timeout} s (wall): '
                    'the run is not repeatable and is failed'
                )
            if now - last_clock >= CLOCK_RESEND_S:
                self._publish_clock()  # a late joiner or a lost sample must not stall the run
                last_clock = now
            # Returns as soon as a callback ran: the timeout only paces the checks above. It
            # stays the same on every call, or rclpy would wait anew each time and run only the
            # first ready callback, starving the subscriptions after it.
            executor.spin_once(timeout_sec=WAIT_SPIN_S)
        self.record.lockstep_wait_ms.append((time.monotonic() - start) * 1e3)
        command = self.commands.pop(stamp_ns)
        self.commands = {k: c for k, c in self.commands.items() if k > stamp_ns}
        return command

    def _latest_fresh_command(self) -> Velocity:
        stamp, command = self.latest_command
        age_s = (self.twin.time_ns - stamp) / 1e9
        return command if age_s <= float(self.values['cmd_timeout_s']) else Velocity()

    def _pace(self, wall_start: float) -> None:
        delay = self._pacer.delay(self.twin.time_ns / 1e9, time.monotonic() - wall_start)
        if delay > 0:
            time.sleep(delay)  # pacing to a real-time factor, not synchronisation

    def _log_progress(self, wall_start: float) -> None:
        if self.twin.time_ns < self._next_progress_ns:
            return
        self._next_progress_ns += int(float(self.values['progress_period_s']) * 1e9)
        sim_s = self.twin.time_ns / 1e9
        rtf = sim_s / max(1e-9, time.monotonic() - wall_start)
        total = float(self.values['duration_s'])
        of = f'/{total:.0f}' if total else ''
        self.get_logger().info(f'progress: sim {sim_s:.1f}{of} s, real-time factor {rtf:.2f}x')

    def _finish(self, wall_start: float) -> None:
        twin, record = self.twin, self.record
        record.sim_time_s = twin.time_ns / 1e9
        record.wall_time_s = time.monotonic() - wall_start
        record.min_clearance_m = twin.min_clearance
        record.path_length_m = twin.path_length
        record.stream_hashes = self.published.hexdigests()
        record.faults = self.injector.report()
        for collision in twin.collisions:
            record.add_collision(collision)
        if self.values['result_path']:
            record.write(Path(str(self.values['result_path'])))
        self.get_logger().info(
            f'{record.outcome}: {record.sim_time_s:.1f} s simulated in {record.wall_time_s:.1f} s '
            f'({record.real_time_factor():.2f}x), {len(record.collisions)} collisions, '
            f'trajectory {record.trajectory_hash()[:12]}'
        )
        self.finished = True


def main(args: list[str] | None = None) -> int:
    """Configure, activate and run the twin until done or stopped."""
    rclpy.init(args=args, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    stop = install_stop_handlers()
    node = TwinNode()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    code = EXIT_CONFIG
    try:
        node.trigger_configure()
        if node.twin is not None:
            node.trigger_activate()
            code = node.run(executor, stop)
            node.trigger_deactivate()
            node.trigger_cleanup()
        else:
            code = node.exit_code
    finally:
        executor.remove_node(node)
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return code


if __name__ == '__main__':
    raise SystemExit(main())
