"""The real server (`deepfake-detect serve` in a subprocess) under concurrent uploads: videos per
minute, latency, peak RSS, cold start."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .records import Clip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _vm_hwm_mb(pid: int) -> float | None:
    """Peak resident set size of a process (VmHWM), MiB; Linux only."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


class Server:
    """`deepfake-detect serve` in a subprocess, as a deployment runs it."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deepfake_detect.cli", "serve"],
            env=full_env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 600) -> dict:
        import requests

        while time.perf_counter() - self.t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                health = requests.get(self.url + "/health", timeout=2).json()
                if health.get("status") == "healthy":
                    health["cold_start_s"] = round(time.perf_counter() - self.t0, 2)
                    return health
                if health.get("reason") and "not been loaded" not in health["reason"]:
                    raise RuntimeError(f"server unhealthy: {health['reason']}")
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server not ready after {timeout} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def server_env(model_path: Path, runtime: str, workers: int, threads: int | None, frames: int, cache: Path):
    env = {
        "MODEL_PATH": str(model_path),
        "RUNTIME": runtime,
        "INFERENCE_WORKERS": str(workers),
        "MAX_QUEUE": "16",
        "FRAMES_PER_VIDEO": str(frames),
        "RUNTIME_CACHE_DIR": str(cache),
    }
    if threads:
        env["TORCH_THREADS"] = str(threads)
    return env


def throughput(server: Server, clip: Clip, clients: int, videos: int) -> dict:
    """`clients` threads upload `clip` back to back until `videos` answers came back."""
    import requests

    data = clip.path.read_bytes()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    issued = 0

    def client() -> None:
        nonlocal issued
        with requests.Session() as session:
            while True:
                with lock:
                    if issued >= videos:
                        return
                    issued += 1
                t = time.perf_counter()
                r = session.post(server.url + "/predict", files={"file": (clip.path.name, data)}, timeout=600)
                with lock:
                    if r.status_code == 200:
                        latencies.append(time.perf_counter() - t)
                    else:
                        errors.append(f"{r.status_code}: {r.text[:200]}")

    cpu0 = _cpu_seconds(server.proc.pid)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(client) for _ in range(clients)]:
            f.result()
    wall = time.perf_counter() - t0
    cpu = _cpu_seconds(server.proc.pid) - cpu0
    cpu_per_video = cpu / max(len(latencies), 1)
    return {
        "clip": clip.name,
        "clients": clients,
        "videos": len(latencies),
        "errors": errors[:3],
        "wall_s": round(wall, 2),
        "videos_per_min": round(60 * len(latencies) / wall, 1),
        "latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_max_s": round(max(latencies), 3) if latencies else None,
        "peak_rss_mb": _vm_hwm_mb(server.proc.pid),
        "cpu_s_per_video": round(cpu_per_video, 3),
        # what the server's CPU time per video allows when it has every core to itself
        "videos_per_min_if_idle": round(60 * (os.cpu_count() or 1) / cpu_per_video, 1) if cpu else None,
    }


def time_server(args, model_path: Path, clip: Clip, frames: int, cache: Path, workdir: Path) -> dict:
    import requests

    out: dict = {"configs": []}
    if args.cold:  # an empty runtime cache: the first start derives the ONNX / int8 files
        with tempfile.TemporaryDirectory(prefix="dfd-cold-") as empty:
            env = server_env(model_path, args.runtime, 1, None, frames, Path(empty))
            server = Server(env, workdir / "server-cold.log")
            try:
                out["cold_start_empty_cache_s"] = server.wait_ready()["cold_start_s"]
            finally:
                server.stop()
    for workers in args.server_workers:
        env = server_env(model_path, args.runtime, workers, None, frames, cache)
        server = Server(env, workdir / f"server-w{workers}.log")
        try:
            health = server.wait_ready()
            info = requests.get(server.url + "/info", timeout=5).json()
            row = throughput(server, clip, args.clients, args.server_videos)
            row.update(
                workers=workers,
                torch_threads=info.get("torch_threads"),
                backend=((info.get("model") or {}).get("runtime") or {}).get("backend"),
                cold_start_s=health["cold_start_s"],
                model_load_s=health.get("model_load_s"),
            )
            out["configs"].append(row)
        finally:
            server.stop()
    return out
