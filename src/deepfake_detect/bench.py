"""`deepfake-detect bench`: how fast the pipeline is on this machine, against a seed-style naive pipeline.

One run, four parts, all on the same videos and the same model weights:

1. per-stage time of our pipeline (decode, detect, crop, classify, aggregate; medians over `--reps`),
   for the serving runtime and each `--compare` runtime, and |P - P_fp32| of each against eager fp32;
2. the seed-style naive pipeline (`naive_analyze`: OpenCV seek per frame, MTCNN on each full-resolution
   frame, torchvision transforms, eager fp32 CNN+BiLSTM) and the speed-up ratio;
3. the real server (`deepfake-detect serve` in a subprocess) under `--clients` concurrent uploads of the
   720p clip: videos per minute, latency, peak RSS (VmHWM), and cold start (process start -> healthy)
   with a warm and (`--cold`) an empty runtime cache;
4. with `--accuracy DATA` (labelled videos or the TIMIT frame folders) and a trained `--model`: video AUC
   of each approximate backend against fp32, recorded so `RUNTIME=auto` may use it (models/runtime.py).

The clips are generated (10 s, 1080p and 720p, one face) into `--workdir`; `../shared/data/videos/real`
is added when present. Without `--model` (or MODEL_PATH) the model is a seeded random-init
ResNet50+BiLSTM: speed does not depend on the weights. `--quick` shrinks everything to run in seconds.

    deepfake-detect bench                       # the full run (several minutes), table on stdout
    deepfake-detect bench --quick               # a smoke run on tiny clips
    deepfake-detect bench --json out.json --markdown out.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

STAGES = ("decode_s", "detect_s", "crop_s", "classify_s", "aggregate_s", "total_s")
SHARED_REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "videos" / "real"


@dataclass
class Clip:
    name: str
    path: Path
    width: int
    height: int
    seconds: float
    source: str  # "synthetic" or "shared"


@dataclass
class Run:
    """Our pipeline on one clip with one runtime: median stage timings and the probabilities."""

    runtime: str
    backend: str
    clip: str
    reps: int
    faces: int
    crops: int
    timings: dict[str, float]
    all_totals: list[float]
    probability: float | None
    frame_probabilities: list[float] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- inputs


def machine() -> dict:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime
    import torch

    flags = ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        wanted = ("avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8")
        flags = " ".join(f for f in wanted if f" {f}" in cpuinfo)
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "flags": flags,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


def prepare_clips(workdir: Path, quick: bool, use_shared: bool = True) -> list[Clip]:
    """10 s synthetic clips at 1080p and 720p (tiny ones with --quick), generated once into workdir."""
    from .synthetic import render_video

    workdir.mkdir(parents=True, exist_ok=True)
    if quick:
        specs = [("synthetic_240p_2s", 320, 240, 50)]
    else:
        specs = [("synthetic_1080p_10s", 1920, 1080, 250), ("synthetic_720p_10s", 1280, 720, 250)]
    clips = []
    for name, w, h, n in specs:
        path = workdir / f"{name}.mp4"
        if not path.is_file():
            render_video(
                workdir / f".{name}.tmp.mp4", width=w, height=h, fps=25, n_frames=n, face_scale=0.35, seed=w
            ).replace(path)
        clips.append(Clip(name, path, w, h, n / 25, "synthetic"))
    if use_shared and not quick and SHARED_REAL.is_dir():
        from .media import probe

        for path in sorted(SHARED_REAL.glob("*.mp4")):
            info = probe(path)
            clips.append(Clip(path.stem, path, info.width, info.height, info.duration_s or 0, "shared"))
    return clips


def bench_model(workdir: Path, quick: bool) -> Path:
    """A seeded random-init ResNet50+BiLSTM (resnet18 at 64 px with --quick), saved once."""
    import torch

    from .models import create_model, save_checkpoint

    arch, overrides = ("resnet18_lstm", {"input_size": 64}) if quick else ("resnet50_lstm", {})
    path = workdir / f"{arch}-random-seed0.safetensors"
    if not path.is_file():
        torch.manual_seed(0)
        model, config = create_model(arch, **overrides)
        save_checkpoint(model, config, path)
    return path


# ------------------------------------------------------------------------------------------ our pipeline


def time_ours(model_path: Path, runtime: str, clips: list[Clip], reps: int, frames: int, cache: Path | None):
    """Median stage timings per clip for one runtime (in this process, warmed up first, like the server)."""
    from .config import Settings
    from .models.checkpoint import load_checkpoint
    from .pipeline import Detector

    settings = Settings(
        model_path=model_path, runtime=runtime, frames_per_video=frames, runtime_cache_dir=cache
    )
    detector = Detector(load_checkpoint(model_path), settings)
    detector.warmup()
    runs = []
    for clip in clips:
        reports, cpu = [], []
        for _ in range(reps):
            c0 = time.process_time()  # CPU seconds of every thread of this process: less load-dependent
            reports.append(detector.analyze(clip.path))
            cpu.append(time.process_time() - c0)
        timings = {k: statistics.median(getattr(r.timings, k) for r in reports) for k in STAGES}
        timings["cpu_s"] = statistics.median(cpu)
        last = reports[-1]
        runs.append(
            Run(
                runtime=runtime,
                backend=detector.classifier.backend,
                clip=clip.name,
                reps=reps,
                faces=len(last.faces),
                crops=sum(f.frames for f in last.faces),
                timings=timings,
                all_totals=[r.timings.total_s for r in reports],
                probability=last.fake_probability,
                frame_probabilities=[o.fake_probability for f in last.faces for o in f.observations],
            )
        )
    return runs, detector.classifier.describe()


# ----------------------------------------------------------------------------------------- naive (seed)


class NaivePipeline:
    """The seed's way, re-implemented: for N evenly spaced frames, OpenCV seeks (CAP_PROP_POS_FRAMES) and
    reads; facenet MTCNN(keep_all=False, image_size=224, margin=20, post_process=False) on the full-
    resolution PIL frame, one frame at a time; torchvision Resize/ToTensor/Normalize; then the eager fp32
    CNN+BiLSTM on the [1, T, 3, 224, 224] stack. Same weights as ours; torch's default thread count."""

    def __init__(self, model_path: Path):
        import torch
        from facenet_pytorch import MTCNN
        from torchvision import transforms

        from .models.checkpoint import load_checkpoint

        loaded = load_checkpoint(model_path)  # its own copy: ours may be channels-last
        self.model = loaded.model.eval()
        self.config = loaded.config
        size = self.config.input_size
        self.mtcnn = MTCNN(keep_all=False, image_size=size, margin=20, post_process=False, device="cpu")
        self.transform = transforms.Compose(
            [
                transforms.Resize((size, size)),
                transforms.ToTensor(),
                transforms.Normalize(self.config.mean, self.config.std),
            ]
        )
        self.torch = torch

    def analyze(self, path: Path, n_frames: int) -> dict:
        import cv2
        from PIL import Image

        torch = self.torch
        t = dict.fromkeys(STAGES, 0.0)
        t0, c0 = time.perf_counter(), time.process_time()
        cap = cv2.VideoCapture(str(path))
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        faces = []
        for index in np.linspace(0, max(total - 1, 0), n_frames).astype(int):
            a = time.perf_counter()
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
            ok, bgr = cap.read()
            if not ok:
                t["decode_s"] += time.perf_counter() - a
                continue
            frame = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            b = time.perf_counter()
            with torch.no_grad():
                face = self.mtcnn(frame)  # [3, 224, 224] float 0-255, or None
            c = time.perf_counter()
            if face is not None:
                faces.append(self.transform(Image.fromarray(face.permute(1, 2, 0).byte().numpy())))
            d = time.perf_counter()
            t["decode_s"] += b - a
            t["detect_s"] += c - b
            t["crop_s"] += d - c
        cap.release()
        a = time.perf_counter()
        probability = None
        if faces:
            with torch.no_grad():
                logit = self.model(torch.stack(faces).unsqueeze(0))  # [1, T, 3, S, S] -> [1, 1]
            probability = float(torch.sigmoid(logit / self.config.temperature)[0, 0])
        t["classify_s"] = time.perf_counter() - a
        t["total_s"] = time.perf_counter() - t0
        t["cpu_s"] = time.process_time() - c0
        return {"timings": t, "faces": len(faces), "probability": probability}


