"""How far static int8 moves a checkpoint's P(fake), and which part of the graph it comes from
(the int8 paragraph of docs/performance.md, "Bundled model M").

    .venv/bin/python benchmarks/int8_sensitivity.py                      # the bundled model
    .venv/bin/python benchmarks/int8_sensitivity.py --model runs/x/best.safetensors --faces DIR DIR

Each variant quantises the exported feature graph as the runtime does (`backends.quantize_int8`: QDQ,
per-channel int8 weights, uint8 activations, calibrated on the packaged sample face), with some nodes
left in fp32, then scores held-out face crops (one per image of the `--faces` folders, one-frame tracks)
against eager fp32: the max |ΔP(fake)| the runtime's check compares with PROB_TOLERANCE, the max raw
logit change, and the mean relative change of the pooled features.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx

from deepfake_detect.inference.backends import OnnxFeatures, TorchFeatures, quantize_int8
from deepfake_detect.inference.bundled import model_or_served
from deepfake_detect.inference.calibration_data import folder_face_crops
from deepfake_detect.inference.runtime import TrackClassifier
from deepfake_detect.inference.validation import PROB_TOLERANCE, compare_backends
from deepfake_detect.models.checkpoint import LoadedModel


def variants(graph: onnx.GraphProto) -> dict[str, dict]:
    """Variant name -> quantize_int8 keyword arguments."""
    nodes = list(graph.node)
    convs = [n.name for n in nodes if n.op_type == "Conv"]
    grouped = {n.name for n in nodes for a in n.attribute if a.name == "group" and a.i > 1}
    depthwise = [c for c in convs if c in grouped]
    third = len(convs) // 3

    def only(*types: str) -> dict:
        return {"exclude": [n.name for n in nodes if n.op_type not in types]}

    return {
        "all (MinMax, as served)": {},
        "all, Percentile calibration": {"method": "Percentile"},
        "all, Entropy calibration": {"method": "Entropy"},
        "depthwise convs in fp32": {"exclude": depthwise},
        "first and last conv in fp32": {"exclude": [convs[0], convs[-1]]},
        "first third of convs only": {"exclude": convs[third:]},
        "middle third of convs only": {"exclude": convs[:third] + convs[2 * third :]},
        "last third of convs only": {"exclude": convs[: 2 * third]},
        "first 10 convs in fp32, Percentile": {"method": "Percentile", "exclude": convs[:10]},
        "last 20 convs only, Percentile": {"method": "Percentile", "exclude": convs[:-20]},
        "residual Adds only": only("Add"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="checkpoint (default: MODEL_PATH or the bundled model)")
    p.add_argument(
        "--faces",
        nargs="+",
        default=["../shared/data/dev/frames", "../shared/data/faces"],
        help="folders of images/videos for the held-out crops",
    )
    p.add_argument("--per-folder", type=int, default=40, help="at most this many crops per folder")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="dfd-int8-") as work:  # ONNX graphs, ~20 MB: not left behind
        run(model_or_served(args.model), args.faces, args.per_folder, Path(work))


def run(loaded: LoadedModel, folders: list[str], per_folder: int, work: Path) -> None:
    clf = TrackClassifier(loaded, runtime="onnx", cache_dir=work)
    fp32 = clf.runtime_cache().path("onnx")
    held = np.concatenate([folder_face_crops(f, clf.faces, n=per_folder) for f in folders])
    tracks = [held[i : i + 1] for i in range(len(held))]  # [1, S, S, 3] each: a photo is a one-frame track
    calibration = clf.preprocess(clf.calibration_crops()[0]).numpy()
    x = clf.preprocess(held)
    ref = TorchFeatures(clf.model)(x).numpy()  # [N, C]
    print(f"{loaded.model_id}: {len(held)} held-out crops, temperature {clf.config.temperature:.2f}")
    for name, kw in variants(onnx.load(str(fp32)).graph).items():
        out = quantize_int8(fp32, calibration, work / "int8.onnx", **kw)
        features = OnnxFeatures(out, threads=2)
        got = features(x).numpy()
        rel = np.linalg.norm(got - ref, axis=1) / np.maximum(np.linalg.norm(ref, axis=1), 1e-12)
        d = compare_backends(clf, features, tracks)
        row = {"variant": name, "max_dP": d["max_prob_diff"], "max_dlogit": d["max_logit_diff"]}
        row["feature_rel_change"] = round(float(rel.mean()), 4)
        row["passes"] = d["max_prob_diff"] <= PROB_TOLERANCE
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
