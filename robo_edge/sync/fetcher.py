"""A python-tuf fetcher that resumes target downloads (HTTP Range) and holds a bandwidth cap.

python-tuf's `Updater.download_target` asks the fetcher for `download_file(url, max_length)`
and verifies length and hashes of what it yields. This fetcher keeps the bytes of an
interrupted target download in `partial_dir` (keyed by URL: with consistent snapshots a
target URL carries its hash, so its bytes never change) and asks only for the rest next time.
If the verification fails the partial file is deleted, so garbage is never resumed.
Metadata (`download_bytes`) is small and mutable under one URL: always fetched whole.
Over HTTPS, `tls` names the fleet CA (the only anchor trusted) and the robot's client
certificate; plain HTTP (the embedded `robo-edge cloud serve`) needs none.
"""

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import urllib3
from tuf.api import exceptions
from tuf.ngclient.fetcher import FetcherInterface

from robo_edge.sync.tls import TlsConfig

Progress = Callable[[str, int, int], None]  # url, bytes held, total


class TokenBucket:
    """Bytes allowed per second with a small burst; time is passed in (seconds)."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self._tokens = float(burst)
        self._last = now

    def wait(self, nbytes: int, now: float) -> float:
        """Take `nbytes`; return how long to wait before sending them (0 if allowed now)."""
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= nbytes
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


@dataclass
class FetchStats:
    """Counters of what crossed the link."""

    bytes_received: int = 0
    requests: int = 0
    resumed: int = 0


class ResumableFetcher(FetcherInterface):
    """urllib3 fetcher with Range resume of targets, a rate cap, timeouts, progress and mTLS."""

    def __init__(self, partial_dir: Path, rate_bytes_per_s: float = 0.0,
                 timeout_s: float = 10.0, chunk_size: int = 16384,
                 progress: Progress | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 tls: TlsConfig | None = None) -> None:
        self.partial_dir = Path(partial_dir)
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        self.timeout_s = timeout_s
        self.chunk_size = chunk_size
        self.progress = progress
        self.stats = FetchStats()
        self.last_progress: tuple[str, int, int] | None = None  # url, bytes held, total
        self._sleep, self._clock = sleep, clock
        self._bucket: TokenBucket | None = None
        self.set_rate(rate_bytes_per_s)
        ssl = {} if tls is None else {'ssl_context': tls.context()}
        self._http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(
            connect=timeout_s, read=timeout_s), **ssl)

    def set_rate(self, rate_bytes_per_s: float) -> None:
        """Change the cap (0: unlimited); the burst is a tenth of a second of bytes."""
        rate = float(rate_bytes_per_s)
        self._bucket = TokenBucket(rate, max(rate / 10, self.chunk_size), self._clock()) \
            if rate > 0 else None

    # -- HTTP -----------------------------------------------------------------------------
    def _request(self, url: str, offset: int = 0) -> urllib3.BaseHTTPResponse:
        headers = {'Range': f'bytes={offset}-'} if offset else {}
        self.stats.requests += 1
        try:
            response = self._http.request('GET', url, headers=headers, preload_content=False)
        except urllib3.exceptions.TimeoutError as e:
            raise exceptions.SlowRetrievalError(f'{url}: no answer in {self.timeout_s} s') from e
        except urllib3.exceptions.HTTPError as e:
            raise exceptions.DownloadError(f'{url}: {e}') from e
        if response.status >= 400 and response.status != 416:
            response.release_conn()
            raise exceptions.DownloadHTTPError(f'{url}: HTTP {response.status}',
                                               response.status)
        return response

    def _stream(self, response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
        try:
            # read1 hands over whatever arrived, so bytes before a cut are kept for resume
            # (stream(n) would hold them back until n arrive and lose them on a cut).
            while chunk := response.read1(self.chunk_size):
                self.stats.bytes_received += len(chunk)
                if self._bucket is not None:
                    delay = self._bucket.wait(len(chunk), self._clock())
                    if delay > 0:
                        self._sleep(delay)
                yield chunk
        except urllib3.exceptions.TimeoutError as e:
            raise exceptions.SlowRetrievalError('the server stopped sending') from e
        except urllib3.exceptions.HTTPError as e:
            raise exceptions.DownloadError(f'connection lost: {e}') from e
        finally:
            response.release_conn()

    def _fetch(self, url: str) -> Iterator[bytes]:
        return self._stream(self._request(url))

    def download_bytes(self, url: str, max_length: int) -> bytes:
        """Fetch metadata whole (never resumed: its URL is reused for new versions)."""
        data = bytearray()
        for chunk in self.fetch(url):
            data += chunk
            if len(data) > max_length:
                raise exceptions.DownloadLengthMismatchError(
                    f'{url}: more than the allowed {max_length} bytes')
        return bytes(data)

    # -- resumable targets ----------------------------------------------------------------
    def partial_path(self, url: str) -> Path:
        """Return where the bytes of an unfinished download of `url` are kept."""
        return self.partial_dir / (hashlib.sha256(url.encode()).hexdigest()[:32] + '.part')

    @contextmanager
    def download_file(self, url: str, max_length: int) -> Iterator[IO]:
        """Download (or finish downloading) a target; delete its partial once consumed."""
        partial = self.partial_path(url)
        held = partial.stat().st_size if partial.exists() else 0
        if held > max_length:
            partial.unlink()
            held = 0
        if held < max_length:
            self._continue(url, partial, held, max_length)
        try:
            with open(partial, 'rb') as f:
                yield f
        finally:
            # Consumed (copied out by the Updater) or failed verification: never resume it.
            partial.unlink(missing_ok=True)

    def _continue(self, url: str, partial: Path, held: int, max_length: int) -> None:
        response = self._request(url, held)
        if response.status == 416 or (held and response.status != 206):
            held = 0  # the server ignored or refused the range: start over
            response.release_conn()
            response = self._request(url)
        if held:
            self.stats.resumed += 1
        with open(partial, 'ab' if held else 'wb') as f:
            for chunk in self._stream(response):
                held += len(chunk)
                if held > max_length:
                    f.close()
                    partial.unlink(missing_ok=True)
                    raise exceptions.DownloadLengthMismatchError(
                        f'{url}: more than the allowed {max_length} bytes')
                f.write(chunk)
                self.last_progress = (url, held, max_length)
                if self.progress is not None:
                    self.progress(url, held, max_length)
            f.flush()
            os.fsync(f.fileno())
