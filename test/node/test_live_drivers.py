"""Node tests: the scripted driver's and the twin's live parameters, set while they run."""

from geometry_msgs.msg import TwistStamped
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_harness import Spinner
from rosgraph_msgs.msg import Clock
from test_twin_node import Partner, make_twin

from robo_edge.nodes.drive_script import DriveScriptNode
from robo_edge.nodes.twin import EXIT_LOCKSTEP_TIMEOUT
from robo_edge.ros import qos
from robo_edge.ros.stamps import from_msg, to_msg

TICK_NS = 50_000_000


def test_a_new_script_drives_from_the_next_tick(context) -> None:
    script = DriveScriptNode(context=context, parameter_overrides=[
        Parameter('segments', value=[10.0, 0.5, 0.0])])
    probe = Node('script_probe', context=context)
    heard: dict[int, TwistStamped] = {}
    probe.create_subscription(TwistStamped, '/cmd_vel_raw',
                              lambda m: heard.setdefault(from_msg(m.header.stamp), m),
                              qos.COMMAND)
    clock = probe.create_publisher(Clock, '/clock', qos.CLOCK)
    spinner = Spinner(context, [script, probe], 5.0)

    def command_at(k: int) -> tuple[float, float]:
        tick = k * TICK_NS
        assert spinner.spin_until(
            lambda: clock.publish(Clock(clock=to_msg(tick))) or tick in heard)
        return heard[tick].twist.linear.x, heard[tick].twist.angular.z

    try:
        assert spinner.spin_until(lambda: clock.get_subscription_count() >= 1 and
                                  script.publisher.get_subscription_count() >= 1)
        assert command_at(1) == (0.5, 0.0)
        # Not triples: refused, naming the parameter and what it expects; the script stays.
        refused = script.set_parameters([Parameter('segments', value=[1.0, 0.2])])[0]
        assert not refused.successful and 'segments' in refused.reason
        assert 'triples' in refused.reason
        assert command_at(2) == (0.5, 0.0)
        assert script.set_parameters([Parameter('segments',
                                                value=[10.0, 0.2, 0.1])])[0].successful
        assert command_at(3) == (0.2, 0.1)
        # Now a 1 s script: over at 1.5 s, unless it starts 1 s later.
        assert script.set_parameters([Parameter('segments',
                                                value=[1.0, 0.2, 0.1])])[0].successful
        assert command_at(30) == (0.0, 0.0)
        assert script.set_parameters([Parameter('start_time_s', value=1.0)])[0].successful
        assert command_at(31) == (0.2, 0.1) and command_at(50) == (0.0, 0.0)
        topic = script.set_parameters([Parameter('output_topic', value='/cmd_vel')])[0]
        assert not topic.successful and 'read-only' in topic.reason
    finally:
        spinner.close()


class Quitter(Partner):
    """Answers until 0.5 s, then tightens the twin's lockstep wait and falls silent."""

    def __init__(self, context, twin) -> None:
        super().__init__(context, answer=True)
        self.twin = twin
        self.results: dict[str, object] = {}

    def _on_clock(self, msg: Clock) -> None:
        if self.answer and from_msg(msg.clock) >= 500_000_000:
            self.answer = False
            set_one = self.twin.set_parameters
            self.results['range'] = set_one([Parameter('lockstep_timeout_s', value=0.0)])[0]
            self.results['read_only'] = set_one([Parameter('duration_s', value=9.0)])[0]
            self.results['tight'] = set_one([Parameter('lockstep_timeout_s', value=0.2)])[0]
        super()._on_clock(msg)


def test_a_tightened_lockstep_wait_fails_the_run_sooner(context) -> None:
    twin = make_twin(context, lockstep_timeout_s=5.0)
    partner = Quitter(context, twin)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(twin)
    executor.add_node(partner)
    try:
        twin.trigger_configure()
        twin.trigger_activate()
        code = twin.run(executor, {'requested': False})
        twin.trigger_deactivate()
        twin.trigger_cleanup()
        results = partner.results
        assert not results['range'].successful and 'lockstep_timeout_s' in results['range'].reason
        assert not results['read_only'].successful and 'read-only' in results['read_only'].reason
        assert results['tight'].successful
        assert code == EXIT_LOCKSTEP_TIMEOUT
        assert 'within 0.2 s' in twin.record.error, 'the wait set live, not the 5 s it began with'
        assert twin.record.error.startswith('no /cmd_vel stamped 0.500 s')
    finally:
        executor.shutdown()
        twin.destroy_node()
        partner.destroy_node()
