"""Locate installed share files (worlds, robot description, config) through the ament index."""

from pathlib import Path

from robo_edge.exceptions import ResourceNotFound

PACKAGE = 'robo_edge'


def share_dir() -> Path:
    """Return the installed share directory of robo_edge."""
    from ament_index_python.packages import (  # noqa: PLC0415 - keeps cores importable without ROS
        PackageNotFoundError,
        get_package_share_directory,
    )

    try:
        return Path(get_package_share_directory(PACKAGE))
    except PackageNotFoundError as e:
        raise ResourceNotFound(
            'robo_edge is not installed in the sourced workspace: run `make build` and '
            '`source install/setup.bash`'
        ) from e


def share_file(*parts: str) -> Path:
    """Return an installed share file, with a clear error when it is missing."""
    path = share_dir().joinpath(*parts)
    if not path.exists():
        raise ResourceNotFound(f'{path} is not installed (looked for {"/".join(parts)})')
    return path


def resolve(
    path_or_name: str, subdir: str, suffix: str = '.yaml', relative_to: Path | None = None
) -> Path:
    """Return the absolute path of a user file or of an installed one.

    A relative path is tried relative to `relative_to` (the file that names it) first, then to
    the working directory; a bare name is looked up under share/robo_edge/<subdir>.
    """
    candidates = [Path(path_or_name)]
    if relative_to is not None:
        candidates.insert(0, relative_to / path_or_name)  # an absolute path stays as it is
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    name = path_or_name if path_or_name.endswith(suffix) else path_or_name + suffix
    return share_file(subdir, name)
