"""The report picture: the world from above with the true and believed paths and goals."""

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use('Agg')  # headless: reports are written on robots and CI machines

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle, Polygon  # noqa: E402

from robo_edge.twin.world import World  # noqa: E402

TITLE_WIDTH = 110  # characters per title line


def draw_world(axes: plt.Axes, world: World) -> None:
    """Draw every obstacle in its colour, to scale, in the map frame."""
    for box in world.boxes:
        axes.add_patch(Polygon(box.corners(), closed=True, facecolor=box.color,
                               edgecolor='black', linewidth=0.5))
    for cyl in world.cylinders:
        axes.add_patch(Circle((cyl.x, cyl.y), cyl.radius, facecolor=cyl.color,
                              edgecolor='black', linewidth=0.5))
    xmin, ymin, xmax, ymax = world.bounds()
    axes.set_xlim(xmin, xmax)
    axes.set_ylim(ymin, ymax)
    axes.set_aspect('equal')
    axes.set_xlabel('x [m] (map)')
    axes.set_ylabel('y [m] (map)')
    axes.grid(True, linewidth=0.3, alpha=0.5)


STATE_COLOURS = {'closed': 'tab:green', 'half_open': 'tab:orange', 'open': 'tab:red'}
MODE_COLOURS = {'NOMINAL': 'tab:green', 'DEGRADED': 'tab:orange', 'SAFE_STOP': 'tab:red'}


def _spans(changes: list[tuple[float, str]], first: str, end_s: float
           ) -> list[tuple[float, float, str]]:
    """Return (start, width, value) spans from a value at t = 0 and its timed changes."""
    times = [0.0] + [t for t, _ in changes] + [end_s]
    values = [first] + [v for _, v in changes]
    return [(a, max(b - a, 0.0), v) for a, b, v in zip(times, times[1:], values, strict=False)]


def draw_timeline(axes: plt.Axes, events: list[dict], faults: list[dict], end_s: float) -> None:
    """Draw breaker states per source and the mode over time, with the faults shaded."""
    sources = sorted({e['source'] for e in events if e.get('kind') == 'breaker'})
    rows = [*sources, 'mode']
    for row, source in enumerate(sources):
        changes = [(e['t'], e['state']) for e in events
                   if e.get('kind') == 'breaker' and e['source'] == source]
        for start, width, state in _spans(changes, 'closed', end_s):
            axes.broken_barh([(start, width)], (row - 0.4, 0.8), color=STATE_COLOURS[state])
    modes = [(e['t'], e['mode']) for e in events if e.get('kind') == 'mode']
    for start, width, mode in _spans(modes, 'NOMINAL', end_s):
        axes.broken_barh([(start, width)], (len(sources) - 0.4, 0.8), color=MODE_COLOURS[mode])
    for fault in faults:
        start = fault.get('injected_s') or fault.get('start_s', 0.0)
        stop = fault['start_s'] + fault['duration_s'] if fault.get('duration_s') else end_s
        axes.axvspan(start, max(stop, start + 0.05), color='0.5', alpha=0.25, zorder=0)
        axes.text(start, len(rows) - 0.45, f"{fault['type']} {fault['target']}", fontsize=7,
                  va='bottom')
        if fault.get('detected_s') is not None:
            axes.axvline(fault['detected_s'], color='black', linestyle=':', linewidth=0.8)
    axes.set_yticks(range(len(rows)), rows, fontsize=8)
    axes.set_ylim(-0.6, len(rows) + 0.2)
    axes.set_xlim(0.0, end_s)
    axes.set_xlabel('simulated time [s] (green closed/NOMINAL, orange half-open/DEGRADED, '
                    'red open/SAFE_STOP; grey: faults, dotted: detection)', fontsize=8)


def plot_run(
    path: Path, world: World, trajectory: list, goals: list[tuple[float, float, float]],
    collisions: list[dict], title: str, goal_tolerance: float,
    timeline: dict | None = None, belief: dict | None = None,
) -> list[str]:
    """Write a PNG of one run: obstacles, the trajectory coloured by time, goals, collisions.

    With a `timeline` ({'events', 'faults', 'end_s'}) holding events or faults, the breaker
    states and modes are drawn under the map. With a `belief` ({'pose_log', 'goal_truth'}),
    the localised and dead-reckoned tracks are drawn beside the true one and each goal is
    marked by how it ended. Returns the legend's labels.
    """
    if timeline and (timeline.get('events') or timeline.get('faults')):
        figure, (axes, lower) = plt.subplots(
            2, 1, figsize=(9, 9.5), dpi=110, gridspec_kw={'height_ratios': [3, 1]})
        draw_timeline(lower, timeline.get('events', []), timeline.get('faults', []),
                      float(timeline.get('end_s') or 1.0))
    else:
        figure, axes = plt.subplots(figsize=(9, 7), dpi=110)
    draw_world(axes, world)
    _draw_trajectory(figure, axes, trajectory)
    belief = belief or {}
    draw_believed_path(axes, belief.get('pose_log') or [])
    draw_goals(axes, goals, goal_tolerance, belief.get('goal_truth') or [])
    for index, hit in enumerate(collisions):
        axes.plot(*hit['contact'], marker='X', color='red', markersize=11, zorder=7,
                  label='collisions' if index == 0 else None)
    wrapped = '\n'.join(textwrap.fill(line, TITLE_WIDTH) for line in title.split('\n'))
    axes.set_title(wrapped, fontsize=9)  # long verdicts wrap instead of running off
    legend = axes.legend(loc='best', fontsize=7, framealpha=0.85)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return [text.get_text() for text in legend.get_texts()]


