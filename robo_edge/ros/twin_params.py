"""The twin node's parameters (robo_edge/nodes/twin.py).

The world, the robot, the run's timing and its outputs are set at configure: read-only. Only
the waits and the progress log apply live (LIVE: read at every control period).
"""

from robo_edge.ros.params import Param, read_only
from robo_edge.twin.config import flatten_defaults

LIVE = frozenset({'lockstep_timeout_s', 'cmd_timeout_s', 'progress_period_s'})
PARAMS = read_only([
    Param('world', 'empty_room', 'World file path, or the name of a world in share/sim/worlds'),
    Param('seed', 0, 'Seed of every noise stream', 0, 2**31 - 1),
    Param('start', [0.0, 0.0, 0.0], 'Start pose [x, y, yaw] in map (m, rad)'),
    Param('urdf', '', 'Robot URDF; empty uses share/sim/robot/diff_drive.urdf'),
    Param('clock_mode', 'lockstep', 'lockstep (repeatable) or free_run'),
    Param('duration_s', 0.0, 'Simulated seconds to run; 0 runs until stopped', 0.0, 1e6),
    Param('end_after_goals_s', 0.0,
          'Simulated seconds to run on once the planner has no goal left (an empty /plan after '
          'a non-empty one); 0 runs to duration_s', 0.0, 1e4),
    Param('max_real_time_factor', 0.0, 'free_run pacing; 0 is as fast as possible', 0.0, 1e3),
    Param('result_path', '', 'Where to write the run record JSON at the end; empty: none'),
    Param('startup_timeout_s', 30.0, 'Wall time for the graph to come up before t=0', 0.1, 600.0),
    Param('startup_settle_s', 1.0,
          'Wall time after the required subscribers match before t=0 (reader-side discovery)',
          0.0, 60.0),
    Param('required_subscribers', [''],
          'topic:count pairs that must be matched before t=0, e.g. /scan:2'),
    Param('required_ready', [''],
          'Nodes that must report their inputs matched on /robo_edge/ready before t=0; when '
          'set, a lockstep twin also waits for a /cmd_vel writer'),
    Param('faults', '',
          'Sensor faults to inject, as JSON (robo_edge.chaos.spec.to_params of the faults of '
          'a scenario); empty: none'),
    *[Param(k, list(v) if isinstance(v, tuple) else v, f'Twin setting {k}')
      for k, v in flatten_defaults().items()],
]) + [
    Param('lockstep_timeout_s', 1.0, 'Wall time to wait for the command of a period', 0.01, 60.0),
    Param('cmd_timeout_s', 0.5, 'free_run: stop the base when commands are older', 0.0, 10.0),
    Param('progress_period_s', 10.0, 'Simulated seconds between progress logs', 0.1, 1e6),
]
