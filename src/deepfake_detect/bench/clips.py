"""Inputs of the bench: generated 10 s clips (plus the shared real videos), the machine, the model."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from .records import SHARED_REAL, Clip


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
    from ..synthetic import render_video

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
        from ..media import probe

        for path in sorted(SHARED_REAL.glob("*.mp4")):
            info = probe(path)
            clips.append(Clip(path.stem, path, info.width, info.height, info.duration_s or 0, "shared"))
    return clips


def bench_model(workdir: Path, quick: bool) -> Path:
    """A seeded random-init ResNet50+BiLSTM (resnet18 at 64 px with --quick), saved once."""
    import torch

    from ..models import create_model, save_checkpoint

    arch, size = ("resnet18_lstm", 64) if quick else ("resnet50_lstm", 224)
    path = workdir / f"{arch}-random-seed0.safetensors"
    if not path.is_file():
        torch.manual_seed(0)
        model, config = create_model(arch, input_size=size)
        save_checkpoint(model, config, path)
    return path
