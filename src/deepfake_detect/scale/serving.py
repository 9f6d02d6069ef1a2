"""`deepfake-detect serve --ray [ADDRESS]`: the same FastAPI app under Ray Serve.

Two deployments: `Ingress`, the unchanged app of `create_app` (`@serve.ingress`, built on the replica
by `__serve_build_asgi_app__`) whose detector is a `RemoteDetector`; and `Detector`, N replicas of
replica.py (`--replicas`, or `--min-replicas/--max-replicas` for Serve's autoscaling on ongoing
requests). The ingress admits `INFERENCE_WORKERS` x max replicas analyses plus `MAX_QUEUE` waiting,
as the single-process server admits its workers plus its queue; beyond that, 503 + Retry-After.

For KubeRay's RayService the application is `deepfake_detect.scale.serving:app` with `args` (replicas,
min_replicas, max_replicas, replica_cpus); the settings come from the environment as everywhere.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ray import serve

from ..config import Settings
from .remote import RemoteDetector
from .replica import DetectorReplica

if TYPE_CHECKING:
    from ..pipeline import Detector

log = logging.getLogger("deepfake_detect.scale")
APP_NAME = "deepfake-detect"


@dataclass
class Scale:
    replicas: int = 1
    min_replicas: int | None = None  # both set: autoscaling between them
    max_replicas: int | None = None
    replica_cpus: float = 1.0

    @property
    def most(self) -> int:
        return self.max_replicas or self.replicas

    def options(self, settings: Settings) -> dict[str, Any]:
        per_replica = settings.inference_workers
        opts: dict[str, Any] = {
            "ray_actor_options": {"num_cpus": self.replica_cpus},
            "max_ongoing_requests": per_replica,
            "max_queued_requests": max(1, settings.max_queue),  # Serve's queue: a BackPressureError -> 503
            "health_check_period_s": 5,
        }
        if self.min_replicas is not None and self.max_replicas is not None:
            opts["autoscaling_config"] = {
                "min_replicas": self.min_replicas,
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": per_replica,
            }
        else:
            opts["num_replicas"] = self.replicas
        return opts


@serve.ingress()
class Ingress:
    def __init__(self, detector: Any, settings: Settings):
        self._detector, self._settings = detector, settings

    def __serve_build_asgi_app__(self) -> Any:
        from ..api.app import create_app

        # RemoteDetector has the part of Detector's surface the app uses (analyze, describe, model_id,
        # threshold) and lends the rest from a local Detector (remote.py): the app cannot tell
        return create_app(self._settings, lambda s: cast("Detector", RemoteDetector(self._detector, s)))


def build(settings: Settings, scale: Scale) -> Any:
    """The Serve application: ingress (no CPU of its own: it waits on replicas) -> detector replicas."""
    ingress_settings = settings.model_copy(
        update={"inference_workers": settings.inference_workers * scale.most}
    )
    threads = settings.torch_threads or max(1, int(scale.replica_cpus))  # a replica's CPUs are its threads
    replica_settings = settings.model_copy(update={"torch_threads": threads})
    detector = serve.deployment(name="Detector", **scale.options(settings))(DetectorReplica)
    ingress = serve.deployment(name="Ingress", ray_actor_options={"num_cpus": 0})(Ingress)
    return ingress.bind(detector.bind(replica_settings), ingress_settings)


def app(args: dict[str, Any]) -> Any:
    """Application builder for `serve run` / a RayService: `deepfake_detect.scale.serving:app`."""

    def count(key: str) -> int | None:
        return None if args.get(key) is None else int(args[key])

    scale = Scale(
        replicas=count("replicas") or 1,
        min_replicas=count("min_replicas"),
        max_replicas=count("max_replicas"),
        replica_cpus=float(args.get("replica_cpus", 1.0)),
    )
    return build(Settings(), scale)


def run(address: str, settings: Settings, scale: Scale) -> int:
    """Deploy, then stay in the foreground like `serve` does; Ctrl-C takes the application down."""
    from .cluster import connect

    connect(address)
    # HOST/PORT take effect only where Serve is not running yet: its proxies keep the port they have
    serve.start(http_options={"host": settings.host, "port": settings.port}, proxy_location="HeadOnly")
    serve.run(build(settings, scale), name=APP_NAME, route_prefix="/")
    log.info("serving on http://%s:%s (Ray Serve, %s)", settings.host, settings.port, scale)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        serve.delete(APP_NAME)
        if not serve.status().applications:  # nothing else served: controller and proxies go too
            serve.shutdown()
    return 0
