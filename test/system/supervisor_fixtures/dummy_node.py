"""Test fixture: a process without ROS that sleeps, exits on cue, or ignores SIGINT.

Options (before --ros-args, which it ignores): --exit-after S, --code N, --spawn-child,
--ignore-sigint. Exits 0 on SIGINT/SIGTERM unless told to ignore SIGINT.
"""

import argparse
import signal
import subprocess
import sys
import threading


def parse(argv: list[str]) -> argparse.Namespace:
    own = argv[:argv.index('--ros-args')] if '--ros-args' in argv else argv
    parser = argparse.ArgumentParser()
    parser.add_argument('--exit-after', type=float, default=None)
    parser.add_argument('--code', type=int, default=0)
    parser.add_argument('--spawn-child', action='store_true')
    parser.add_argument('--ignore-sigint', action='store_true')
    return parser.parse_args(own)


def main() -> int:
    args = parse(sys.argv[1:])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.spawn_child:
        child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
        print(f'child {child.pid}', flush=True)
    print('dummy up', flush=True)
    if stop.wait(args.exit_after):
        return 0
    return args.code


if __name__ == '__main__':
    sys.exit(main())
