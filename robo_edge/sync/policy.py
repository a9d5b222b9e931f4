"""Which verified artifacts a robot accepts: kind, release counter, hardware, compatibility.

TUF answers "is this exactly what the repository signed?"; this module answers "should this
robot install it?". The custom metadata of every target is

    {kind: map|model|policy, version: str, release: int >= 0, hardware: [str, ...],
     compat: {input_size: [w, h]} (model) | {map_frame: str} (map) | {} (policy)}

A release counter lower than the installed one is refused (a signed but older artifact is a
downgrade); an equal one with the same bytes is already installed.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from robo_edge.exceptions import ArtifactRejected

KINDS = ('map', 'model', 'policy')
ANY_HARDWARE = '*'


@dataclass(frozen=True)
class ArtifactInfo:
    """The custom metadata of one target, validated."""

    kind: str
    version: str
    release: int
    hardware: tuple[str, ...]
    compat: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the custom metadata document."""
        return {'kind': self.kind, 'version': self.version, 'release': self.release,
                'hardware': list(self.hardware), 'compat': dict(self.compat)}


@dataclass(frozen=True)
class RobotProfile:
    """What this robot is: its hardware id and what its stack expects of artifacts."""

    hardware: str
    model_input_size: tuple[int, int] | None = None  # (width, height)
    map_frame: str = 'map'


class Decision(Enum):
    """What to do with a verified candidate."""

    INSTALL = 'install'
    CURRENT = 'current'  # already installed
    REFUSE = 'refuse'


@dataclass(frozen=True)
class Verdict:
    """A decision and why."""

    decision: Decision
    reason: str = ''


def parse_custom(custom: object, target: str = 'target') -> ArtifactInfo:
    """Validate a target's custom metadata; raise ArtifactRejected naming the bad field."""
    if not isinstance(custom, Mapping):
        raise ArtifactRejected(f'{target}: custom metadata missing or not a mapping')
    kind = custom.get('kind')
    if kind not in KINDS:
        raise ArtifactRejected(f'{target}: custom.kind {kind!r} is not one of {KINDS}')
    version = custom.get('version')
    if not isinstance(version, str) or not version:
        raise ArtifactRejected(f'{target}: custom.version must be a non-empty string')
    release = custom.get('release')
    if isinstance(release, bool) or not isinstance(release, int) or release < 0:
        raise ArtifactRejected(f'{target}: custom.release must be an integer >= 0')
    hardware = custom.get('hardware')
    if (not isinstance(hardware, list) or not hardware
            or not all(isinstance(h, str) and h for h in hardware)):
        raise ArtifactRejected(f'{target}: custom.hardware must be a non-empty list of names')
    compat = custom.get('compat', {})
    if not isinstance(compat, Mapping):
        raise ArtifactRejected(f'{target}: custom.compat must be a mapping')
    return ArtifactInfo(kind, version, release, tuple(hardware), dict(compat))


def compat_problem(info: ArtifactInfo, robot: RobotProfile) -> str | None:
    """Return why the artifact does not fit the robot's stack, or None."""
    if ANY_HARDWARE not in info.hardware and robot.hardware not in info.hardware:
        return f'built for hardware {list(info.hardware)}, this robot is {robot.hardware!r}'
    if info.kind == 'model' and robot.model_input_size is not None:
        size = info.compat.get('input_size')
        if size is None or [int(v) for v in size] != list(robot.model_input_size):
            return (f'model input size {size} does not match the expected '
                    f'{list(robot.model_input_size)}')
    if info.kind == 'map':
        frame = info.compat.get('map_frame')
        if frame != robot.map_frame:
            return f'map frame {frame!r} is not {robot.map_frame!r}'
    return None


def decide(info: ArtifactInfo, sha256: str, installed_release: int | None,
           installed_sha256: str | None, robot: RobotProfile, kind: str) -> Verdict:
    """Decide whether a verified candidate should be installed on this robot."""
    if info.kind != kind:
        return Verdict(Decision.REFUSE, f'kind {info.kind!r}, the channel expects {kind!r}')
    problem = compat_problem(info, robot)
    if problem is not None:
        return Verdict(Decision.REFUSE, problem)
    if installed_sha256 == sha256:
        return Verdict(Decision.CURRENT)
    if installed_release is not None and info.release < installed_release:
        return Verdict(Decision.REFUSE, f'release {info.release} is lower than the installed '
                                        f'{installed_release} (downgrade)')
    if installed_release is not None and info.release == installed_release:
        return Verdict(Decision.REFUSE, f'release {info.release} equals the installed one '
                                        'with different bytes (release not bumped)')
    return Verdict(Decision.INSTALL)
