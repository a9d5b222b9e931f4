"""The canary's report: a JSON document with provenance, and a plot of the differences."""

import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from robo_edge.canary.compare import MetricDiff, Verdict


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(['git', *args], cwd=cwd, capture_output=True, text=True,
                             timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def provenance(cwd: Path | None = None) -> dict:
    """Return the commit, dirty flag, host and command of this run (as bench results do).

    The commit is the working directory's checkout (where releases are made); outside one,
    commit and dirty are None.
    """
    cwd = cwd or Path.cwd()
    commit = _git(['rev-parse', 'HEAD'], cwd)
    status = _git(['status', '--porcelain'], cwd) if commit else None
    return {
        'commit': commit,
        'dirty': None if status is None else bool(status),
        'command': ['robo-edge', *sys.argv[1:]],
        'host': {'hostname': socket.gethostname(), 'platform': platform.platform(),
                 'python': platform.python_version(), 'cpus': os.cpu_count()},
    }


def write_report(report_dir: Path, document: dict, verdict: Verdict) -> Path:
    """Write report.json and differences.png under `report_dir`; return the JSON's path."""
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / 'report.json'
    path.write_text(json.dumps({**document, 'verdict': verdict.to_dict()}, indent=1),
                    encoding='utf-8')
    plot_differences(report_dir / 'differences.png', verdict)
    return path


def plot_differences(path: Path, verdict: Verdict) -> None:
    """Plot each metric's mean difference with its interval, one row (own scale) per metric.

    Differences are signed so that right is better for every metric.
    """
    import matplotlib  # noqa: PLC0415 - plotting is the report's only use of it

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt  # noqa: PLC0415

    shown = [m for m in verdict.metrics if m.n] or verdict.metrics[:1]
    fig, axes = plt.subplots(len(shown), 1, figsize=(8, 0.3 + 1.1 * len(shown)), squeeze=False)
    for ax, m in zip(axes[:, 0], shown, strict=True):
        _plot_metric(ax, m)
    axes[-1, 0].set_xlabel('candidate minus release, signed so that right is better')
    fig.suptitle(f'canary: {"PASS" if verdict.passed else "FAIL"}'
                 + (f' ({verdict.reasons[0]})' if verdict.reasons else ''), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_metric(ax: object, m: MetricDiff) -> None:
    """Draw one metric's signed difference and interval on its own axis."""
    ax.axvline(0.0, color='black', linewidth=0.8)
    ax.set_yticks([0], [m.metric])
    if not m.n:
        ax.set_title(f'{m.metric}: not reported', fontsize=8)
        return
    mean, low, high = (v * m.better for v in (m.mean_diff, m.ci_low, m.ci_high))
    lo, hi = min(low, high), max(low, high)
    colour = 'tab:red' if m.worse else ('tab:green' if lo > 0 else 'tab:gray')
    ax.errorbar(mean, 0, xerr=[[mean - lo], [hi - mean]], fmt='o', color=colour, capsize=4)
    span = max(abs(lo), abs(hi), 1e-3) * 1.3
    ax.set_xlim(-span, span)
    ax.set_title(f'{m.metric}: {m.mean_diff:+.3g} [{m.ci_low:+.3g}, {m.ci_high:+.3g}], '
                 f'n={m.n}, {m.wins} won / {m.losses} lost', fontsize=8)
