"""Recording profiles: which topics a run's MCAP keeps, and how often (pure).

Recorded in full, the demo's 108 s came to 280 MB (zstd): the camera twice (the driver's
`/camera/image_raw` and ingest's validated copy `/sensors/camera/image`, the same frames) and
both occupancy grids once per scan (1,081 full grids each), 1.1 GB before compression.

- `full`: every topic, every message.
- `default`: ingest's copy of the camera is left out (the driver's stream is kept); images
  and perception masks at most `IMAGE_HZ`; occupancy grids at most `MAP_HZ` (the first and
  the latched one always). Every other topic in full.
- `minimal`: no images or masks at all; grids at most `MINIMAL_MAP_HZ`. For long soaks.

Rules go by message type, so a robot whose camera publishes elsewhere gets the same profile.
A rate limit keeps a topic's first message and then one at most every 1 / rate seconds of the
recorder's clock (simulated time in the twin); dropped messages are counted per topic.
"""

from dataclasses import dataclass, field

IMAGE_TYPES = frozenset({'sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage'})
GRID_TYPE = 'nav_msgs/msg/OccupancyGrid'
INGEST_IMAGE = '/sensors/camera/image'  # camera_ingest's validated copy of the driver's frames
PERCEPTION_MASK = '/perception/mask'
IMAGE_HZ = 5.0
MAP_HZ = 0.5
MINIMAL_MAP_HZ = 0.2
NAMES = ('full', 'default', 'minimal')


@dataclass(frozen=True)
class TopicRule:
    """Whether a topic is recorded, and at most how often (None: every message)."""

    record: bool
    max_rate_hz: float | None = None


def rule_for(profile: str, topic: str, type_name: str) -> TopicRule:
    """Return the profile's rule for one topic of one type (ValueError: unknown profile)."""
    if profile not in NAMES:
        raise ValueError(f'recording profile must be one of {", ".join(NAMES)}, got {profile!r}')
    if profile == 'full':
        return TopicRule(True)
    image = type_name in IMAGE_TYPES or topic == PERCEPTION_MASK
    if profile == 'minimal':
        if image:
            return TopicRule(False)
        return TopicRule(True, MINIMAL_MAP_HZ if type_name == GRID_TYPE else None)
    if topic == INGEST_IMAGE:
        return TopicRule(False)
    if image:
        return TopicRule(True, IMAGE_HZ)
    return TopicRule(True, MAP_HZ if type_name == GRID_TYPE else None)


@dataclass
class RateLimits:
    """Per-topic rate limits on the recorder's clock; counts what each one dropped."""

    limits: dict[str, float] = field(default_factory=dict)
    last_ns: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def allow(self, topic: str, now_ns: int) -> bool:
        """Whether a message of `topic` arriving at `now_ns` is written (and note it)."""
        rate = self.limits.get(topic)
        last = self.last_ns.get(topic)
        # A clock that went back (a new run on the same recorder) starts the topic over.
        if rate is not None and last is not None and 0 <= now_ns - last < 1e9 / rate:
            self.dropped[topic] = self.dropped.get(topic, 0) + 1
            return False
        self.last_ns[topic] = now_ns
        return True
