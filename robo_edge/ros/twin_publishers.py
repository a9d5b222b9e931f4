"""The twin's publishers, and the dispatch of each reading type to its topic."""

from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, Imu, LaserScan

from robo_edge.ros import qos
from robo_edge.ros.twin_messages import (
    FRAME_MAP,
    FRAME_ODOM,
    camera_info_msg,
    image_msg,
    imu_msg,
    odometry_msg,
    scan_msg,
)
from robo_edge.twin.config import TwinConfig
from robo_edge.twin.readings import (
    GroundTruthReading,
    ImageReading,
    ImuReading,
    OdomReading,
    Reading,
    ScanReading,
)


class TwinPublishers:
    """Publish twin readings on the standard topics with the graph's sensor QoS."""

    def __init__(self, node: Node, config: TwinConfig) -> None:
        self._config = config
        self.scan = node.create_publisher(LaserScan, '/scan', qos.SENSOR)
        self.image = node.create_publisher(Image, '/camera/image_raw', qos.SENSOR)
        self.camera_info = node.create_publisher(CameraInfo, '/camera/camera_info', qos.SENSOR)
        self.imu = node.create_publisher(Imu, '/imu/data', qos.SENSOR_BURST)
        self.odom = node.create_publisher(Odometry, '/odom', qos.SENSOR_BURST)
        self.ground_truth = node.create_publisher(Odometry, '/twin/ground_truth', qos.SENSOR_BURST)
        self.counts: dict[str, int] = {}

    def _by_topic(self) -> dict:
        return {
            p.topic_name: p for p in (
                self.scan, self.image, self.camera_info, self.imu, self.odom, self.ground_truth
            )
        }

    def topics(self) -> set[str]:
        """Return the topics these publishers serve."""
        return set(self._by_topic())

    def unmatched(self, required: dict[str, int]) -> dict[str, int]:
        """Return the required topics with fewer matched subscribers than asked for."""
        publishers = self._by_topic()
        return {
            topic: count for topic, count in required.items()
            if publishers[topic].get_subscription_count() < count
        }

    def publish(self, readings: list[Reading]) -> None:
        """Publish each reading on its topic."""
        for reading in readings:
            self._publish_one(reading)
            name = type(reading).__name__
            self.counts[name] = self.counts.get(name, 0) + 1

    def _publish_one(self, reading: Reading) -> None:
        if isinstance(reading, ImuReading):
            cfg = self._config.imu
            self.imu.publish(imu_msg(reading, cfg.gyro_noise_std, cfg.accel_noise_std))
        elif isinstance(reading, OdomReading):
            self.odom.publish(odometry_msg(reading, FRAME_ODOM))
        elif isinstance(reading, GroundTruthReading):
            self.ground_truth.publish(odometry_msg(reading, FRAME_MAP))
        elif isinstance(reading, ScanReading):
            self.scan.publish(scan_msg(reading))
        elif isinstance(reading, ImageReading):
            self.camera_info.publish(camera_info_msg(reading.stamp_ns, reading.intrinsics))
            self.image.publish(image_msg(reading))