def time_naive(
    model_path: Path, clips: list[Clip], reps: int, frames: int, threads: int | None = None
) -> dict[str, dict]:
    import torch

    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _time_naive(model_path, clips, reps, frames)
    finally:
        torch.set_num_threads(previous)


def _time_naive(model_path: Path, clips: list[Clip], reps: int, frames: int) -> dict[str, dict]:
    naive = NaivePipeline(model_path)
    naive.analyze(clips[0].path, 2)  # load MTCNN / model pages; the seed also did this once at start-up
    out = {}
    for clip in clips:
        results = [naive.analyze(clip.path, frames) for _ in range(reps)]
        out[clip.name] = {
            "timings": {k: statistics.median(r["timings"][k] for r in results) for k in (*STAGES, "cpu_s")},
            "all_totals": [round(r["timings"]["total_s"], 3) for r in results],
            "faces": results[-1]["faces"],
            "probability": results[-1]["probability"],
            "reps": reps,
        }
    return out


# ---------------------------------------------------------------------------------------------- server


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


# --------------------------------------------------------------------------------------------- accuracy


def probability_diffs(runs: list[Run], reference: list[Run]) -> dict[str, dict]:
    """Per runtime: max |P - P_fp32| over videos and over frames (the same detections on both sides)."""
    ref = {r.clip: r for r in reference}
    out: dict[str, dict] = {}
    for r in runs:
        base = ref.get(r.clip)
        if base is None or r.probability is None or base.probability is None:
            continue
        row = out.setdefault(r.runtime, {"backend": r.backend, "max_video_diff": 0.0, "max_frame_diff": 0.0})
        row["max_video_diff"] = round(max(row["max_video_diff"], abs(r.probability - base.probability)), 4)
        if len(r.frame_probabilities) == len(base.frame_probabilities):
            frame = np.abs(np.subtract(r.frame_probabilities, base.frame_probabilities)).max(initial=0.0)
            row["max_frame_diff"] = round(max(row["max_frame_diff"], float(frame)), 4)
    return out


