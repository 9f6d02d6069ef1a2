"""Can quantisation-aware fine-tuning make static int8 safe for a checkpoint? A probe, not a recipe
(docs/performance.md, "Bundled model M", the int8 paragraph).

    .venv/bin/python benchmarks/int8_qat_probe.py --steps 100         # the bundled model, ~5 min on 2 cores

The student is a copy of the model whose CNN sees int8 noise as ONNX Runtime's static QDQ quantisation
(`backends.quantize_int8`) would put it there: per-output-channel symmetric int8 weights in [-127, 127],
uint8 per-tensor activations on the input, every conv output (after its activation), every residual sum
and the pooled features (60 of the 62 tensors ORT quantises; the other two are reshapes of the last),
with MinMax ranges from the runtime's own 96 calibration crops, refreshed every 20 steps. It learns to
give the frozen fp32 model's pooled features and frame logits on face crops of the training families
(not dev/ and not faces/, which the int8 check holds out), with and without the noise, so that its own
fp32 and int8 outputs stay close to the shipped ones. Printed every `--every` steps: the emulated int8
logit error against the student's own fp32 (the runtime's check allows about 0.25 at P = 0.5 after the
temperature) and how far the student's fp32 drifted from the model it started from.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from timm.layers import BatchNormAct2d
from torch import nn
from torch.nn.utils import parametrize

from deepfake_detect.faces import crop_face
from deepfake_detect.inference.bundled import model_or_served
from deepfake_detect.inference.runtime import TrackClassifier
from deepfake_detect.media import read_image_rgb

# Images drawn per training family, one face each: 1,393 crops with a face.
FAMILIES = {
    "utkface": 500,
    "dfdc_faces/real": 200,
    "dfdc_faces/fake": 300,
    "timit": 200,
    "talking_heads": 200,
}


class Noise:
    """Whether the fake quantisers are on, or recording activation ranges (calibration, as ORT: fp32)."""

    on = True
    recording = False


class WeightInt8(nn.Module):
    def forward(self, w: torch.Tensor) -> torch.Tensor:
        if not Noise.on:
            return w
        scale = w.detach().abs().amax(dim=tuple(range(1, w.dim()))).clamp_min(1e-8) / 127.0
        zero = torch.zeros_like(scale, dtype=torch.int32)
        return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -127, 127)


class ActivationUint8:
    def __init__(self) -> None:
        self.lo = self.hi = 0.0  # ORT's ranges always hold zero

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        if Noise.recording:
            self.lo, self.hi = min(self.lo, float(t.min())), max(self.hi, float(t.max()))
            return t
        if not Noise.on:
            return t
        scale = max((self.hi - self.lo) / 255.0, 1e-8)
        return torch.fake_quantize_per_tensor_affine(t, scale, int(round(-self.lo / scale)), 0, 255)


def instrument(cnn: nn.Module) -> list[ActivationUint8]:
    quantisers = [ActivationUint8()]
    cnn.register_forward_pre_hook(lambda _m, args: (quantisers[0](args[0]),))
    for name, m in list(cnn.named_modules()):
        if isinstance(m, nn.Conv2d):
            parametrize.register_parametrization(m, "weight", WeightInt8())
        if isinstance(m, BatchNormAct2d) or getattr(m, "has_skip", False) or name == "global_pool":
            q = ActivationUint8()
            quantisers.append(q)
            m.register_forward_hook(lambda _m, _i, out, q=q: q(out))
    return quantisers


def family_crops(clf: TrackClassifier, data: Path, seed: int = 0) -> np.ndarray:
    rng = random.Random(seed)
    files: list[Path] = []
    for family, n in FAMILIES.items():
        images = sorted(p for p in (data / family).rglob("*") if p.suffix.lower() in (".jpg", ".png"))
        files += rng.sample(images, min(n, len(images)))
    detector, crops = clf.faces.detector(), []
    for i in range(0, len(files), 16):
        images = [read_image_rgb(f) for f in files[i : i + 16]]
        for image, dets in zip(images, detector.detect_images(images), strict=True):
            crops += [crop_face(image, d, clf.faces.crop) for d in dets[:1]]
    return np.stack(crops)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="checkpoint (default: MODEL_PATH or the bundled model)")
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--every", type=int, default=50)
    args = p.parse_args()
    torch.manual_seed(0)
    loaded = model_or_served(args.model)
    clf = TrackClassifier(loaded, runtime="torch")
    teacher = loaded.model.eval().float()
    student = copy.deepcopy(teacher)
    quantisers = instrument(student.cnn)
    x = clf.preprocess(family_crops(clf, Path(args.data))).contiguous()  # [N, 3, S, S]
    calibration = clf.preprocess(clf.calibration_crops()[0]).contiguous()

    def features(model: nn.Module, batch: torch.Tensor, noise: bool) -> torch.Tensor:
        Noise.on = noise
        return torch.cat([model.features(batch[i : i + 32]) for i in range(0, len(batch), 32)])

    def frame_logits(feats: torch.Tensor) -> torch.Tensor:  # each crop a one-frame track
        return student.temporal(feats.unsqueeze(1))[1][:, 0]

    def recalibrate() -> None:
        for q in quantisers:
            q.lo = q.hi = 0.0
        Noise.recording = True
        with torch.no_grad():
            features(student, calibration, noise=False)
        Noise.recording = False

    with torch.no_grad():
        f_teacher = features(teacher, x, noise=False)
        z_teacher = frame_logits(f_teacher)
    f_scale = f_teacher.pow(2).mean()

    def report(step: int) -> None:
        recalibrate()
        with torch.no_grad():
            z_int8 = frame_logits(features(student, x, True))
            z_fp32 = frame_logits(features(student, x, False))
        row = {"step": step, "int8 vs own fp32, max |dlogit|": float((z_int8 - z_fp32).abs().max())}
        row["mean |dlogit|"] = float((z_int8 - z_fp32).abs().mean())
        row["fp32 drift from the model, max |dlogit|"] = float((z_fp32 - z_teacher).abs().max())
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)

    student.eval()  # BatchNorm statistics stay frozen
    for name, param in student.named_parameters():
        param.requires_grad_(name.startswith("cnn."))
    opt = torch.optim.AdamW([q for q in student.parameters() if q.requires_grad], lr=args.lr, weight_decay=0)
    print(f"{loaded.model_id}: {len(x)} crops, {len(quantisers)} quantised activations", flush=True)
    report(0)
    t0 = time.time()
    for step in range(1, args.steps + 1):
        if step % 20 == 1:
            recalibrate()
        batch = x[torch.randint(0, len(x), (16,))]
        with torch.no_grad():
            target = teacher.features(batch)
            z_target = frame_logits(target)
        loss = torch.zeros(())
        for noise in (True, False):
            feats = features(student, batch, noise)
            loss = loss + F.mse_loss(feats, target) / f_scale
            loss = loss + 0.1 * F.mse_loss(frame_logits(feats), z_target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % args.every == 0:
            print(f"step {step}: loss {loss.item():.4f}, {(time.time() - t0) / step:.2f} s/step", flush=True)
            report(step)


if __name__ == "__main__":
    main()
