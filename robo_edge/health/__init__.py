"""robo_edge.health."""
