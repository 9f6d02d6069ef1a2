"""The seed-style naive pipeline, re-implemented for the speed-up ratio: OpenCV seek per frame, MTCNN on
each full-resolution frame, torchvision transforms, eager fp32 CNN+BiLSTM."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from .records import STAGES, Clip


class NaivePipeline:
    """The seed's way, re-implemented: for N evenly spaced frames, OpenCV seeks (CAP_PROP_POS_FRAMES) and
    reads; facenet MTCNN(keep_all=False, image_size=224, margin=20, post_process=False) on the full-
    resolution PIL frame, one frame at a time; torchvision Resize/ToTensor/Normalize; then the eager fp32
    CNN+BiLSTM on the [1, T, 3, 224, 224] stack. Same weights as ours; torch's default thread count."""

    def __init__(self, model_path: Path):
        import torch
        from facenet_pytorch import MTCNN
        from torchvision import transforms

        from ..models.checkpoint import load_checkpoint

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
