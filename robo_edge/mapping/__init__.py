"""robo_edge.mapping: a log-odds occupancy grid built from scans (pure)."""
