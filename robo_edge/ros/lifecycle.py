"""A lifecycle node that leaves nothing behind when destroyed."""

from rclpy.lifecycle import LifecycleNode


class CleanLifecycleNode(LifecycleNode):
    """LifecycleNode whose destroy_node also releases the lifecycle state machine.

    rclpy's destroy_node frees the node's own entities but not the state machine, whose
    `~/transition_event` writer then stays announced in the domain (seen by recorders and graph
    queries) for as long as the process lives, even after its context is shut down.
    """

    def destroy_node(self) -> None:
        """Release the state machine, then the node."""
        self._state_machine.destroy_when_not_in_use()
        super().destroy_node()
