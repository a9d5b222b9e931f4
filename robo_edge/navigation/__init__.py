"""robo_edge.navigation: progress monitoring and bounded recovery (pure)."""
