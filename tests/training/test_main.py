"""`python -m deepfake_detect.training`: the training commands on a machine without the server's packages."""

from __future__ import annotations

import subprocess
import sys


def test_training_commands_import_no_server_package() -> None:
    code = (
        "import sys, deepfake_detect.training.__main__, deepfake_detect.training.train, "
        "deepfake_detect.training.export; "
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'ray', 'starlette') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_lists_the_training_commands() -> None:
    command = [sys.executable, "-m", "deepfake_detect.training", "--help"]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    for command in ("prepare", "train", "evaluate", "calibrate", "export-cache"):
        assert command in out.stdout


def test_a_probability_out_of_range_stops_train_before_any_work(tmp_path) -> None:
    out = tmp_path / "run"
    command = [sys.executable, "-m", "deepfake_detect.training", "train", str(tmp_path), "--out", str(out)]
    result = subprocess.run([*command, "--sbi-p-frequency", "1.5"], capture_output=True, text=True)
    assert result.returncode == 2
    assert (
        "--sbi-p-frequency must be within 0-1, got 1.5" in result.stderr and "Traceback" not in result.stderr
    )
    assert not out.exists()  # no cache, no run folder
