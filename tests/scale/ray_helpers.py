"""Helpers of the Ray tests: the environment Ray's nodes and our subprocesses run with."""

from __future__ import annotations

import os
from pathlib import Path

import deepfake_detect

SRC = Path(deepfake_detect.__file__).resolve().parents[1]


def package_env() -> dict[str, str]:
    """This checkout's package importable (nodes' workers import it to run actors and replicas)."""
    paths = [str(SRC), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {"PYTHONPATH": os.pathsep.join(paths), "RAY_USAGE_STATS_ENABLED": "0"}
