"""A throw-away Ray cluster on this machine: a head and N worker nodes on loopback, for the tests and
the scaling benchmark (benchmarks/ray_scaling.py). Not used by serving or `scan`, which join a cluster
someone else runs.

Each node is a `ray start --block` child in a session of its own: stopping sends it SIGTERM (it stops the
processes of its node), then SIGKILL to whatever is left of its process group. Never `ray stop`, which
stops every Ray process on the machine, other people's included. Nodes are small on purpose: 1 CPU and
a 200 MB object store each by default; the dashboard is off (saves ~150 MB and a port per node).
Ray advertises the machine's own address rather than 127.0.0.1 (services.resolve_ip_for_localhost),
so the nodes reach each other on it, but nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    def __init__(self, workers: int = 1, cpus: int = 1, object_store_mb: int = 200, env: dict | None = None):
        self.workers, self.cpus, self.object_store_mb = workers, cpus, object_store_mb
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: unix socket paths are < 108 chars
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **(env or {})}
        self.nodes: list[subprocess.Popen] = []

    def _node(self, *args: str) -> subprocess.Popen:
        ray = str(Path(sys.executable).with_name("ray"))
        store = str(self.object_store_mb * 2**20)
        cmd = [ray, "start", "--block", "--num-cpus", str(self.cpus), "--node-ip-address", "127.0.0.1",
               "--object-store-memory", store, "--disable-usage-stats", *args]  # fmt: skip
        log = open(Path(self.temp_dir) / f"node{len(self.nodes)}.log", "w")  # noqa: SIM115 - the node's lifetime
        node = subprocess.Popen(
            cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.nodes.append(node)
        return node

    def start(self, timeout_s: float = 120) -> LocalCluster:
        try:
            ports = [f"--{name}={free_port()}" for name in ("ray-client-server-port", "dashboard-port")]
            self._node("--head", "--port", str(self.port), "--include-dashboard=false", "--temp-dir",
                       self.temp_dir, *ports)  # fmt: skip
            self._wait_nodes(1, timeout_s)
            for _ in range(self.workers):
                self._node("--address", self.address)
            self._wait_nodes(1 + self.workers, timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_nodes(self, n: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(node.poll() is not None for node in self.nodes):
                raise RuntimeError(f"a Ray node exited; see {self.temp_dir}/node*.log")
            if self.alive_nodes() >= n:
                return
            time.sleep(1)
        raise TimeoutError(f"{n} Ray nodes did not come up in {timeout_s} s; see {self.temp_dir}")

    def alive_nodes(self) -> int:
        """Raylets of this cluster (cheap: a process listing, no connection)."""
        return sum(1 for _, cmd in self.processes() if Path(cmd.split(" ")[0]).name == "raylet")

    def processes(self) -> list[tuple[int, str]]:
        """(pid, command line) of every live process of this cluster's nodes (their process groups)."""
        groups = {node.pid for node in self.nodes if node.poll() is None}
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.getpgid(int(entry)) in groups:
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    out.append((int(entry), cmdline.strip()))
            except (ProcessLookupError, OSError):
                continue
        return out

    def descendants(self) -> set[int]:
        """Every process below the nodes; Ray's own actors (Ray Data's stats actor, ...) leave the
        nodes' process groups, not their parentage."""
        return LocalCluster.descendants_of({node.pid for node in self.nodes})

    @staticmethod
    def descendants_of(roots: set[int]) -> set[int]:
        parent: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (ValueError, OSError):
                continue
        found: set[int] = set()
        frontier = roots
        while frontier:
            frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
            found |= frontier
        return found

    def find(self, text: str, node: int | None = None) -> list[int]:
        """Processes below the nodes (or below node `node`: 0 the head, 1.. the workers) whose command
        line contains `text`; e.g. the actor processes of a scan, "MapWorker"."""
        roots = self.nodes if node is None else [self.nodes[node]]
        pids = LocalCluster.descendants_of({n.pid for n in roots})
        out = []
        for pid in sorted(pids):
            try:
                if text in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                    out.append(pid)
            except OSError:
                continue
        return out

    def stop(self, timeout_s: float = 30) -> None:
        below = self.descendants()
        for node in reversed(self.nodes):  # workers first, the head last
            if node.poll() is None:
                node.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for node in self.nodes:
            try:
                node.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(node.pid, signal.SIGKILL)  # leftovers of that node only
            except ProcessLookupError:
                pass
        for pid in below:  # only processes that were below our nodes a moment ago
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
