"""Node tests: the recorder's topic lists and cloud_sync's probation breakers, set live."""

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_harness import Spinner
from test_recorder import IGNORED, N, Talker, make_recorder, read_back, spin_until

from robo_edge.nodes.cloud_sync import CloudSyncNode
from robo_edge.ros.qos import DIAGNOSTICS


def test_an_excluded_topic_stops_being_recorded_at_once(context, tmp_path) -> None:
    executor = SingleThreadedExecutor(context=context)
    talker = Talker(context)
    path = tmp_path / 'run.mcap'
    recorder = make_recorder(context, path, topics=['/scan', '/cmd_vel'])
    for node in (talker.node, recorder):
        executor.add_node(node)
    try:
        spin_until(executor, lambda: talker.scan.get_subscription_count() > 0
                   and talker.cmd.get_subscription_count() > 0)
        talker.publish_streams(N)
        spin_until(executor, lambda: recorder.message_counts() == {'/scan': N, '/cmd_vel': N})
        # Not a list of topic names: refused with the reason; the lists in force stay.
        bad = recorder.set_parameters([Parameter('exclude_topics', value=[1, 2])])[0]
        assert not bad.successful and 'exclude_topics' in bad.reason
        assert 'a list of topic names' in bad.reason
        where = recorder.set_parameters([Parameter('output_path', value='/tmp/x.mcap')])[0]
        assert not where.successful and 'read-only' in where.reason
        assert recorder.set_parameters([
            Parameter('exclude_topics', value=[*IGNORED, 'cmd_vel'])])[0].successful
        spin_until(executor, lambda: talker.cmd.get_subscription_count() == 0)
        talker.publish_streams(N)
        spin_until(executor, lambda: recorder.message_counts()['/scan'] == 2 * N)
        assert recorder.message_counts()['/cmd_vel'] == N
    finally:
        executor.remove_node(recorder)
        recorder.destroy_node()
        executor.shutdown()
        talker.node.destroy_node()
    recorded = read_back(path)
    assert (len(recorded['/scan']), len(recorded['/cmd_vel'])) == (2 * N, N)


def trips(lidar: str, perception: str) -> DiagnosticArray:
    return DiagnosticArray(status=[
        DiagnosticStatus(name=f'robo_edge/breaker/{source}', values=[KeyValue(key='trips',
                                                                               value=count)])
        for source, count in (('lidar', lidar), ('perception', perception))])


def test_the_breakers_of_a_probation_are_the_ones_set_live(context) -> None:
    sync = CloudSyncNode(context=context)
    probe = Node('breaker_source', context=context)
    diagnostics = probe.create_publisher(DiagnosticArray, '/diagnostics', DIAGNOSTICS)
    spinner = Spinner(context, [sync, probe], 5.0)
    try:
        assert spinner.spin_until(lambda: diagnostics.get_subscription_count() > 0)
        diagnostics.publish(trips('3', '1'))
        assert spinner.spin_until(lambda: sync._trips == 1), "the perception breaker's only"
        # A name that is no breaker's status would count nothing: refused, saying which are.
        wrong = sync.set_parameters([Parameter('probation_breakers', value=[
            'robo_edge/breaker/lidar', 'robo_edge/breaker/gps'])])[0]
        assert not wrong.successful and 'probation_breakers' in wrong.reason
        assert "'robo_edge/breaker/gps'" in wrong.reason, wrong.reason
        diagnostics.publish(trips('3', '2'))
        assert spinner.spin_until(lambda: sync._trips == 2), 'the old list still in force'
        url = sync.set_parameters([Parameter('server_url', value='http://elsewhere')])[0]
        assert not url.successful and 'read-only' in url.reason
        assert sync.set_parameters([Parameter('probation_breakers', value=[
            'robo_edge/breaker/perception', 'robo_edge/breaker/lidar'])])[0].successful
        diagnostics.publish(trips('3', '4'))
        assert spinner.spin_until(lambda: sync._trips == 7), 'both breakers count now'
    finally:
        spinner.close()
