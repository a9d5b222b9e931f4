"""robo_edge.ros."""
