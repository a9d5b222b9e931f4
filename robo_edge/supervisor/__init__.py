"""robo_edge.supervisor."""
