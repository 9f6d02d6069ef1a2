"""Inputs of the bench: generated 10 s clips (plus the shared real videos), the machine, the model."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from .records import SHARED_REAL, Clip

# The instruction sets that decide which backend is fastest: int8 gains most with VNNI, bf16 needs
# AVX512-BF16 or AMX, and an AVX2-only CPU has neither (docs/performance.md, "An AVX2-only CPU").
SPEED_FLAGS = ("avx2", "avx_vnni", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8")


def cpu_flags(cpuinfo: str) -> str:
    """The SPEED_FLAGS that the first `flags` line of a /proc/cpuinfo text lists, in SPEED_FLAGS order."""
    line = next((ln for ln in cpuinfo.splitlines() if ln.startswith("flags")), "")
    have = set(line.partition(":")[2].split())
    return " ".join(f for f in SPEED_FLAGS if f in have)


def machine() -> dict:
    import onnxruntime
    import torch

    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux
        cpuinfo = ""
    names = (ln.partition(":")[2].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name"))
    model = next(names, "") or platform.processor() or "unknown"
    flags = cpu_flags(cpuinfo)
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