def validate_accuracy(model_path: Path, data: list[str], runtimes: list[str], workdir: Path) -> dict:
    """Video AUC of each runtime vs eager fp32 on labelled data (the checkpoint's validation split when
    it records one), |P - P_fp32| per video; records the result for RUNTIME=auto."""
    from .config import Settings
    from .models.checkpoint import load_checkpoint
    from .models.runtime import AUC_TOLERANCE, PROB_TOLERANCE, TrackClassifier, record_validation
    from .training.cache import CacheSpec, load_track, prepare, read_spec
    from .training.datasets import discover_all, split_sources
    from .training.evaluate import score_videos, video_probabilities
    from .training.metrics import binary_metrics
    from .training.samples import resize_crops

    loaded = load_checkpoint(model_path)
    config = loaded.config
    training = config.extra.get("training", {})
    recipe = training.get("recipe", {})
    sources = discover_all(data)
    split = "all"
    if recipe:
        _, sources = split_sources(
            sources, recipe.get("val_fraction", 0.2), recipe.get("seed", 0), val_match=recipe.get("val_match")
        )
        split = "val"
    cache_dir = training.get("data", {}).get("cache")
    if not (cache_dir and Path(cache_dir, "spec.json").is_file()):
        cache_dir = workdir / "accuracy-cache"
    spec = read_spec(cache_dir) or CacheSpec.from_settings(Settings(), scale=config.crop_scale)
    records = prepare(sources, cache_dir, spec, progress=False)

    def crops_for(item):
        return resize_crops(load_track(cache_dir, {"file": item.file}, spec.size), config.input_size)

    labels = np.array([s.label for s in sources])
    results: dict = {"data": [str(d) for d in data], "split": split, "videos": len(sources)}
    reference = None
    for runtime in ["torch", *runtimes]:
        clf = TrackClassifier(loaded, runtime=runtime)
        t0 = time.perf_counter()
        videos = score_videos(sources, records, crops_for, clf.score_tracks)
        probs = np.nan_to_num(video_probabilities(videos, config), nan=0.5)
        auc = binary_metrics(labels, probs, config.threshold)["auc"]
        row = {"backend": clf.backend, "auc": round(auc, 5), "seconds": round(time.perf_counter() - t0, 1)}
        if reference is None:
            reference = (auc, probs)
        else:
            row["auc_drop"] = round(reference[0] - auc, 5)
            row["max_video_diff"] = round(float(np.abs(probs - reference[1]).max()), 5)
            row["passed"] = row["auc_drop"] <= AUC_TOLERANCE and row["max_video_diff"] <= PROB_TOLERANCE
            if clf.backend == runtime and runtime in ("onnx-int8", "torch-bf16"):
                record_validation(clf, runtime, reference[0], auc, row["max_video_diff"], ", ".join(data))
        results[runtime] = row
    return results


