"""robo_edge.control: path following (pure)."""
