"""Scaling on Ray against the single-process paths, in one run (docs/performance.md, "Scale-out on Ray").

    nice -n 10 .venv/bin/python benchmarks/ray_scaling.py [--videos 12] [--requests 12]

Bulk scan: `scan --json` (one process) vs `scan --ray --actors 1|2` on a local 2-CPU Ray node.
Serving: `serve` (uvicorn, 1 worker x 2 threads) vs `serve --ray --replicas 1|2` (1 CPU each), 4 client
threads. Throughput is counted from the first result to the last (start-up excluded; reported apart);
memory is the PSS summed over every process of the server or the cluster (smaps_rollup).
Clip: the 720p 10 s synthetic clip of `bench`, copied N times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from deepfake_detect import synthetic
from deepfake_detect.scale.local import LocalCluster, free_port

CLI = [sys.executable, "-m", "deepfake_detect.cli"]


def pss_mb(pids) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def rate(stamps: list[float]) -> float:
    return 60 * (len(stamps) - 1) / (stamps[-1] - stamps[0])


def scan_plain(folder: Path) -> dict:
    t0, stamps = time.perf_counter(), []
    proc = subprocess.Popen([*CLI, "scan", "--json", str(folder)], stdout=subprocess.PIPE, text=True)
    for _ in proc.stdout:  # type: ignore[union-attr]
        stamps.append(time.perf_counter())
    proc.wait()
    return {"videos_per_min": rate(stamps), "wall_s": time.perf_counter() - t0}


def scan_ray(cluster: LocalCluster, folder: Path, actors: int, out: Path) -> dict:
    t0, stamps, seen = time.perf_counter(), [], 0
    cmd = [
        *CLI,
        "scan",
        "--ray",
        cluster.address,
        "--actors",
        str(actors),
        "--out",
        str(out),
        "--quiet",
        str(folder),
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    while proc.poll() is None or seen < len(list(folder.iterdir())):
        n = len(out.read_text().splitlines()) if out.exists() else 0
        stamps += [time.perf_counter()] * (n - seen)
        seen = n
        if proc.poll() is not None and n == seen:
            break
        time.sleep(0.05)
    return {"videos_per_min": rate(stamps), "wall_s": time.perf_counter() - t0}


def load(port: int, clip: Path, requests: int, clients: int = 4) -> dict:
    url = f"http://127.0.0.1:{port}/predict"
    data = clip.read_bytes()
    httpx.post(url, files={"file": ("c.mp4", data)}, timeout=300).raise_for_status()  # warm
    left, stamps, codes = list(range(requests)), [], []

    def client() -> None:
        while left:
            left.pop()
            r = httpx.post(url, files={"file": ("c.mp4", data)}, timeout=300)
            codes.append(r.status_code)
            stamps.append(time.perf_counter())

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"videos_per_min": 60 * requests / (time.perf_counter() - t0), "codes": sorted(set(codes))}


def wait_ready(port: int, proc: subprocess.Popen, timeout_s: float = 300) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server not ready")


def serve(args: list[str], clip: Path, requests: int, pids=None) -> dict:
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "MAX_QUEUE": "8",
        "DATA_DIR": tempfile.mkdtemp(),
    }
    proc = subprocess.Popen(
        [*CLI, "serve", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        ready = wait_ready(port, proc)
        result = load(port, clip, requests)
        result["ready_s"] = ready
        result["pss_mb"] = pss_mb([proc.pid, *(pids() if pids else [])])
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(120)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ray_scaling")
    args = parser.parse_args()
    folder = args.work / "clips"
    shutil.rmtree(args.work, ignore_errors=True)
    folder.mkdir(parents=True)
    clip = synthetic.render_video(
        args.work / "720p.mp4", width=1280, height=720, n_frames=250, face_scale=0.35, seed=1280
    )
    for i in range(args.videos):
        shutil.copy(clip, folder / f"v{i:02d}.mp4")
    out: dict = {"machine_load": os.getloadavg()}
    out["scan_plain"] = scan_plain(folder)
    out["serve_plain"] = serve([], clip, args.requests)
    out["plain_server_pss_mb"] = out["serve_plain"]["pss_mb"]
    print(json.dumps(out), file=sys.stderr, flush=True)
    with LocalCluster(workers=0, cpus=2, object_store_mb=300) as cluster:
        out["ray_idle_pss_mb"] = pss_mb(cluster.descendants() | {n.pid for n in cluster.nodes})
        for n in (1, 2):
            out[f"scan_ray_{n}"] = scan_ray(cluster, folder, n, args.work / f"ray{n}.jsonl")
            print(json.dumps(out), file=sys.stderr, flush=True)
        for n in (1, 2):
            pids = lambda: cluster.descendants() | {n.pid for n in cluster.nodes}  # noqa: E731
            out[f"serve_ray_{n}"] = serve(
                ["--ray", cluster.address, "--replicas", str(n)], clip, args.requests, pids
            )
        print(json.dumps(out), file=sys.stderr, flush=True)
    for kind in ("scan", "serve"):
        base = out[f"{kind}_plain"]["videos_per_min"]
        for n in (1, 2):
            out[f"{kind}_ray_{n}"]["ratio"] = round(out[f"{kind}_ray_{n}"]["videos_per_min"] / base, 2)
    out["machine_load_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
