"""Check Y (docs/training.md): does capping a face crop's detail at what training faces had help?

    .venv/bin/python benchmarks/detail_cap_probe.py                 # the bundled model, matched cache
    .venv/bin/python benchmarks/detail_cap_probe.py --stats-only    # only the training faces' detail

A crop's *detail* is how many source pixels span its face: the MTCNN box side in the frame, but no more
than the patch holds (patch_size / patch_scale: 142 px for the bundled model). Training faces are small
(UTKFace chips, tight 224 px DFDC crops, 224 px talking-head frames), so the model has rarely seen a face
with full detail, while `dev/`'s 950 px frames give every crop all 142 px (docs/training.md, "Why every
`dev/` score sits under the threshold"). The cap is fixed from the TRAINING split alone: the median detail
of its tracks. A crop with more detail is shrunk to that many pixels across the face and restored, by
training's own downscale step (`augment.apply_params`, area down, bilinear up); others are left alone.

Scores the checkpoint's validation split (with SBI copies) and `dev/` with and without the cap, and scans
the real videos with it, by patching the crop step of scoring and of the serving pipeline (a probe:
nothing in the package changes). Prints the figures the pre-registered rule reads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from deepfake_detect.faces.crop import CropSpec
from deepfake_detect.inference.bundled import model_or_served
from deepfake_detect.training import evaluate as ev
from deepfake_detect.training import scoring
from deepfake_detect.training.augment import AugmentParams, apply_params

DATA = Path("../shared/data")
FAMILIES = [str(DATA / f) for f in ("dfdc_faces", "utkface", "talking_heads", "faces", "timit")]
DEV = [str(DATA / "dev/frames"), str(DATA / "dev/talking_heads")]


def detail(box_sides: np.ndarray, spec: CropSpec) -> float:
    """Source pixels across the face in the model's crop: the median box side, at most the patch's."""
    return float(min(np.median(box_sides), spec.patch_size / spec.margin))


def capped(crops: np.ndarray, have: float, cap: float, spec: CropSpec) -> np.ndarray:
    """[T, S, S, 3] crops with `have` px of detail -> at most `cap` px (unchanged when already below)."""
    if have <= cap:
        return crops
    params = AugmentParams(downscale=cap / (spec.size / spec.scale))  # the box spans size/scale crop px
    return np.stack([apply_params(c, params) for c in crops])


def track_detail(record, track_id: int, spec: CropSpec) -> float:
    track = next(t for t in record.tracks if t.track_id == track_id)
    boxes = np.asarray(track.boxes, np.float32)  # [T, 4]
    return detail(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), spec)


def training_cap(model: str | None, cache: str) -> tuple[float, dict]:
    config = model_or_served(model).config
    train = scoring.prepare_scoring(config, FAMILIES, "train", cache, progress=False)
    spec, by_family = train.face.crop, {}
    for s in train.sources:
        if s.label:  # M trained on Self-Blended copies of the reals only
            continue
        rec = train.records[s.key]
        for t in rec.tracks:
            by_family.setdefault(Path(s.origin).name or s.origin, []).append(
                track_detail(rec, t.track_id, spec)
            )
    every = np.concatenate([np.array(v) for v in by_family.values()])
    stats = {
        fam: {
            "tracks": len(v),
            "median": round(float(np.median(v)), 1),
            "at_patch_limit": round(float(np.mean(np.array(v) >= spec.patch_size / spec.margin - 0.5)), 3),
        }
        for fam, v in sorted(by_family.items())
    }
    stats["all"] = {
        "tracks": len(every),
        "median": round(float(np.median(every)), 1),
        "quartiles": [round(float(q), 1) for q in np.percentile(every, [25, 75])],
    }
    return float(np.median(every)), stats


def patch_scoring(cap: float | None) -> None:
    original = scoring.ScoringSet.__dict__.get("_probe_original") or scoring.ScoringSet.crops
    scoring.ScoringSet._probe_original = original

    def crops(self, item):
        out = original(self, item)
        if cap is None:
            return out
        return capped(
            out, track_detail(self.records[item.key], item.track_id, self.face.crop), cap, self.face.crop
        )

    scoring.ScoringSet.crops = crops


def summary(metrics: dict) -> dict:
    fam = {k: round(v["auc"], 3) for k, v in metrics["per_family"].items() if v.get("auc") is not None}
    out = {
        "auc": round(metrics["video_auc"], 3),
        "log_loss": round(metrics["log_loss"], 3),
        "per_family": fam,
    }
    if "against_reals" in metrics and len(metrics["against_reals"]) > 3:  # dev/: per method
        out["per_method"] = {k: round(v["auc"], 2) for k, v in metrics["against_reals"].items()}
    if "sbi_copies" in metrics:
        out["sbi_copies"] = round(metrics["sbi_copies"]["auc"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the bundled model)")
    parser.add_argument("--cache", default="runs/cache-gpu256", help="the checkpoint's training cache")
    parser.add_argument("--dev-cache", default="runs/devcache", help="dev/ at serving geometry (32 frames)")
    parser.add_argument("--out", default="runs/detail_cap", help="reports of every evaluation")
    parser.add_argument("--stats-only", action="store_true")
    args = parser.parse_args()
    cap, stats = training_cap(args.model, args.cache)
    print(f"training faces' detail (px across the face): {json.dumps(stats)}; cap {cap:.1f}", flush=True)
    if args.stats_only:
        return
    results = {"cap": cap, "training_detail": stats}
    for name, value in (("as_served", None), ("capped", cap)):
        patch_scoring(value)
        out = Path(args.out, name)
        val = ev.evaluate(
            FAMILIES, args.model, out / "val", args.cache, split="val", with_sbi_copies=True, progress=False
        )
        dev = ev.evaluate(
            DEV, args.model, out / "dev", args.dev_cache, progress=False, methods=DATA / "sources_round2.csv"
        )
        results[name] = {"val": summary(val), "dev": summary(dev)}
        print(name, json.dumps(results[name]), flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:  # scan in a child, crop patched
        f.write(SCAN_CHILD)
    env = {**os.environ, **({"MODEL_PATH": args.model} if args.model else {})}
    scan = subprocess.run([sys.executable, f.name, str(cap)], capture_output=True, text=True, env=env)
    results["real_videos_capped"] = scan.stdout.strip()
    print(
        "real videos, capped:\n", scan.stdout.strip(), scan.stderr.strip()[-2000:] if scan.returncode else ""
    )
    Path(args.out, "results.json").write_text(json.dumps(results, indent=2))


SCAN_CHILD = f"""
import sys
import numpy as np
sys.path.insert(0, {str(Path(__file__).parent)!r})
import detail_cap_probe as probe
from deepfake_detect import cli, pipeline
cap = float(sys.argv[1])
original = pipeline.crop_track
def crop_track(frames, track, spec):
    sides = np.array([d.size for d in track.detections], np.float32)
    return probe.capped(original(frames, track, spec), probe.detail(sides, spec), cap, spec)
pipeline.crop_track = crop_track
sys.exit(cli.main(["scan", {str(DATA / "videos/real")!r}, "--json"]))
"""


if __name__ == "__main__":
    main()
