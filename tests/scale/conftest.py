"""One real Ray cluster for the tests of tests/scale/: a head and one worker node on this machine
(`ray start --block`, 1 CPU and a 200 MB object store each, no dashboard), torn down at the end."""

from __future__ import annotations

import pytest
from ray_helpers import package_env


@pytest.fixture(scope="session")
def ray_cluster():
    pytest.importorskip("ray")
    from deepfake_detect.scale.local import LocalCluster

    with LocalCluster(workers=1, cpus=1, object_store_mb=200, env=package_env()) as cluster:
        yield cluster
