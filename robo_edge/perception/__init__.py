"""robo_edge.perception: floor segmentation pre/post-processing and the virtual scan (no ROS)."""
