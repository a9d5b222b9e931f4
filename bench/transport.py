"""Transport benchmark: camera-sized images from one process to another over Fast DDS.

Publishes 640x480 rgb8 sensor_msgs/Image at 30 Hz for --duration seconds from a publisher
process to a subscriber process, once with Fast DDS defaults (no profile) and once with the
shipped profile (config/fastdds_shm.xml), each with reliable and best-effort QoS. The header
stamp is the publish wall time (time.time_ns, CLOCK_REALTIME in both processes), so the latency
covers Python-side conversion, serialisation, transport and delivery to the callback.

Run: python bench/transport.py [--duration 30]; writes bench/results/transport.json.
"""

import argparse
import array
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import _provenance as provenance  # noqa: E402
from _children import interrupt, line_reader, stop_flag, wait_for  # noqa: E402

TOPIC = '/bench/image'
READY, WARM, GO = 'READY', 'WARM', 'GO'
START_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Variant:
    """One configuration measured: profile on or off, and the reliability QoS."""

    profile: bool
    reliability: str

    @property
    def label(self) -> str:
        """Return the name of the variant in the table, e.g. shipped/reliable."""
        return f'{"shipped" if self.profile else "default"}/{self.reliability}'


VARIANTS = tuple(
    Variant(profile, reliability)
    for profile in (False, True)
    for reliability in ('reliable', 'best_effort')
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (the --role options are used by the child processes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--duration', type=float, default=30.0, help='seconds per variant')
    parser.add_argument('--rate', type=float, default=30.0, help='images per second')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--depth', type=int, default=1, help='KEEP_LAST depth of both ends')
    parser.add_argument('--domain-id', type=int, default=int(os.environ.get('ROS_DOMAIN_ID', 0)))
    parser.add_argument('--profile', type=Path, default=None,
                        help='Fast DDS profile of the "shipped" variants (default: installed one)')
    parser.add_argument('--only', default='', help='comma-separated variant labels to run')
    parser.add_argument('--output', type=Path, default=HERE / 'results' / 'transport.json')
    parser.add_argument('--role', choices=('pub', 'sub'), help=argparse.SUPPRESS)
    parser.add_argument('--reliability', default='reliable', help=argparse.SUPPRESS)
    parser.add_argument('--count', type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument('--result-file', type=Path, help=argparse.SUPPRESS)
    provenance.add_arguments(parser)
    return parser.parse_args(argv)


# ---------------------------------------------------------------- child processes


def _qos(reliability: str, depth: int) -> Any:
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    kind = (ReliabilityPolicy.RELIABLE if reliability == 'reliable'
            else ReliabilityPolicy.BEST_EFFORT)
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=kind)


def _make_image(args: argparse.Namespace) -> Any:
    from sensor_msgs.msg import Image

    msg = Image(height=args.height, width=args.width, encoding='rgb8', is_bigendian=0)
    msg.step = args.width * 3
    msg.data = array.array('B', os.urandom(msg.step * args.height))
    return msg


def _stamp(msg: Any, frame_id: str) -> None:
    now = time.time_ns()
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(now, 1_000_000_000)
    msg.header.frame_id = frame_id


def run_publisher(args: argparse.Namespace) -> int:
    """Publish warm-up frames until the orchestrator says GO, then `count` measured frames."""
    import rclpy
    from sensor_msgs.msg import Image

    stop = stop_flag()
    go = threading.Event()
    threading.Thread(target=lambda: sys.stdin.readline() and go.set(), daemon=True).start()
    rclpy.init(signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    node = rclpy.create_node('bench_image_pub')
    pub = node.create_publisher(Image, TOPIC, _qos(args.reliability, args.depth))
    msg = _make_image(args)
    period = 1.0 / args.rate
    sent = 0
    deadline = time.monotonic() + START_TIMEOUT_S
    while not go.is_set() and not stop.is_set() and time.monotonic() < deadline:
        _stamp(msg, 'warmup')
        pub.publish(msg)
        go.wait(period)
    next_t = time.monotonic()
    while go.is_set() and sent < args.count and not stop.is_set():
        _stamp(msg, str(sent))
        pub.publish(msg)
        sent += 1
        next_t += period
        delay = next_t - time.monotonic()
        if delay > 0:
            stop.wait(delay)
    print(f'SENT {sent}', flush=True)
    # Give a reliable writer the chance to repair the last frame before the reader goes away.
    time.sleep(0.5)
    node.destroy_node()
    rclpy.shutdown()
    return 0


def run_subscriber(args: argparse.Namespace) -> int:
    """Receive frames, record (sequence, latency) and write them to --result-file."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image

    stop = stop_flag()
    rclpy.init(signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    node = rclpy.create_node('bench_image_sub')
    latencies: list[int] = []
    seqs: list[int] = []
    warm = threading.Event()

    def on_image(msg: Image) -> None:
        now = time.time_ns()
        if msg.header.frame_id == 'warmup':
            if not warm.is_set():
                warm.set()
                print(WARM, flush=True)
            return
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        latencies.append(now - stamp)
        seqs.append(int(msg.header.frame_id))
        if seqs[-1] == args.count - 1:
            stop.set()

    node.create_subscription(Image, TOPIC, on_image, _qos(args.reliability, args.depth))
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    print(READY, flush=True)
    while not stop.is_set():
        executor.spin_once(timeout_sec=0.05)
    executor.remove_node(node)
    node.destroy_node()
    rclpy.shutdown()
    args.result_file.write_text(json.dumps({'latency_ns': latencies, 'seq': seqs}))
    return 0


# ---------------------------------------------------------------- orchestration


def variant_env(variant: Variant, args: argparse.Namespace) -> dict[str, str]:
    """Return the environment of both processes of a variant."""
    from robo_edge.supervisor.transport import (
        LEGACY_PROFILE_ENV,
        PROFILE_ENV,
        dds_environment,
    )

    env = dict(os.environ)
    env.pop(PROFILE_ENV, None)
    env.pop(LEGACY_PROFILE_ENV, None)
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    env['ROS_DOMAIN_ID'] = str(args.domain_id)
    env['PYTHONUNBUFFERED'] = '1'
    if variant.profile:
        env.update(dds_environment(args.profile, args.domain_id))
    return env


def _child(role: str, variant: Variant, args: argparse.Namespace, count: int,
           result: Path, env: dict[str, str]) -> subprocess.Popen:
    argv = [sys.executable, str(Path(__file__).resolve()), '--role', role,
            '--reliability', variant.reliability, '--count', str(count),
            '--rate', str(args.rate), '--width', str(args.width), '--height', str(args.height),
            '--depth', str(args.depth), '--result-file', str(result)]
    return subprocess.Popen(argv, env=env, text=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=None)


def _finish(proc: subprocess.Popen, timeout_s: float) -> None:
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        interrupt(proc, 5.0)


def run_variant(variant: Variant, args: argparse.Namespace) -> dict[str, Any]:
    """Run one publisher/subscriber pair and return its measured figures."""
    count = int(round(args.duration * args.rate))
    env = variant_env(variant, args)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix='bench_transport_') as tmp:
        result = Path(tmp) / 'sub.json'
        sub = _child('sub', variant, args, count, result, env)
        sub_lines = line_reader(sub.stdout)
        pub = None
        try:
            wait_for(sub_lines, READY, START_TIMEOUT_S)
            pub = _child('pub', variant, args, count, result, env)
            pub_lines = line_reader(pub.stdout)
            wait_for(sub_lines, WARM, START_TIMEOUT_S)
            pub.stdin.write(GO + '\n')
            pub.stdin.flush()
            sent_line = wait_for(pub_lines, 'SENT', args.duration * 2 + START_TIMEOUT_S)[-1]
            sent = int(sent_line.split()[1])
            _finish(sub, DRAIN_TIMEOUT_S)
            _finish(pub, DRAIN_TIMEOUT_S)
        finally:
            for proc in (sub, pub):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=5.0)
        data = json.loads(result.read_text())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    row = summarise(variant, env, sent, data['latency_ns'], data['seq'])
    # CPU of both processes over the whole variant, start-up included.
    row['cpu_s'] = round(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime, 2)
    return row


def summarise(variant: Variant, env: dict[str, str], sent: int, latency_ns: list[int],
              seqs: list[int]) -> dict[str, Any]:
    """Return latency percentiles, received and loss figures of one variant."""
    import numpy as np

    lat_ms = np.asarray(latency_ns, dtype=np.float64) / 1e6
    unique = len(set(seqs))
    lost = max(0, sent - unique)
    pct = (lambda q: float(np.percentile(lat_ms, q))) if lat_ms.size else (lambda q: None)
    return {
        'variant': variant.label,
        'profile': env.get('FASTDDS_DEFAULT_PROFILES_FILE'),
        'reliability': variant.reliability,
        'sent': sent,
        'received': unique,
        'duplicates': len(seqs) - unique,
        'lost': lost,
        'loss_percent': 100.0 * lost / sent if sent else None,
        'latency_ms': {
            'p50': pct(50), 'p90': pct(90), 'p99': pct(99),
            'max': float(lat_ms.max()) if lat_ms.size else None,
            'mean': float(lat_ms.mean()) if lat_ms.size else None,
        },
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    """Return the results side by side as a text table."""
    def ms(value: float | None) -> str:
        return '-' if value is None else f'{value:.2f}'

    head = (f'{"variant":<22} {"p50 ms":>8} {"p99 ms":>8} {"max ms":>8} '
            f'{"sent":>6} {"recv":>6} {"lost":>5} {"loss %":>7} {"cpu s":>6}')
    lines = [head, '-' * len(head)]
    for row in rows:
        lat = row['latency_ms']
        lines.append(
            f'{row["variant"]:<22} {ms(lat["p50"]):>8} {ms(lat["p99"]):>8} {ms(lat["max"]):>8} '
            f'{row["sent"]:>6} {row["received"]:>6} {row["lost"]:>5} '
            f'{ms(row["loss_percent"]):>7} {row.get("cpu_s", 0.0):>6.1f}'
        )
    return '\n'.join(lines)


def orchestrate(args: argparse.Namespace, block: dict[str, Any]) -> int:
    """Run every variant in turn, print the table and write the JSON report."""
    wanted = {label for label in args.only.split(',') if label}
    variants = [v for v in VARIANTS if not wanted or v.label in wanted]
    rows = []
    for variant in variants:
        print(f'running {variant.label} for {args.duration:.0f} s ...', flush=True)
        rows.append(run_variant(variant, args))
    print(format_table(rows))
    report = {
        'benchmark': 'transport',
        **block,
        'settings': {
            'duration_s': args.duration, 'rate_hz': args.rate, 'width': args.width,
            'height': args.height, 'encoding': 'rgb8', 'depth': args.depth,
            'domain_id': args.domain_id, 'topic': TOPIC,
            'image_bytes': args.width * args.height * 3,
        },
        'results': rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + '\n')
    print(f'wrote {args.output}')
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: orchestrate, or act as one of the two child processes."""
    args = parse_args(argv)
    if args.role == 'pub':
        return run_publisher(args)
    if args.role == 'sub':
        return run_subscriber(args)
    return orchestrate(args, provenance.check(args, argv, __file__))


if __name__ == '__main__':
    sys.exit(main())
