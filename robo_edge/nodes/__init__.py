"""robo_edge.nodes."""
