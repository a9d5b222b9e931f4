"""Domain errors of robo_edge, in one place so callers can catch them precisely."""


class RoboEdgeError(Exception):
    """Base of every error robo_edge raises on purpose."""


class ConfigError(RoboEdgeError):
    """A configuration file is malformed: the message names the file, key and expectation."""

    def __init__(self, source: str, key: str, expected: str, found: object = None) -> None:
        self.source = source
        self.key = key
        self.expected = expected
        self.found = found
        detail = f'{source}: key "{key}": expected {expected}'
        if found is not None:
            detail += f', found {found!r}'
        super().__init__(detail)


class WorldError(ConfigError):
    """A world description is malformed."""


class ScenarioError(ConfigError):
    """A scenario description is malformed."""


class BringupError(ConfigError):
    """A bringup (supervisor) file is malformed."""


class LockstepTimeout(RoboEdgeError):
    """The stack did not answer a lockstep control period in time: the run is invalid."""


class ResourceNotFound(RoboEdgeError):
    """An installed share file (world, robot, profile) could not be found."""


class MapError(ConfigError):
    """A static map (nav2 map_server YAML + image) is malformed or unreadable."""


class GridError(RoboEdgeError, ValueError):
    """An occupancy grid's size, shape or cell values are inconsistent."""


class ModelError(RoboEdgeError):
    """A perception model file is missing, unreadable, or breaks the model-file contract."""


class SyncError(RoboEdgeError):
    """Cloud sync cannot do what was asked: a repository, store or key problem."""


class ArtifactRejected(SyncError):
    """An artifact failed verification or policy: it is never activated."""


class FleetError(SyncError):
    """The fleet back end cannot do what was asked: a CA, certificate or server problem."""