# ---------------------------------------------------------------------------------------------- output


VIDEO_COLUMNS = (
    "pipeline",
    "clip",
    "faces/crops",
    "decode",
    "detect",
    "crop",
    "classify",
    "aggregate",
    "total (s)",
    "CPU (s)",
    "vs naive",
)
SERVER_COLUMNS = (
    "workers × threads",
    "backend",
    "clip",
    "clients",
    "videos",
    "videos/min",
    "latency p50 (s)",
    "peak RSS (MiB)",
    "cold start (s)",
    "CPU s/video",
    "videos/min if idle",
)


def video_rows(result: dict) -> list[list[str]]:
    """One row per (pipeline, clip): stage medians, wall and CPU seconds, speed-up over naive (wall)."""
    rows = []
    naive = result.get("naive", {})
    for r in result["runs"]:
        t = r["timings"]
        base = naive.get(r["clip"], {}).get("timings", {}).get("total_s")
        ratio = f"{base / t['total_s']:.1f}x" if base and t["total_s"] else "-"
        name = r["runtime"] if r["runtime"] == r["backend"] else f"{r['runtime']} → {r['backend']}"
        cells = [f"{t[k]:.3f}" for k in STAGES] + [f"{t.get('cpu_s', float('nan')):.2f}"]
        rows.append([f"ours ({name})", r["clip"], f"{r['faces']}/{r['crops']}", *cells, ratio])
    for clip, n in naive.items():
        t = n["timings"]
        cells = [f"{t[k]:.3f}" for k in STAGES] + [f"{t.get('cpu_s', float('nan')):.2f}"]
        who = f"naive seed-style ({result.get('naive_threads')} threads)"
        rows.append([who, clip, f"1/{n['faces']}", *cells, "1.0x"])
    return rows


def server_rows(result: dict) -> list[list[str]]:
    return [
        [
            f"{c['workers']} × {c['torch_threads']}",
            str(c["backend"]),
            c["clip"],
            str(c["clients"]),
            str(c["videos"]),
            f"{c['videos_per_min']:.1f}",
            str(c["latency_p50_s"]),
            str(c["peak_rss_mb"]),
            str(c["cold_start_s"]),
            str(c.get("cpu_s_per_video", "-")),
            str(c.get("videos_per_min_if_idle", "-")),
        ]
        for c in (result.get("server") or {}).get("configs", [])
    ]


