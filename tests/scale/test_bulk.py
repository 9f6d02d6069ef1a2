"""`scan --ray` on a real two-node cluster: rows as `scan --json`, a worker killed mid-scan, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from ray_helpers import package_env

from deepfake_detect import synthetic
from deepfake_detect.scale.results import ResultsFile

pytestmark = pytest.mark.slow
N_VIDEOS = 16


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bulk")
    for i in range(N_VIDEOS):
        synthetic.render_video(folder / f"clip{i:02d}.mp4", n_frames=30, seed=i)
    (folder / "broken.mp4").write_text("not a video")  # a bad video is a row with its reason
    return folder


def scan(cluster, out: Path, *paths: str | Path, model: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "deepfake_detect.cli", "scan", "--ray", cluster.address, "--out", str(out),
           "--frames", "8", "--model", str(model), "--quiet", *map(str, paths)]  # fmt: skip
    return subprocess.Popen(cmd, env={**os.environ, **package_env()}, stderr=subprocess.PIPE, text=True)


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_a_worker_killed_mid_scan_still_gives_one_row_per_video(
    ray_cluster, clips, tiny_checkpoint, tmp_path
):
    out = tmp_path / "results.jsonl"
    proc = scan(ray_cluster, out, clips, model=tiny_checkpoint)
    deadline = time.monotonic() + 180
    while len(rows(out)) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    killed_at = len(rows(out))
    workers = ray_cluster.find("MapWorker", node=1) or ray_cluster.find("MapWorker")  # prefer the worker node
    assert workers and killed_at < N_VIDEOS, f"scan not in flight: {killed_at} rows, actors {workers}"
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]

    got = rows(out)
    counts = Counter(r["path"] for r in got)
    duplicates = sum(n - 1 for n in counts.values())
    print(f"\nfault test: {N_VIDEOS + 1} videos, worker pid {workers[0]} killed at {killed_at} results, "
          f"{len(got)} results, {duplicates} duplicates")  # fmt: skip
    assert duplicates == 0 and len(got) == N_VIDEOS + 1
    assert set(counts) == {str(p) for p in sorted(clips.iterdir())}

    # the rows are `scan --json`'s: same keys, same values for the same model and settings
    by_path = {r["path"]: r for r in got}
    broken = by_path[str(clips / "broken.mp4")]
    assert broken["prediction"] is None and "not a video" in broken["reason"]
    local = subprocess.run(
        [sys.executable, "-m", "deepfake_detect.cli", "scan", "--json", "--frames", "8", "--model",
         str(tiny_checkpoint), str(clips / "clip00.mp4")],
        capture_output=True, text=True, env={**os.environ, **package_env()},
    )  # fmt: skip
    mine = json.loads(local.stdout)
    theirs = by_path[mine["path"]]
    assert theirs.keys() == mine.keys()
    assert {k: v for k, v in theirs.items() if k != "seconds"} == {
        k: v for k, v in mine.items() if k != "seconds"
    }

    # a rerun does no work (it does not even connect) and adds nothing
    again = scan(ray_cluster, out, clips, model=tiny_checkpoint)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0 and f"{N_VIDEOS + 1} already in" in err and "0 written" in err
    assert rows(out) == got


def test_results_file_cuts_a_torn_line_and_skips_known_paths(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_text('{"path": "a.mp4", "prediction": "REAL"}\n{"path": "b.mp4", "predic')
    with ResultsFile(out) as results:
        assert results.done == {"a.mp4"}
        assert not results.add({"path": "a.mp4", "prediction": "FAKE"})
        assert results.add({"path": "b.mp4", "prediction": None, "reason": "x"})
    assert [r["path"] for r in rows(out)] == ["a.mp4", "b.mp4"] and results.errors == 1


def test_scan_ray_needs_an_output_file(video_mp4, capsys):
    from deepfake_detect.cli import main

    assert main(["scan", "--ray", "auto", str(video_mp4)]) == 2
    assert "--out" in capsys.readouterr().err
