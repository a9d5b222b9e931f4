"""The report picture: the world from above with the trajectory, goals and collisions."""

from pathlib import Path

import matplotlib

matplotlib.use('Agg')  # headless: reports are written on robots and CI machines

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, Polygon  # noqa: E402

from robo_edge.twin.world import World  # noqa: E402


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


def plot_run(
    path: Path, world: World, trajectory: list, goals: list[tuple[float, float, float]],
    collisions: list[dict], title: str, goal_tolerance: float,
) -> None:
    """Write a PNG of one run: obstacles, the trajectory coloured by time, goals, collisions."""
    figure, axes = plt.subplots(figsize=(9, 7), dpi=110)
    draw_world(axes, world)
    if trajectory:
        t = [p[0] for p in trajectory]
        xs = [p[1] for p in trajectory]
        ys = [p[2] for p in trajectory]
        axes.plot(xs, ys, color='0.3', linewidth=0.8, zorder=3)
        points = axes.scatter(xs, ys, c=t, cmap='viridis', s=4, zorder=4)
        figure.colorbar(points, ax=axes, label='simulated time [s]', shrink=0.8)
        axes.plot(xs[0], ys[0], marker='o', color='tab:blue', markersize=8, zorder=5,
                  label='start')
        axes.plot(xs[-1], ys[-1], marker='s', color='tab:purple', markersize=7, zorder=5,
                  label='end')
    for index, (gx, gy, _) in enumerate(goals):
        axes.add_patch(Circle((gx, gy), goal_tolerance, fill=False, edgecolor='tab:green',
                              linestyle='--', zorder=5))
        axes.plot(gx, gy, marker='*', color='tab:green', markersize=12, zorder=6,
                  label='goals' if index == 0 else None)
    for index, hit in enumerate(collisions):
        axes.plot(*hit['contact'], marker='X', color='red', markersize=11, zorder=7,
                  label='collisions' if index == 0 else None)
    axes.set_title(title, fontsize=10)
    axes.legend(loc='upper right', fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
