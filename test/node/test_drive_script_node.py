"""The scripted driver is a command source like the controller: only the gate reaches the base."""

from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_harness import Spinner
from rosgraph_msgs.msg import Clock

from robo_edge.nodes.drive_script import DriveScriptNode
from robo_edge.ros import qos
from robo_edge.ros.stamps import from_msg, to_msg

TICK_NS = 50_000_000


def test_the_script_answers_each_tick_on_the_gates_input_never_the_bases(context) -> None:
    script = DriveScriptNode(context=context, parameter_overrides=[
        Parameter('segments', value=[1.0, 0.5, 0.0, 1.0, 0.0, 0.3])])
    probe = Node('script_probe', context=context)
    heard: dict[str, dict[int, TwistStamped]] = {'/cmd_vel_raw': {}, '/cmd_vel': {}}
    for topic, answers in heard.items():
        probe.create_subscription(TwistStamped, topic,
                                  lambda m, a=answers: a.setdefault(from_msg(m.header.stamp), m),
                                  qos.COMMAND)
    clock = probe.create_publisher(Clock, '/clock', qos.CLOCK)
    spinner = Spinner(context, [script, probe], 5.0)
    try:
        assert spinner.spin_until(lambda: clock.get_subscription_count() >= 1 and
                                  script.publisher.get_subscription_count() >= 1)
        for k in (0, 30):  # 0 s: driving straight; 1.5 s: turning
            tick = k * TICK_NS
            assert spinner.spin_until(
                lambda t=tick: clock.publish(Clock(clock=to_msg(t))) or t in heard['/cmd_vel_raw'])
        straight, turning = heard['/cmd_vel_raw'][0], heard['/cmd_vel_raw'][30 * TICK_NS]
        assert (straight.twist.linear.x, straight.twist.angular.z) == (0.5, 0.0)
        assert (turning.twist.linear.x, turning.twist.angular.z) == (0.0, 0.3)
        assert straight.header.frame_id == 'base_link'
        assert heard['/cmd_vel'] == {}  # nothing bypasses the gate
        # Where it goes is fixed for the node's life (a live switch could bypass the gate).
        refused = script.set_parameters([Parameter('output_topic', value='/cmd_vel')])[0]
        assert not refused.successful
    finally:
        spinner.close()
