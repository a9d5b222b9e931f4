"""The linter runs as a test, so style drift fails CI like any other defect."""

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_ruff_is_clean() -> None:
    ruff = shutil.which('ruff') or str(Path(sys.executable).parent / 'ruff')
    result = subprocess.run(
        [ruff, 'check', 'robo_edge', 'test', 'bench', 'launch', 'setup.py'],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