def _draw_trajectory(figure: plt.Figure, axes: plt.Axes, trajectory: list) -> None:
    """Draw the true path coloured by time, its start and its end."""
    if not trajectory:
        return
    t = [p[0] for p in trajectory]
    xs = [p[1] for p in trajectory]
    ys = [p[2] for p in trajectory]
    axes.plot(xs, ys, color='0.3', linewidth=0.8, zorder=3, label='true path (twin)')
    points = axes.scatter(xs, ys, c=t, cmap='viridis', s=4, zorder=4)
    figure.colorbar(points, ax=axes, label='simulated time [s]', shrink=0.8)
    axes.plot(xs[0], ys[0], marker='o', color='tab:blue', markersize=8, zorder=5,
              label='start')
    axes.plot(xs[-1], ys[-1], marker='s', color='tab:purple', markersize=7, zorder=5,
              label='end')


def draw_believed_path(axes: plt.Axes, pose_log: list) -> list[Line2D]:
    """Draw the localised pose track (what the stack believed) and dead reckoning beside it.

    `pose_log` rows are the mapper's (t, x, y, yaw, odom_x, odom_y, odom_yaw). Returns the
    lines drawn.
    """
    if not pose_log:
        return []
    believed = axes.plot([r[1] for r in pose_log], [r[2] for r in pose_log],
                         color='tab:red', linestyle='--', linewidth=1.1, marker='.',
                         markersize=4, zorder=6, label='localised pose (belief, 1 Hz)')
    dead = axes.plot([r[4] for r in pose_log], [r[5] for r in pose_log], color='tab:brown',
                     linestyle=':', linewidth=1.0, zorder=5, label='dead reckoning')
    return [*believed, *dead]


# How each goal ended, by the planner's word checked against the truth (belief.goal_truth).
GOAL_STYLES = {
    'reached': ('*', 'tab:green', 13, 'goal reached (truth agrees)'),
    'believed_reached': ('P', 'tab:red', 11, 'goal believed reached (truth disagrees)'),
    'uncertain': ('D', 'tab:orange', 8, 'goal uncertain (covariance too large)'),
    'failed': ('v', 'black', 9, 'goal failed'),
    'unverified': ('*', 'tab:olive', 12, 'goal reached (no truth to check)'),
}
UNSCORED = ('*', 'tab:green', 12, 'goals')  # no planner report (or still pending)


def draw_goals(axes: plt.Axes, goals: list[tuple[float, float, float]], tolerance: float,
               goal_truth: list[dict]) -> None:
    """Draw each goal's tolerance circle, a numbered marker for how it ended, and the true pose.

    The true pose is the one when the planner declared the goal's outcome.
    """
    ended = {int(e['index']): e for e in goal_truth}
    labelled: set[str] = set()
    for index, (gx, gy, _) in enumerate(goals):
        marker, colour, size, label = GOAL_STYLES.get(ended.get(index, {}).get('kind'), UNSCORED)
        axes.add_patch(Circle((gx, gy), tolerance, fill=False, edgecolor='tab:green',
                              linestyle='--', zorder=5))
        axes.plot(gx, gy, marker=marker, color=colour, markersize=size, zorder=7,
                  markeredgecolor='black', markeredgewidth=0.4,
                  label=None if label in labelled else label)
        labelled.add(label)
        axes.annotate(str(index), (gx, gy), textcoords='offset points', xytext=(7, 7),
                      fontsize=8, zorder=8)
    declared = [(goals[i], e) for i, e in ended.items() if e.get('true_pose') and i < len(goals)]
    for number, ((gx, gy, _), entry) in enumerate(declared):
        tx, ty = entry['true_pose'][:2]
        colour = GOAL_STYLES.get(entry['kind'], UNSCORED)[1]
        axes.plot([gx, tx], [gy, ty], color=colour, linewidth=0.8, zorder=6)
        axes.plot(tx, ty, marker='x', color='black', markersize=6, zorder=8,
                  label='true pose when declared' if number == 0 else None)
