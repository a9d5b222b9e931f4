"""robo_edge: a robot edge runtime on ROS 2."""
