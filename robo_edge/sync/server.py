"""`robo-edge cloud serve`: the repository over HTTP with Range, and authenticated uploads.

GET/HEAD serve only `metadata/` and `targets/` of the repository (no listings, no other
folder: a robot can read the repository and nothing else). `Range: bytes=a-` or `a-b` gives
206 (one range). POST `/upload/<area>/<name>` stores the body under `uploads/<area>/` only
when `UploadVerifier` accepts it; every refusal is logged (and answered 403).
"""

import logging
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from robo_edge.sync.fsutil import atomic_write
from robo_edge.sync.identity import UploadVerifier

SERVED = ('metadata', 'targets')
MAX_UPLOAD = 64 << 20
CHUNK = 64 << 10
RANGE = re.compile(r'^bytes=(\d+)-(\d*)$')
LOG = logging.getLogger('robo_edge.sync.server')


class RepoHandler(BaseHTTPRequestHandler):
    """Serves one repository folder; `server.repo_dir` and `server.verifier` configure it."""

    protocol_version = 'HTTP/1.1'
    timeout = 30.0  # a client silent this long (slow upload, idle keep-alive) is dropped
    server: 'RepoServer'

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Route access logs to logging (quiet by default)."""
        LOG.debug('%s %s', self.address_string(), format % args)

    def _file(self) -> Path | None:
        parts = self.path.split('?', 1)[0].lstrip('/').split('/')
        if len(parts) < 2 or parts[0] not in SERVED or any(p in ('', '.', '..') for p in parts):
            return None
        path = self.server.repo_dir.joinpath(*parts)
        return path if path.is_file() else None

    def _error(self, code: int, reason: str = '') -> None:
        body = reason.encode()
        self.send_response(code)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        """Answer like GET, without the body."""
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        """Serve a repository file, whole or one byte range."""
        path = self._file()
        if path is None:
            self._error(404)
            return
        size = path.stat().st_size
        start, end = 0, size - 1
        wanted = self.headers.get('Range')
        if wanted:
            match = RANGE.match(wanted.strip())
            if match is None or int(match.group(1)) >= size:
                self.send_response(416)
                self.send_header('Content-Range', f'bytes */{size}')
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        self.send_response(206 if wanted else 200)
        if wanted:
            self.send_header('Content-Range', f'bytes {start}-{end}/{size}')
        self.send_header('Accept-Ranges', 'bytes')
        self.send_header('Content-Length', str(end - start + 1))
        self.send_header('Content-Type', 'application/octet-stream')
        self.end_headers()
        if self.command != 'HEAD':
            self.send_body(path, start, end)

    def send_body(self, path: Path, start: int, end: int) -> None:
        """Write bytes start..end of the file (a hook for fault-injecting subclasses)."""
        with open(path, 'rb') as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = f.read(min(CHUNK, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)

    def do_POST(self) -> None:  # noqa: N802
        """Accept a signed upload into the sender's own area."""
        parts = self.path.split('?', 1)[0].lstrip('/').split('/')
        length = int(self.headers.get('Content-Length', '0') or 0)
        if len(parts) != 3 or parts[0] != 'upload' or self.server.verifier is None:
            self._error(404)
            return
        if not 0 <= length <= MAX_UPLOAD:
            self._error(413, 'too large')
            return
        body = self.rfile.read(length)
        verdict = self.server.verifier.verify(parts[1], parts[2], self.headers, body)
        if not verdict.accepted:
            LOG.warning('upload refused from %s: %s', self.address_string(), verdict.reason)
            self.server.refusals.append(verdict.reason)
            self._error(403, verdict.reason)
            return
        area = self.server.repo_dir / 'uploads' / parts[1]
        area.mkdir(parents=True, exist_ok=True)
        counter = self.headers.get('X-Robot-Counter', '0')
        atomic_write(area / f'{int(counter):020d}-{parts[2]}', body)
        LOG.info('upload accepted: %s', verdict.reason)
        self.server.accepted.append(verdict.reason)
        self._error(201, 'stored')


class RepoServer(ThreadingHTTPServer):
    """A threading HTTP server over one repository folder."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], repo_dir: Path,
                 verifier: UploadVerifier | None = None,
                 handler: type[RepoHandler] = RepoHandler) -> None:
        super().__init__(address, handler)
        self.repo_dir = Path(repo_dir).resolve()
        self.verifier = verifier
        self.accepted: list[str] = []
        self.refusals: list[str] = []

    def handle_error(self, request: object, client_address: tuple) -> None:
        """Log a dropped connection (a robot losing its link is routine) without a trace."""
        LOG.debug('connection from %s ended with an error', client_address)

    @property
    def url(self) -> str:
        """Return the base URL."""
        host, port = self.server_address[:2]
        return f'http://{host}:{port}'


def start_in_thread(server: RepoServer) -> threading.Thread:
    """Serve in a daemon thread (tests, benches, the demo); stop with server.shutdown()."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name='repo-server',
                              daemon=True)
    thread.start()
    return thread


def serve(repo_dir: Path, host: str, port: int) -> int:
    """Serve a repository until interrupted (`robo-edge cloud serve`)."""
    repo_dir = Path(repo_dir)
    verifier = UploadVerifier(repo_dir / 'robots', repo_dir / 'upload_state.sqlite')
    server = RepoServer((host, port), repo_dir, verifier)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    LOG.info('serving %s on %s (pid %d)', repo_dir, server.url, os.getpid())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        verifier.close()
    return 0
