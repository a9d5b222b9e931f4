"""Twin settings: sensor rates, noise, camera and base limits, validated together (pure)."""

from dataclasses import dataclass, field, fields

from robo_edge.exceptions import ConfigError
from robo_edge.robot.kinematics import BaseLimits


@dataclass(frozen=True)
class ScanConfig:
    """A planar LiDAR: beams over 360 degrees, REP 117 ranges."""

    rate_hz: int = 10
    beams: int = 360
    range_min: float = 0.12
    range_max: float = 12.0
    noise_std: float = 0.01


@dataclass(frozen=True)
class CameraConfig:
    """A pinhole camera rendered by PyBullet's TinyRenderer; rate 0 turns it off."""

    rate_hz: int = 15
    width: int = 320
    height: int = 240
    vertical_fov_deg: float = 58.0
    near: float = 0.05
    far: float = 20.0
    noise_std: float = 2.0
    light_direction: tuple[float, float, float] = (0.4, 0.3, 1.0)


@dataclass(frozen=True)
class ImuConfig:
    """A 6-axis IMU with white noise and a constant per-run bias drawn from the seed."""

    rate_hz: int = 100
    gyro_noise_std: float = 0.002
    accel_noise_std: float = 0.02
    gyro_bias_std: float = 0.003
    accel_bias_std: float = 0.05


@dataclass(frozen=True)
class OdomConfig:
    """Wheel odometry: speed errors proportional to the speed (slip, wheel radius error)."""

    rate_hz: int = 50
    linear_noise_frac: float = 0.02
    angular_noise_frac: float = 0.03


@dataclass(frozen=True)
class TwinConfig:
    """Everything that shapes the twin apart from the world, the seed and the start pose."""

    physics_rate_hz: int = 300
    control_rate_hz: int = 20
    ground_truth_rate_hz: int = 50
    clearance_horizon: float = 2.0
    scan: ScanConfig = field(default_factory=ScanConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    imu: ImuConfig = field(default_factory=ImuConfig)
    odom: OdomConfig = field(default_factory=OdomConfig)
    limits: BaseLimits = field(default_factory=BaseLimits)

    def __post_init__(self) -> None:
        """Check that every rate divides the physics rate, so stamps fall on physics steps."""
        rates = {
            'control_rate_hz': self.control_rate_hz,
            'ground_truth_rate_hz': self.ground_truth_rate_hz,
            'scan.rate_hz': self.scan.rate_hz,
            'imu.rate_hz': self.imu.rate_hz,
            'odom.rate_hz': self.odom.rate_hz,
        }
        if self.camera.rate_hz:
            rates['camera.rate_hz'] = self.camera.rate_hz
        for key, rate in rates.items():
            if rate <= 0 or self.physics_rate_hz % rate:
                raise ConfigError(
                    'twin config', key,
                    f'a positive divisor of physics_rate_hz ({self.physics_rate_hz})', rate,
                )

    def steps(self, rate_hz: int) -> int:
        """Return the number of physics steps in one period of `rate_hz`."""
        return self.physics_rate_hz // rate_hz


def flatten_defaults() -> dict[str, object]:
    """Return every setting as a flat `section.name` -> default map (the node's parameters)."""
    flat: dict[str, object] = {}
    for item in fields(TwinConfig):
        value = getattr(TwinConfig(), item.name)
        if hasattr(value, '__dataclass_fields__'):
            for sub in fields(value):
                flat[f'{item.name}.{sub.name}'] = getattr(value, sub.name)
        else:
            flat[item.name] = value
    return flat


def from_flat(values: dict[str, object]) -> TwinConfig:
    """Build a TwinConfig from a flat `section.name` map (unknown keys raise ConfigError)."""
    defaults = TwinConfig()
    sections: dict[str, dict[str, object]] = {}
    top: dict[str, object] = {}
    known = flatten_defaults()
    for key, value in values.items():
        if key not in known:
            raise ConfigError('twin config', key, f'one of {sorted(known)}', value)
        section, _, name = key.partition('.')
        if name:
            sections.setdefault(section, {})[name] = _like(known[key], value, key)
        else:
            top[key] = _like(known[key], value, key)
    for section, overrides in sections.items():
        top[section] = type(getattr(defaults, section))(
            **{**getattr(defaults, section).__dict__, **overrides}
        )
    return TwinConfig(**{**defaults.__dict__, **top})


def _like(default: object, value: object, key: str) -> object:
    """Coerce a parameter value to the default's type, or raise naming the key."""
    try:
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise TypeError
            return value
        if isinstance(default, tuple):
            return tuple(float(v) for v in value)  # type: ignore[union-attr]
        return type(default)(value)
    except (TypeError, ValueError) as e:
        raise ConfigError('twin config', key, type(default).__name__, value) from e
