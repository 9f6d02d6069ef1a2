"""Without Ray installed the app, `serve` and `scan` work, and the `--ray` commands say what is missing."""

from __future__ import annotations

import os
import subprocess
import sys

from ray_helpers import package_env

SCRIPT = """
import sys
sys.modules["ray"] = None  # as if not installed: `import ray` raises ImportError
from deepfake_detect import Settings
from deepfake_detect.api.app import create_app
from deepfake_detect.cli import main
create_app(Settings(warmup=False))
assert main(["scan", "--json", "--frames", "4", "--model", sys.argv[1], sys.argv[2]]) == 0
assert main(["scan", "--ray", "auto", "--out", sys.argv[3], sys.argv[2]]) == 2
assert main(["serve", "--ray"]) == 2
"""


def test_without_ray(tiny_checkpoint, video_mp4, tmp_path):
    out = tmp_path / "r.jsonl"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tiny_checkpoint), str(video_mp4), str(out)],
        capture_output=True, text=True, timeout=120, env={**os.environ, **package_env()},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"prediction"' in result.stdout
    assert "Ray is not installed" in result.stderr and "serve --ray needs Ray" in result.stderr
