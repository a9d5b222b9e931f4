"""Hand out ROS domain ids that no other run on this machine holds (file locks, no races)."""

import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO

from robo_edge.exceptions import RoboEdgeError

# Domain ids 1..100 keep every participant's ports below 65535 with the default port mapping.
FIRST_DOMAIN = 1
LAST_DOMAIN = 100


class DomainLease:
    """An exclusive claim on one ROS domain id, released on close (or when the process dies)."""

    def __init__(self, domain_id: int, handle: IO[str]) -> None:
        self.domain_id = domain_id
        self._handle = handle

    def close(self) -> None:
        """Release the domain id."""
        if not self._handle.closed:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()

    def __enter__(self) -> 'DomainLease':
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def lock_dir() -> Path:
    """Return the machine-wide directory of domain lock files."""
    path = Path(os.environ.get('ROBO_EDGE_DOMAIN_LOCKS', tempfile.gettempdir())) / (
        'robo_edge_domains'
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def lease_domain(avoid: set[int] | None = None) -> DomainLease:
    """Lease the first free domain id; raise when every id is taken."""
    avoid = avoid or set()
    for domain_id in range(FIRST_DOMAIN, LAST_DOMAIN + 1):
        if domain_id in avoid:
            continue
        handle = open(lock_dir() / f'{domain_id}.lock', 'w')  # noqa: SIM115 - held by the lease
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return DomainLease(domain_id, handle)
    raise RoboEdgeError(f'no free ROS domain id in {FIRST_DOMAIN}..{LAST_DOMAIN}')
