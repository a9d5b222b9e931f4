"""robo_edge.ingest."""
