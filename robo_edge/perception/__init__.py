"""On-device perception without ROS: dataset, model contract, pre/post-processing, virtual scan."""
