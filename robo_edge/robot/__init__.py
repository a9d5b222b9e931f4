"""The robot core: the types, kinematics and occupancy grid the stack and the twin share.

It imports nothing else of robo_edge (but its exceptions): the twin depends on it, never the
other way round, and no robot-side module imports `robo_edge.twin`.
"""
