"""Perception benchmark: inference latency, end-to-end latency across processes, scan accuracy.

  inference  onnxruntime at the model's input size, 1 and 2 intra-op threads side by side
             (interleaved rounds, so both see the same machine load), and the whole per-frame
             pipeline (pre-process, inference, post-process, virtual scan) with 1 thread.
  e2e        a publisher process sends pre-rendered twin frames + CameraInfo at 15 Hz to the
             installed `perception` executable (its own process) over the shipped Fast DDS
             profile; a listener process measures image send -> /perception/scan receipt, keyed
             by the stamp (both read CLOCK_REALTIME), and the loss. Targets: p99 <= 25 ms,
             loss <= 1 %.
  accuracy   no ROS (bench/_perception_accuracy.py): the virtual scan of the model's mask and
             of the ground-truth mask against the LiDAR, on the shipped worlds and on
             --generated evaluation worlds. Targets on the generated worlds: median <= 0.05 m,
             no world above 0.10 m.

Run: python bench/perception.py [--model PATH] [--duration 60] [--only inference,e2e,accuracy];
writes bench/results/perception.json. The model defaults to the installed
share/robo_edge/models/floor_seg.onnx.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import _provenance as provenance  # noqa: E402
from _children import interrupt, line_reader, stop_flag, wait_for  # noqa: E402
from _perception_accuracy import CONFIG, bench_accuracy, render_views, shipped  # noqa: E402
from _stats import percentiles  # noqa: E402

from robo_edge import paths  # noqa: E402
from robo_edge.perception import evaluate  # noqa: E402
from robo_edge.perception.model import ModelSession, load_model  # noqa: E402
from robo_edge.perception.preprocess import Normaliser, segment  # noqa: E402
from robo_edge.perception.virtual_scan import MountPose, column_grid, virtual_scan  # noqa: E402

READY, WARM, GO = 'READY', 'WARM', 'GO'
START_TIMEOUT_S = 60.0
STATUS_NAME = 'robo_edge/perception'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (the --role options are used by the child processes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', type=Path, default=None,
                        help='ONNX model (default: installed share/robo_edge/models/)')
    parser.add_argument('--only', default='inference,e2e,accuracy')
    parser.add_argument('--runs', type=int, default=300, help='inference runs per thread count')
    parser.add_argument('--duration', type=float, default=60.0, help='e2e seconds')
    parser.add_argument('--rate', type=float, default=15.0, help='e2e frames per second')
    parser.add_argument('--frames', type=int, default=120, help='distinct pre-rendered frames')
    parser.add_argument('--poses', type=int, default=20, help='accuracy poses per world')
    parser.add_argument('--generated', type=int, default=20,
                        help='accuracy: generated worlds (evaluation seeds) besides the shipped')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--domain-id', type=int, default=int(os.environ.get('ROS_DOMAIN_ID', 78)))
    parser.add_argument('--output', type=Path, default=HERE / 'results' / 'perception.json')
    parser.add_argument('--role', choices=('pub', 'listen'), help=argparse.SUPPRESS)
    parser.add_argument('--frames-file', type=Path, help=argparse.SUPPRESS)
    parser.add_argument('--count', type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument('--result-file', type=Path, help=argparse.SUPPRESS)
    provenance.add_arguments(parser)
    return parser.parse_args(argv)


# ---------------------------------------------------------------- rendering


# ---------------------------------------------------------------- inference


def bench_inference(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Time the onnxruntime call with 1 and 2 threads, interleaved, and the whole pipeline."""
    views = render_views(shipped('warehouse'), 8, args.seed)
    sessions = {threads: load_model(path, ['CPUExecutionProvider'], threads)
                for threads in (1, 2)}
    spec = sessions[1].spec
    normalise = Normaliser(spec.input)
    tensors = [normalise(view.image.rgb) for view in views]
    timings: dict[int, list[float]] = {1: [], 2: []}
    for session in sessions.values():
        for tensor in tensors * 3:  # warm-up
            session.run(tensor)
    rounds = 10
    for r in range(rounds):
        for threads, session in sessions.items():
            for i in range(args.runs // rounds):
                tensor = tensors[(r + i) % len(tensors)]
                start = time.perf_counter()
                session.run(tensor)
                timings[threads].append((time.perf_counter() - start) * 1e3)
    pipeline = time_pipeline(sessions[1], views, args.runs)
    return {
        'input_size': f'{spec.input.width}x{spec.input.height}',
        'providers': sessions[1].providers,
        'threads_1_ms': percentiles(timings[1]),
        'threads_2_ms': percentiles(timings[2]),
        'pipeline_threads_1_ms': pipeline,
    }


def time_pipeline(session: ModelSession, views: list[evaluate.View], runs: int) -> dict:
    """Time pre-process + inference + softmax/mask + virtual scan per frame."""
    spec = session.spec
    normalise = Normaliser(spec.input)
    geometry = evaluate.geometry_for(views[0], spec.input.width, spec.input.height, MountPose())
    grid = column_grid(geometry, CONFIG)
    timings = []
    for i in range(runs):
        rgb = views[i % len(views)].image.rgb
        start = time.perf_counter()
        seg = segment(session.run(normalise(rgb)), spec.floor_index)
        virtual_scan(seg.floor_margin, geometry, grid, CONFIG)
        timings.append((time.perf_counter() - start) * 1e3)
    return percentiles(timings)


# ---------------------------------------------------------------- e2e children


def run_publisher(args: argparse.Namespace) -> int:
    """Publish warm-up frames until GO, then `count` measured frames; write their stamps."""
    import rclpy
    from sensor_msgs.msg import CameraInfo, Image

    from robo_edge.ros.qos import SENSOR

    stop = stop_flag()
    go = threading.Event()
    threading.Thread(target=lambda: sys.stdin.readline() and go.set(), daemon=True).start()
    data = np.load(args.frames_file)
    rclpy.init(signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    node = rclpy.create_node('bench_camera_pub')
    images = node.create_publisher(Image, '/sensors/camera/image', SENSOR)
    infos = node.create_publisher(CameraInfo, '/camera/camera_info', SENSOR)
    frames = [_image_msg(rgb) for rgb in data['rgb']]
    info = _info_msg(data['k'], data['rgb'].shape[2], data['rgb'].shape[1])
    period, sent, i = 1.0 / args.rate, [], 0
    deadline = time.monotonic() + START_TIMEOUT_S
    while not go.is_set() and not stop.is_set() and time.monotonic() < deadline:
        _send(images, infos, frames[i % len(frames)], info)
        i += 1
        go.wait(period)
    next_t = time.monotonic()
    while go.is_set() and len(sent) < args.count and not stop.is_set():
        sent.append(_send(images, infos, frames[len(sent) % len(frames)], info))
        next_t += period
        stop.wait(max(0.0, next_t - time.monotonic()))
    args.result_file.write_text(json.dumps({'sent': sent}))
    print(f'SENT {len(sent)}', flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


def _image_msg(rgb: np.ndarray) -> Any:
    from sensor_msgs.msg import Image

    height, width, _ = rgb.shape
    msg = Image(height=height, width=width, encoding='rgb8', is_bigendian=0, step=width * 3)
    msg.header.frame_id = 'camera_optical_frame'
    msg.data = rgb.tobytes()
    return msg


def _info_msg(k: np.ndarray, width: int, height: int) -> Any:
    from sensor_msgs.msg import CameraInfo

    fx, fy, cx, cy = (float(v) for v in k)
    msg = CameraInfo(width=width, height=height, distortion_model='plumb_bob')
    msg.header.frame_id = 'camera_optical_frame'
    msg.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    msg.d = [0.0] * 5
    return msg


def _send(images: Any, infos: Any, image: Any, info: Any) -> int:
    """Stamp with the wall clock now and publish CameraInfo, then the image; return the stamp."""
    stamp = time.time_ns()
    for msg in (info, image):
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
    infos.publish(info)
    images.publish(image)
    return stamp


def run_listener(args: argparse.Namespace) -> int:
    """Record (stamp, receipt) of every /perception/scan and the last perception status."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import LaserScan

    stop = stop_flag()
    rclpy.init(signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    node = rclpy.create_node('bench_scan_listener')
    received: list[tuple[int, int]] = []
    status: dict[str, Any] = {}

    def on_scan(msg: LaserScan) -> None:
        now = time.time_ns()
        received.append((msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec, now))
        if len(received) == 1:
            print(WARM, flush=True)

    def on_diagnostics(msg: DiagnosticArray) -> None:
        for s in msg.status:
            if s.name == STATUS_NAME:
                status.update(level=s.level[0], message=s.message,
                              values={v.key: v.value for v in s.values})

    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=50,
                     reliability=ReliabilityPolicy.BEST_EFFORT)
    node.create_subscription(LaserScan, '/perception/scan', on_scan, qos)
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, 10)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    ready = False
    while not stop.is_set():
        executor.spin_once(timeout_sec=0.05)
        if not ready and node.count_publishers('/perception/scan') > 0:
            ready = True
            print(READY, flush=True)
    args.result_file.write_text(json.dumps({'received': received, 'status': status}))
    node.destroy_node()
    rclpy.shutdown()
    return 0


# ---------------------------------------------------------------- e2e orchestration


def e2e_env(args: argparse.Namespace) -> dict[str, str]:
    """Return the environment of the three processes: shipped profile, the bench's domain."""
    from robo_edge.supervisor.transport import dds_environment

    env = dict(os.environ)
    env.update(dds_environment(None, args.domain_id))
    env['PYTHONUNBUFFERED'] = '1'
    return env


def prerender(path: Path, count: int, seed: int) -> None:
    """Render `count` twin frames (warehouse and cluttered room) into an .npz."""
    views = (render_views(shipped('warehouse'), count // 2, seed)
             + render_views(shipped('cluttered_room'), count - count // 2, seed + 1))
    k = views[0].image.intrinsics
    np.savez(path, rgb=np.stack([v.image.rgb for v in views]),
             k=np.array([k.fx, k.fy, k.cx, k.cy]))


def bench_e2e(model: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run publisher -> perception -> listener as three processes; return latency and loss."""
    env = e2e_env(args)
    count = int(round(args.duration * args.rate))
    executable = paths.share_dir().parent.parent / 'lib' / 'robo_edge' / 'perception'
    with tempfile.TemporaryDirectory(prefix='bench_perception_') as tmp:
        tmp_path = Path(tmp)
        prerender(tmp_path / 'frames.npz', args.frames, args.seed)
        me = [sys.executable, str(Path(__file__).resolve()), '--rate', str(args.rate),
              '--frames-file', str(tmp_path / 'frames.npz')]
        procs: dict[str, subprocess.Popen] = {}
        try:
            procs['node'] = subprocess.Popen(
                [str(executable), '--ros-args', '-p', f'model_path:={model}'], env=env)
            procs['listen'] = subprocess.Popen(
                [*me, '--role', 'listen', '--result-file', str(tmp_path / 'listen.json')],
                env=env, text=True, stdout=subprocess.PIPE)
            listen_lines = line_reader(procs['listen'].stdout)
            wait_for(listen_lines, READY, START_TIMEOUT_S)
            procs['pub'] = subprocess.Popen(
                [*me, '--role', 'pub', '--count', str(count),
                 '--result-file', str(tmp_path / 'pub.json')],
                env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            pub_lines = line_reader(procs['pub'].stdout)
            wait_for(listen_lines, WARM, START_TIMEOUT_S)
            node_cpu = _cpu_seconds(procs['node'].pid)
            procs['pub'].stdin.write(GO + '\n')
            procs['pub'].stdin.flush()
            wait_for(pub_lines, 'SENT', args.duration * 2 + START_TIMEOUT_S)
            node_cpu = _cpu_seconds(procs['node'].pid) - node_cpu
            time.sleep(2.0)  # let the last scans arrive before the listener stops (bounded)
            for name in ('pub', 'listen', 'node'):
                interrupt(procs.get(name))
        finally:
            for proc in procs.values():
                interrupt(proc)
        sent = json.loads((tmp_path / 'pub.json').read_text())['sent']
        listened = json.loads((tmp_path / 'listen.json').read_text())
    return summarise_e2e(sent, listened, node_cpu, args)


def _cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds of a process so far (from /proc)."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def summarise_e2e(sent: list[int], listened: dict[str, Any], node_cpu_s: float,
                  args: argparse.Namespace) -> dict[str, Any]:
    """Return latency percentiles and loss of the measured frames."""
    receipts = {stamp: recv for stamp, recv in listened['received']}
    latency = [(receipts[s] - s) / 1e6 for s in sent if s in receipts]
    lost = len(sent) - len(latency)
    status = listened.get('status', {})
    values = status.get('values', {})
    return {
        'sent': len(sent), 'received': len(latency), 'lost': lost,
        'loss_percent': 100.0 * lost / len(sent) if sent else None,
        'latency_ms': percentiles(latency),
        'node_cpu_percent': 100.0 * node_cpu_s / args.duration,
        # CPU the node spends per processed frame (receive, segment, publish): what the
        # latency would approach on an idle core.
        'node_cpu_ms_per_frame': 1e3 * node_cpu_s / len(latency) if latency else None,
        'node_status': {'level': status.get('level'), 'message': status.get('message'),
                        **{k: values.get(k) for k in (
                            'providers_in_use', 'model_version', 'latency_p50_ms',
                            'latency_p99_ms', 'inference_p50_ms', 'inference_p99_ms',
                            'over_budget', 'skipped_stale', 'drops', 'received',
                            'inferences')}},
        'targets': {'p99_ms': 25.0, 'loss_percent': 1.0},
    }


# ---------------------------------------------------------------- main


def model_file(args: argparse.Namespace) -> Path:
    """Return the model to benchmark: --model, or the installed share model."""
    path = args.model or paths.share_file('models', 'floor_seg.onnx')
    if not Path(path).is_file():
        raise SystemExit(f'{path}: no such model (pass --model PATH)')
    return Path(path).resolve()


def orchestrate(args: argparse.Namespace, block: dict[str, Any]) -> int:
    """Run the selected sections, print them and write the JSON report."""
    model = model_file(args)
    wanted = [s for s in args.only.split(',') if s]
    probe = load_model(model, ['CPUExecutionProvider'])
    report: dict[str, Any] = {
        'benchmark': 'perception', **block,
        'model': {'path': str(model), 'version': probe.spec.version,
                  'input': f'{probe.spec.input.width}x{probe.spec.input.height}',
                  'classes': list(probe.spec.classes), 'metrics': dict(probe.spec.metrics)},
        'settings': {'runs': args.runs, 'duration_s': args.duration, 'rate_hz': args.rate,
                     'poses_per_world': args.poses, 'generated_worlds': args.generated,
                     'seed': args.seed,
                     'domain_id': args.domain_id},
    }
    sections = {'inference': bench_inference, 'accuracy': bench_accuracy, 'e2e': bench_e2e}
    for name in wanted:
        print(f'running {name} ...', flush=True)
        report[name] = sections[name](model, args)
        print(json.dumps(report[name], indent=2), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + '\n')
    print(f'wrote {args.output}')
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: orchestrate, or act as one of the e2e child processes."""
    args = parse_args(argv)
    if args.role == 'pub':
        return run_publisher(args)
    if args.role == 'listen':
        return run_listener(args)
    return orchestrate(args, provenance.check(args, argv, __file__))


if __name__ == '__main__':
    sys.exit(main())
