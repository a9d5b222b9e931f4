"""The resumable, rate-capped fetcher and the server's Range support."""

import hashlib
import os
import socket
from pathlib import Path

import pytest
import urllib3
from hypothesis import given
from hypothesis import strategies as st
from tuf.api import exceptions

from robo_edge.sync.fetcher import ResumableFetcher, TokenBucket
from robo_edge.sync.server import RepoHandler, RepoServer, start_in_thread


@pytest.fixture
def repo(tmp_path):
    (tmp_path / 'targets').mkdir()
    (tmp_path / 'metadata').mkdir()
    (tmp_path / 'secret.pem').write_text('private')
    data = os.urandom(300_000)
    (tmp_path / 'targets' / 'blob.bin').write_bytes(data)
    return tmp_path, data


def serve(root: Path, handler=RepoHandler) -> RepoServer:
    server = RepoServer(('127.0.0.1', 0), root, None, handler)
    start_in_thread(server)
    return server


@pytest.fixture
def server(repo):
    server = serve(repo[0])
    yield server
    server.shutdown()
    server.server_close()


def get(url: str, headers: dict | None = None) -> urllib3.BaseHTTPResponse:
    return urllib3.request('GET', url, headers=headers or {}, retries=False)


def test_range_requests(server, repo):
    _, data = repo
    whole = get(f'{server.url}/targets/blob.bin')
    assert whole.status == 200 and whole.data == data
    assert whole.headers['Accept-Ranges'] == 'bytes'
    part = get(f'{server.url}/targets/blob.bin', {'Range': 'bytes=1000-1999'})
    assert part.status == 206 and part.data == data[1000:2000]
    assert part.headers['Content-Range'] == f'bytes 1000-1999/{len(data)}'
    tail = get(f'{server.url}/targets/blob.bin', {'Range': 'bytes=299990-'})
    assert tail.data == data[-10:]
    assert get(f'{server.url}/targets/blob.bin', {'Range': 'bytes=400000-'}).status == 416


@pytest.mark.parametrize('path', ['/secret.pem', '/targets/../secret.pem', '/uploads/x/y',
                                  '/robots/r1.pub', '/', '/targets/', '/metadata'])
def test_only_the_repository_is_readable(server, path):
    assert get(server.url + path).status == 404


def test_resume_after_cut_fetches_only_the_rest(tmp_path, repo):
    root, data = repo

    class Cut(RepoHandler):
        def send_body(self, path, start, end):
            if start == 0:
                super().send_body(path, 0, len(data) // 2 - 1)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                super().send_body(path, start, end)

    server = serve(root, Cut)
    try:
        fetcher = ResumableFetcher(tmp_path / 'partial', chunk_size=4096)
        url = f'{server.url}/targets/blob.bin'
        with pytest.raises(exceptions.DownloadError), fetcher.download_file(url, len(data)):
            pass
        held = fetcher.partial_path(url).stat().st_size
        assert held == len(data) // 2
        with fetcher.download_file(url, len(data)) as f:
            assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
        assert fetcher.stats.bytes_received == len(data)  # nothing fetched twice
        assert fetcher.stats.resumed == 1
        assert not fetcher.partial_path(url).exists()
    finally:
        server.shutdown()
        server.server_close()


def test_partial_deleted_when_verification_fails(tmp_path, server, repo):
    fetcher = ResumableFetcher(tmp_path / 'partial')
    url = f'{server.url}/targets/blob.bin'
    with pytest.raises(ValueError), fetcher.download_file(url, len(repo[1])):
        raise ValueError('hash mismatch')
    assert not fetcher.partial_path(url).exists()


def test_longer_than_allowed_is_refused(tmp_path, server):
    fetcher = ResumableFetcher(tmp_path / 'partial')
    with pytest.raises(exceptions.DownloadLengthMismatchError), \
            fetcher.download_file(f'{server.url}/targets/blob.bin', 1000):
        pass


def test_missing_file_is_http_error(tmp_path, server):
    fetcher = ResumableFetcher(tmp_path / 'partial')
    with pytest.raises(exceptions.DownloadHTTPError):
        fetcher.download_bytes(f'{server.url}/metadata/nope.json', 100)


def test_rate_cap_with_a_fake_clock(tmp_path, server, repo):
    clock = {'t': 0.0}
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock['t'] += seconds

    rate = 100_000.0
    fetcher = ResumableFetcher(tmp_path / 'partial', rate_bytes_per_s=rate, chunk_size=4096,
                               sleep=sleep, clock=lambda: clock['t'])
    with fetcher.download_file(f'{server.url}/targets/blob.bin', len(repo[1])) as f:
        assert len(f.read()) == len(repo[1])
    # 300 kB at 100 kB/s with a 10 kB burst: 2.9 s of waiting, never much less.
    assert clock['t'] == pytest.approx((len(repo[1]) - rate / 10) / rate, rel=0.05)


@given(st.lists(st.integers(1, 50_000), min_size=1, max_size=200))
def test_token_bucket_never_exceeds_rate_plus_burst(sizes):
    rate, burst = 100_000.0, 10_000.0
    bucket = TokenBucket(rate, burst, 0.0)
    now, sent = 0.0, 0
    for size in sizes:
        now += bucket.wait(size, now)
        sent += size
        # Bytes released by time `now` never exceed what the rate allows plus the burst.
        assert sent <= rate * now + burst + size + 1e-6
    assert now >= (sent - burst) / rate - 1e-6