def print_tables(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the tables into 80 columns
        console = Console(width=190)
    m = result["machine"]
    console.print(
        f"[bold]{m['cpu']}[/], {m['cores']} cores ({m['flags']}); torch {m['torch']}, onnxruntime "
        f"{m['onnxruntime']}; load average {m['load_average_start']} -> {m.get('load_average_end')}"
    )
    console.print(f"model: {result['model']}")

    def show(title: str, columns: tuple[str, ...], rows: list[list[str]], left: int) -> None:
        table = Table(title=title)
        for i, col in enumerate(columns):
            table.add_column(col, justify="left" if i < left else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)

    show(f"per video, {result['frames']} frames (medians; seconds)", VIDEO_COLUMNS, video_rows(result), 2)
    server = result.get("server")
    if server:
        show(
            "server under concurrent uploads (deepfake-detect serve, real HTTP)",
            SERVER_COLUMNS,
            server_rows(result),
            1,
        )
        if "cold_start_empty_cache_s" in server:
            console.print(f"cold start with an empty runtime cache: {server['cold_start_empty_cache_s']} s")
    diffs = result.get("probability_diffs")
    if diffs:
        rows = [
            [k, d["backend"], f"{d['max_video_diff']:.4f}", f"{d['max_frame_diff']:.4f}"]
            for k, d in diffs.items()
        ]
        show(
            "same verdicts: max |P(fake) - P_fp32| on the bench videos (eager fp32 reference)",
            ("runtime", "backend", "video", "frame"),
            rows,
            1,
        )
    acc = result.get("accuracy")
    if acc:
        rows = [
            [
                runtime,
                row["backend"],
                f"{row['auc']:.4f}",
                str(row.get("auc_drop", "-")),
                str(row.get("max_video_diff", "-")),
                str(row.get("passed", "reference")),
            ]
            for runtime, row in acc.items()
            if isinstance(row, dict)
        ]
        show(
            f"accuracy on {acc['videos']} labelled videos ({acc['split']} split)",
            ("runtime", "backend", "video AUC", "AUC drop", "max |dP| video", "passed"),
            rows,
            1,
        )


def _markdown_table(columns: tuple[str, ...], rows: list[list[str]], left: int) -> list[str]:
    align = ["---" if i < left else "---:" for i in range(len(columns))]
    return [f"| {' | '.join(columns)} |", f"|{'|'.join(align)}|", *(f"| {' | '.join(r)} |" for r in rows)]


def markdown(result: dict) -> str:
    """The per-video and server tables as Markdown, for docs/performance.md."""
    lines = _markdown_table(VIDEO_COLUMNS, video_rows(result), 2)
    if result.get("server"):
        lines += ["", *_markdown_table(SERVER_COLUMNS, server_rows(result), 1)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- command


def run_bench(args: argparse.Namespace) -> dict:
    import torch

    workdir = Path(args.workdir).expanduser()
    workdir.mkdir(parents=True, exist_ok=True)
    frames = args.frames or (8 if args.quick else 32)
    result: dict = {"machine": machine(), "frames": frames, "quick": args.quick}
    say = print if not args.json_only else (lambda *a, **k: None)

    say("bench: preparing clips and model ...", file=sys.stderr)
    clips = prepare_clips(workdir, args.quick, use_shared=not args.no_shared)
    model_path = Path(args.model) if args.model else bench_model(workdir, args.quick)
    cache = workdir / "runtime-cache" if not args.model else None
    result["model"] = str(model_path)
    result["clips"] = [{**asdict(c), "path": str(c.path)} for c in clips]
    torch.set_num_threads(args.threads or os.cpu_count() or 1)

    runs: list[Run] = []
    runtimes = [args.runtime, *(r for r in args.compare if r and r != args.runtime)]
    describe = {}
    for runtime in runtimes:
        say(f"bench: our pipeline, runtime {runtime} ...", file=sys.stderr)
        reps = args.reps if runtime == args.runtime else args.compare_reps
        got, describe[runtime] = time_ours(model_path, runtime, clips, reps, frames, cache)
        runs += got
    reference = [r for r in runs if r.runtime == "torch"]
    if not reference and not args.no_reference:
        say("bench: eager fp32 reference for the probability check ...", file=sys.stderr)
        reference, _ = time_ours(model_path, "torch", clips, 1, frames, cache)
    result["runs"] = [asdict(r) for r in runs]
    result["runtime"] = describe
    if reference:
        result["probability_diffs"] = probability_diffs([r for r in runs if r.runtime != "torch"], reference)

    if not args.no_naive:
        say("bench: naive seed-style pipeline ...", file=sys.stderr)
        result["naive"] = time_naive(model_path, clips, args.naive_reps, frames, args.naive_threads)
        result["naive_threads"] = args.naive_threads or torch.get_num_threads()

    if not args.no_server:
        say("bench: server throughput ...", file=sys.stderr)
        clip = next((c for c in clips if c.height == 720), clips[0])
        result["server"] = time_server(
            args, model_path, clip, frames, cache or workdir / "runtime-cache", workdir
        )

    if args.accuracy:
        say("bench: accuracy on labelled data ...", file=sys.stderr)
        compare = [r for r in runtimes if r not in ("torch", "auto")] or ["onnx-int8"]
        result["accuracy"] = validate_accuracy(model_path, args.accuracy, compare, workdir)
    result["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def cmd_bench(args: argparse.Namespace) -> int:
    if args.quick:
        args.reps = args.reps or 1
        args.compare_reps = args.compare_reps or 1
        args.server_videos = args.server_videos or 4
        args.clients = args.clients or 2
        args.server_workers = args.server_workers[-1:]
        if args.compare is None:
            args.compare = []
    args.reps = args.reps or 5
    args.compare_reps = args.compare_reps or 3
    args.server_videos = args.server_videos or 24
    args.clients = args.clients or 4
    if args.compare is None:
        args.compare = ["onnx-int8", "torch"]
    result = run_bench(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(markdown(result))
    if args.json_only:
        print(json.dumps(result, indent=2))
    else:
        print_tables(result)
    return 0


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def register(subparsers) -> None:
    from .models.runtime import RUNTIMES

    p = subparsers.add_parser(
        "bench", help="benchmark the pipeline against a seed-style one", description=__doc__.split("\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="tiny clips and model, one repetition: seconds")
    p.add_argument("--model", help="checkpoint (default: a seeded random-init ResNet50+BiLSTM)")
    p.add_argument("--runtime", default="auto", choices=RUNTIMES, help="runtime of the server and headline")
    p.add_argument(
        "--compare",
        type=_csv,
        default=None,
        help="more runtimes for the per-stage table (default: onnx-int8,torch)",
    )
    p.add_argument("--frames", type=int, help="frames per video (default 32; 8 with --quick)")
    p.add_argument("--reps", type=int, help="repetitions per clip for --runtime (default 5)")
    p.add_argument("--compare-reps", type=int, help="repetitions per clip for --compare runtimes (default 3)")
    p.add_argument("--naive-reps", type=int, default=1, help="repetitions of the naive pipeline (default 1)")
    p.add_argument("--threads", type=int, help="torch threads in this process (default: all cores)")
    p.add_argument(
        "--naive-threads", type=int, help="torch threads of the naive pipeline (default: --threads)"
    )
    p.add_argument("--clients", type=int, help="concurrent uploads to the server (default 4)")
    p.add_argument("--server-videos", type=int, help="videos uploaded in the throughput test (default 24)")
    p.add_argument(
        "--server-workers",
        type=lambda v: [int(x) for x in _csv(v)],
        default=[1, 2],
        help="INFERENCE_WORKERS values to test (default 1,2; --quick: 2)",
    )
    p.add_argument("--cold", action="store_true", help="also time a server start with an empty runtime cache")
    p.add_argument("--no-naive", action="store_true", help="skip the seed-style pipeline")
    p.add_argument("--no-server", action="store_true", help="skip the server throughput test")
    p.add_argument("--no-shared", action="store_true", help="ignore ../shared/data/videos/real")
    p.add_argument("--no-reference", action="store_true", help="skip the eager fp32 probability check")
    p.add_argument("--accuracy", nargs="+", metavar="DATA", help="labelled data for the AUC check")
    p.add_argument(
        "--workdir",
        default=str(Path(tempfile.gettempdir()) / "deepfake_detect_bench"),
        help="where clips, the random model and its runtime cache are kept between runs",
    )
    p.add_argument("--json", help="write every figure to this JSON file")
    p.add_argument("--markdown", help="write the tables as Markdown to this file")
    p.add_argument("--json-only", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=cmd_bench)
