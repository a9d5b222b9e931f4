"""robo_edge.twin."""
