"""robo_edge.planning: occupancy grids, static maps, inflation and global path planning."""
