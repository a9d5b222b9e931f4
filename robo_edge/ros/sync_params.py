"""cloud_sync's parameters (robo_edge/nodes/cloud_sync.py; config/cloud_sync.yaml)."""

from robo_edge.ros.params import Param, read_only

# All is built at configure (read-only) but the breakers read at every /diagnostics (live).
LIVE = frozenset({'probation_breakers'})
PARAMS = read_only([
    Param('server_url', 'http://127.0.0.1:8765', 'Repository base URL (http or https)'),
    Param('data_dir', '/var/lib/robo_edge/sync', 'trust/ (root.json), store/, cache/, uplink'),
    Param('channels', ['policy:policy/limits.yaml', 'model:model/floor_seg.onnx'],
          'kind:target path of each artifact this robot follows'),
    Param('hardware_id', 'rover-v2', 'This robot hardware (a target must list it or *)'),
    Param('model_input_size', [160, 120], 'Model input [width, height] the stack expects'),
    Param('map_frame', 'map', 'Frame a map artifact must be in'),
    Param('poll_period_s', 60.0, 'Seconds between sync cycles', 0.1, 86400.0),
    Param('bandwidth_bytes_per_s', 0, 'Download cap (0: none)', 0, 10**10),
    Param('timeout_s', 10.0, 'Connect and between-bytes timeout', 0.1, 600.0),
    Param('robot_id', '', 'Identity for uploads; empty: no uplink'),
    Param('robot_key', '', 'Ed25519 PEM key of robot_id'),
    Param('tls_dir', '', "The robot's TLS folder (robot.key, robot.crt, ca.crt): downloads "
          'over https with its client certificate, the fleet CA the only anchor; empty: none'),
    Param('uplink_budget_bytes', 50_000_000, 'Byte budget of the uplink queue', 1, 10**12),
    Param('telemetry_period_s', 300.0, 'Period of telemetry summaries queued for upload',
          0.1, 86400.0),
    Param('map_upload_period_s', 0.0, 'Period of uploads of the latest /map (0: never)',
          0.0, 86400.0),
    Param('gate_sample_path', '', 'Labelled frames (npz) of the model gate; empty: shipped'),
    Param('gate_min_miou', 0.6, 'Mean IoU a candidate model must reach', 0.0, 1.0),
    Param('gate_scenarios', [''], 'Scenario files of the twin gate; [""]: none (the robot '
          'default: the twin canary runs where policies are published)'),
    Param('gate_report_dir', '/tmp/robo_edge_canary', 'Reports of twin gate runs'),
    Param('probation_s', 300.0, 'Probation after a model activation', 1.0, 86400.0),
    Param('probation_window_s', 5.0, 'Window of output statistics', 0.1, 3600.0),
    Param('probation_min_samples', 5, 'Samples in the window before drift is judged', 1, 10**6),
    Param('probation_hold_s', 5.0, 'Drift held this long rolls back', 0.0, 3600.0),
    Param('probation_max_trips', 2, 'Breaker trips in probation that roll back', 0, 10**6),
    Param('perception_node', 'perception', 'Node whose model_path a new model sets'),
    Param('diagnostics_period_s', 1.0, 'Period of the diagnostics', 0.05, 60.0),
    Param('mapper_node', 'mapper', 'Node whose static_map a new map sets'),
    Param('planner_stale_s', 3.0, "The planner's idle status is believed this long (a map "
          'swaps only while it is)', 0.1, 3600.0),
    Param('map_defer_warn_s', 600.0, 'A map held back this long while the robot navigates is '
          'reported (WARN, upstream); it still waits', 1.0, 86400.0),
    Param('swap_queue_limit', 8, 'Activations waiting to be handed to the stack', 1, 1000),
    Param('pending_wait_s', 600.0, 'A policy waits this long for its nodes to come up',
          0.0, 86400.0),
    Param('model_answer_s', 60.0, 'A model is refused unless perception reports it loaded '
          'within this', 0.1, 3600.0),
]) + [Param('probation_breakers', ['robo_edge/breaker/perception'],
            'Breaker statuses (sensor_guard) whose trips count in a model probation')]
