"""The robot side of TUF: python-tuf's ngclient Updater over the resumable fetcher.

All signature, version, expiry, rollback and hash checks are python-tuf's. This wrapper only
turns its exceptions into explicit results (offline / refused) and tells, without network,
whether the newest trusted metadata has expired (the robot then reports `stale`).
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import TargetFile
from tuf.ngclient import Updater

from robo_edge.exceptions import SyncError
from robo_edge.sync.fetcher import ResumableFetcher


class Outcome(Enum):
    """How a refresh or a download ended."""

    OK = 'ok'
    OFFLINE = 'offline'  # network absent, hung or garbled transport: retry later
    REFUSED = 'refused'  # metadata or bytes failed verification: an attack or a broken server


@dataclass(frozen=True)
class Result:
    """An outcome, why, and (for downloads) where the verified file is."""

    outcome: Outcome
    reason: str = ''
    path: Path | None = None


def provision(metadata_dir: Path, root_json: bytes) -> None:
    """Install the trust anchor (a root.json obtained out of band) on a new robot."""
    metadata_dir.mkdir(parents=True, exist_ok=True)
    if not (metadata_dir / 'root.json').exists():
        (metadata_dir / 'root.json').write_bytes(root_json)


def _classify(error: Exception) -> Result:
    if isinstance(error, tuf_errors.RepositoryError):
        return Result(Outcome.REFUSED, f'{type(error).__name__}: {error}'[:300])
    return Result(Outcome.OFFLINE, f'{type(error).__name__}: {error}'[:300])


class SyncClient:
    """Verified access to a TUF repository over HTTP(S)."""

    def __init__(self, metadata_dir: Path, base_url: str, cache_dir: Path,
                 fetcher: ResumableFetcher) -> None:
        self.metadata_dir = Path(metadata_dir)
        self.base_url = base_url.rstrip('/')
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.fetcher = fetcher
        if not (self.metadata_dir / 'root.json').is_file():
            raise SyncError(f'{self.metadata_dir}: no trusted root.json (provision the robot)')
        self._updater: Updater | None = None

    def refresh(self) -> Result:
        """Fetch and verify the newest top-level metadata (a new Updater each time)."""
        try:
            updater = Updater(str(self.metadata_dir), f'{self.base_url}/metadata/',
                              str(self.cache_dir), f'{self.base_url}/targets/',
                              fetcher=self.fetcher, bootstrap=None)
            updater.refresh()
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as e:
            self._updater = None
            return _classify(e)
        except (OSError, ValueError) as e:
            self._updater = None
            return Result(Outcome.OFFLINE, f'{type(e).__name__}: {e}'[:300])
        self._updater = updater
        return Result(Outcome.OK)

    def target(self, path: str) -> TargetFile | None:
        """Return the verified description of a target after a successful refresh."""
        if self._updater is None:
            raise SyncError('refresh() must succeed before targets are looked up')
        return self._updater.get_targetinfo(path)

    def download(self, target: TargetFile) -> Result:
        """Download (resuming) and verify one target into the cache."""
        if self._updater is None:
            raise SyncError('refresh() must succeed before a download')
        dest = self.cache_dir / f'{target.hashes["sha256"]}.download'
        try:
            self._updater.download_target(target, str(dest))
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as e:
            dest.unlink(missing_ok=True)
            return _classify(e)
        except (OSError, ValueError) as e:
            dest.unlink(missing_ok=True)
            return Result(Outcome.OFFLINE, f'{type(e).__name__}: {e}'[:300])
        return Result(Outcome.OK, path=dest)

    def expires(self) -> datetime | None:
        """Return when the newest persisted (verified) metadata expires, without network."""
        earliest = None
        for role in ('timestamp', 'snapshot', 'targets'):
            try:
                doc = json.loads((self.metadata_dir / f'{role}.json').read_bytes())
                when = datetime.strptime(doc['signed']['expires'], '%Y-%m-%dT%H:%M:%SZ')
            except (OSError, ValueError, KeyError):
                continue
            when = when.replace(tzinfo=UTC)
            earliest = when if earliest is None or when < earliest else earliest
        return earliest

    def stale(self, now: datetime) -> bool:
        """Return whether the verified metadata has expired (or none was ever fetched)."""
        expires = self.expires()
        return expires is None or now >= expires
