"""How much detail do the training faces carry? (docs/training.md, check Y.)

    .venv/bin/python benchmarks/detail_cap_probe.py                      # the bundled model's training reals
    .venv/bin/python benchmarks/detail_cap_probe.py --model runs/x/best.safetensors --cache runs/x/cache

A crop's *detail* is how many source pixels span its face: the MTCNN box side in the frame, but no more
than the patch holds (patch_size / patch_scale: 142 px for the bundled model). Check Y would have shrunk
every serving crop with more detail than the median training track to that median; this prints the
median per data family and overall, with the box sides' percentiles. For the bundled model the median is
the patch's own limit (96 % of training tracks fill it), so the cap would change nothing and check Y
stopped here. ~15 s on 2 cores, from the training cache's index.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from deepfake_detect.inference.bundled import model_or_served
from deepfake_detect.training import evaluate as ev
from deepfake_detect.training import scoring


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the bundled model)")
    parser.add_argument("--cache", default="runs/cache-gpu256", help="the checkpoint's training cache")
    args = parser.parse_args()
    config = model_or_served(args.model).config
    data = scoring.training_folders(config)
    train = scoring.prepare_scoring(config, data, "train", args.cache, progress=False)
    spec, sides = train.face.crop, {}
    for s in train.sources:
        if s.label:  # the bundled model trained on Self-Blended copies of the reals only
            continue
        for t in train.records[s.key].tracks:
            boxes = np.asarray(t.boxes, np.float32)  # [T, 4] x1, y1, x2, y2 in frame pixels
            side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])  # [T]
            sides.setdefault(ev.family(s.origin), []).append(float(np.median(side)))
    limit = spec.patch_size / spec.margin  # the most source pixels a face keeps in the model's crop
    report = {}
    for name, values in [*sorted(sides.items()), ("all", [v for vs in sides.values() for v in vs])]:
        v = np.array(values)
        report[name] = {
            "tracks": len(v),
            "box_px_p10_p25_p50_p75_p90": np.percentile(v, [10, 25, 50, 75, 90]).round(0).tolist(),
            "median_detail_px": round(min(float(np.median(v)), limit), 1),
            "share_at_patch_limit": round(float(np.mean(v >= limit)), 3),
        }
    print(json.dumps({"patch_limit_px": round(limit, 1), "training_reals": report}, indent=2))


if __name__ == "__main__":
    main()
