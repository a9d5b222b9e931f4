"""Provenance of a benchmark result: the commit, whether the tree was dirty, host, command line.

Every bench/*.py adds `--allow-dirty` to its parser (`add_arguments`), calls `check` before any
long work and writes the block `check` returns at the top level of its JSON ('commit', 'dirty',
'command', 'host'), so every figure in bench/results/ names the code that produced it. A tree
with uncommitted changes (bench/results/ excluded), or one whose commit cannot be read, is
refused unless `--allow-dirty`; the result then records what was found (dirty: true).
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _hostinfo import REPO, git_commit, git_dirty, host_info

ALLOW = '--allow-dirty'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--allow-dirty` to a benchmark's parser."""
    parser.add_argument(ALLOW, action='store_true',
                        help='run on a tree with uncommitted changes and mark the result dirty')


def script_path(script: str | Path) -> str:
    """Return `script` relative to the repository root (as given when outside it)."""
    try:
        return str(Path(script).resolve().relative_to(REPO))
    except ValueError:
        return str(script)


def command_line(argv: Sequence[str] | None = None, script: str | Path | None = None
                 ) -> list[str]:
    """Return the command as run: 'python', the script from the repo root, its arguments.

    `argv` (the arguments after the script) and `script` default to sys.argv's; a main(argv)
    passes its own arguments and `__file__`, so a call from a test records the benchmark.
    """
    rest = sys.argv[1:] if argv is None else list(argv)
    return ['python', script_path(sys.argv[0] if script is None else script), *rest]


def refusal(commit: str | None, dirty: bool | None) -> str | None:
    """Return why a run at `commit` with this dirty flag is not traceable, or None if it is."""
    if commit is None:
        problem = 'the commit of this tree is unknown (no readable .git)'
    elif dirty is None:
        problem = f'could not tell whether the tree at {commit[:12]} has uncommitted changes'
    elif dirty:
        problem = f'the tree at {commit[:12]} has uncommitted changes (git status)'
    else:
        return None
    return (f'refusing to benchmark: {problem}; its figures could not be traced to the code '
            f'that made them. Commit first, or pass {ALLOW} to run anyway: the result then '
            f'records commit {json.dumps(commit)} and dirty {json.dumps(dirty)}.')


def check(args: argparse.Namespace, argv: Sequence[str] | None = None,
          script: str | Path | None = None) -> dict[str, Any]:
    """Refuse an untraceable run (unless --allow-dirty); return the provenance block.

    Call at the start of a benchmark's main, before any long work. The block goes at the top
    level of the result JSON: {'commit', 'dirty', 'command', 'host'}.
    """
    commit, dirty = git_commit(), git_dirty()
    reason = refusal(commit, dirty)
    if reason is not None and not getattr(args, 'allow_dirty', False):
        raise SystemExit(reason)
    return {'commit': commit, 'dirty': dirty, 'command': command_line(argv, script),
            'host': host_info()}
