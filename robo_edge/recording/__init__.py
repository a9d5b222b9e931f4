"""robo_edge.recording."""
