"""robo_edge.scenario."""
