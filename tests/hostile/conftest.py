"""Fixtures for hostile input: the generated corpus, its canary, and a real server in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from hostile_corpus import CASES, Canary


@pytest.fixture(scope="session")
def canary(tmp_path_factory: pytest.TempPathFactory):
    canary = Canary(tmp_path_factory.mktemp("secret"))
    yield canary
    canary.close()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory, canary: Canary) -> dict[str, Path]:
    """Case name -> file, each written into its own folder."""
    root = tmp_path_factory.mktemp("corpus")
    files = {}
    for i, case in enumerate(CASES):
        folder = root / f"case{i:02d}"
        folder.mkdir()
        files[case.name] = case.make(folder, canary)
    return files


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`deepfake-detect serve` in a subprocess on a free loopback port (real uvicorn, real sockets)."""

    def __init__(self, env: dict[str, str], log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        full_env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        full_env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self._log_file = open(log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deepfake_detect.cli", "serve"],
            env=full_env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        for _ in range(600):
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).json()["status"] == "healthy":
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not become healthy: {log.read_text()[-2000:]}")

    def peak_rss_mb(self) -> float:
        """The kernel's high-water mark of the server's resident memory (VmHWM)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")

    def healthy(self) -> bool:
        return httpx.get(f"{self.url}/health", timeout=10).json()["status"] == "healthy"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._log_file.close()


@pytest.fixture(scope="module")
def server_factory(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path):
    started: list[Server] = []

    def start(**settings) -> Server:
        env = {
            "MODEL_PATH": str(tiny_checkpoint),
            "RUNTIME": "torch",
            "WARMUP": "false",
            "FRAMES_PER_VIDEO": "4",
            "TORCH_THREADS": "1",
            **{k.upper(): str(v) for k, v in settings.items()},
        }
        folder = tmp_path_factory.mktemp("server")
        env.setdefault("DATA_DIR", str(folder / "data"))  # its own jobs database and job uploads
        server = Server(env, folder / "server.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
