"""robo_edge.safety: the safety gate, the last word before the base (pure)."""
