"""Connecting to a Ray cluster and sizing work to it.

`auto` means the cluster this machine belongs to (`ray start --head` here, or the one whose address is
in RAY_ADDRESS); `ray://host:10001` a remote one through Ray Client. A driver never starts a cluster of
its own: a scan or a server that silently ran on a throw-away local Ray would look scaled-out and not be.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from ..errors import DetectorError


class RayUnavailable(DetectorError):
    """Ray is not installed, or no cluster answers at the address."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError as e:  # pragma: no cover - ray is in requirements.txt
        raise RayUnavailable(f"Ray is not installed ({e}); pip install 'ray[serve,data]'") from e
    return ray


def connect(address: str) -> Any:
    """ray.init on an existing cluster; the package must be importable on every node (docs/scale-out.md)."""
    ray = import_ray()
    if not ray.is_initialized():
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, RuntimeError) as e:
            raise RayUnavailable(f"no Ray cluster at {address!r}: {e}") from e
    return ray


def cluster_cpus() -> int:
    ray = import_ray()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def pool_size(requested: int | None, cpus_per_actor: float) -> int:
    """Actors for a scan: as asked, else as many as the cluster's CPUs hold (one Detector each)."""
    if requested:
        return requested
    return max(1, math.floor(cluster_cpus() / cpus_per_actor))
