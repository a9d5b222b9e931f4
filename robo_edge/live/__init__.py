"""The live view: what an operator sees in Foxglove, mapped from the robot's ROS topics."""
