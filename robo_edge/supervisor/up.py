"""`robo-edge up CONFIG.yaml`: run a bringup until SIGINT/SIGTERM, then stop it cleanly."""

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from robo_edge.exceptions import ConfigError, ResourceNotFound
from robo_edge.supervisor.bringup import Bringup, load_bringup
from robo_edge.supervisor.supervisor import Supervisor, SupervisorResult

EXIT_OK, EXIT_UNCLEAN, EXIT_CONFIG = 0, 1, 2


def up_main(config_path: str, domain_id: int | None, log_dir: Path | None = None,
            overlay: Callable[[Bringup], Bringup] | None = None) -> int:
    """Run the bringup `config_path`; return 0 if every node stopped cleanly, 2 for a bad file.

    `overlay` rewrites the bringup before it starts (`--twin`: the twin as its hardware).
    """
    out, err = sys.stdout, sys.stderr
    try:
        bringup = load_bringup(config_path)
        if overlay is not None:
            bringup = overlay(bringup)
    except ConfigError as e:  # a BringupError too
        print(f'robo-edge up: invalid bringup file: {e}', file=err)
        return EXIT_CONFIG
    try:
        supervisor = Supervisor(bringup, domain_id=domain_id, log_dir=log_dir)
    except ResourceNotFound as e:
        print(f'robo-edge up: {e}', file=err)
        return EXIT_UNCLEAN
    stop = threading.Event()
    domain = 'inherited' if domain_id is None else str(domain_id)
    print(f'robo-edge up: {bringup.name}: {len(bringup.nodes)} nodes, domain {domain}; '
          'Ctrl-C stops', file=out, flush=True)
    with _stop_on_signals(stop), _diagnostics(supervisor, domain_id, err), \
            _reconciling(bringup, supervisor, domain_id, err):
        result = supervisor.run(stop_event=stop)
    report(result, out)
    return EXIT_OK if result.clean else EXIT_UNCLEAN


def report(result: SupervisorResult, out: TextIO) -> None:
    """Print why the run ended and each node's exit code and restarts."""
    why = result.reason.value + (f' ({result.ended_by})' if result.ended_by else '')
    print(f'robo-edge up: stopped: {why}', file=out)
    for name, code in result.exit_codes.items():
        extra = ' (given up)' if name in result.given_up else ''
        print(f'  {name}: exit code {code}, restarts {result.restarts[name]}{extra}', file=out)
    print(f'robo-edge up: {"clean" if result.clean else "NOT clean"}', file=out, flush=True)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGINT/SIGTERM into `stop` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, lambda *_: stop.set())
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _diagnostics(supervisor: Supervisor, domain_id: int | None, err: TextIO) -> Iterator[None]:
    """Publish the supervisor's figures on /diagnostics; supervision goes on without them."""
    try:
        from robo_edge.supervisor.diagnostics_publisher import (  # noqa: PLC0415 - needs rclpy
            DiagnosticsPublisher,
        )

        publisher = DiagnosticsPublisher(supervisor.resource_stats, domain_id)
        publisher.start()
    except (ImportError, RuntimeError) as e:
        print(f'robo-edge up: /diagnostics disabled: {e}', file=err)
        yield
        return
    try:
        yield
    finally:
        publisher.close()


@contextlib.contextmanager
def _reconciling(bringup: Bringup, supervisor: Supervisor, domain_id: int | None,
                 err: TextIO) -> Iterator[None]:
    """Compare the running graph with the bringup and reconcile it while the block runs."""
    try:
        from robo_edge.supervisor.graph_status import (  # noqa: PLC0415 - needs rclpy
            Reconciler,
        )

        reconciler = Reconciler(bringup, supervisor.resource_stats, domain_id,
                                log=lambda line: print(line, file=err, flush=True))
        reconciler.start()
    except (ImportError, RuntimeError) as e:
        print(f'robo-edge up: reconciling disabled: {e}', file=err)
        yield
        return
    try:
        yield
    finally:
        reconciler.close()
