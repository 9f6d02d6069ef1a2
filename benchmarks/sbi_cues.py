"""Which part of our Self-Blended copy does a checkpoint read? (docs/training.md, run R, "What the
model reads in a Self-Blended copy".)

    .venv/bin/python benchmarks/sbi_cues.py                                   # the bundled model
    .venv/bin/python benchmarks/sbi_cues.py --model runs/r/fpr5.safetensors --cache runs/cache-gpu256

Scores the SBI-copies AUC of `evaluate --split val --sbi-copies` (each validation real against a blended
copy of itself) once per variant of `sbi.self_blend`: as trained, with one of its three source transforms
(colour, frequency, scale-and-shift) replaced by the identity, with the frequency transform held to one of
its three branches (down-and-up scaling, Gaussian blur, sharpening), and with all three off (the copy is
then the real itself: AUC 0.5, the check that the switch takes). ~1 min per variant on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable

import numpy as np

from deepfake_detect.inference.bundled import model_or_served
from deepfake_detect.training import evaluate as ev
from deepfake_detect.training import sbi
from deepfake_detect.training.scoring import training_folders

TRANSFORMS = ("_colour_transform", "_frequency_transform", "_scale_shift")
ORIGINAL = {name: getattr(sbi, name) for name in TRANSFORMS}


def _identity(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return image.astype(np.float32)


def _frequency_branch(k: int) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """The frequency transform forced onto its branch k (0 down-up, 1 blur, 2 sharpen), own draws."""

    def transform(source: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        g = np.random.default_rng(int(rng.integers(1 << 30)))
        while True:  # redraw until the original picks branch k, then replay that state
            state = g.bit_generator.state
            if int(g.integers(3)) == k:
                g.bit_generator.state = state
                return ORIGINAL["_frequency_transform"](source, g)

    return transform


VARIANTS: dict[str, dict[str, Callable]] = {
    "as trained": {},
    "no colour": {"_colour_transform": _identity},
    "no frequency": {"_frequency_transform": _identity},
    "no scale-shift": {"_scale_shift": _identity},
    "frequency: down-up only": {"_frequency_transform": _frequency_branch(0)},
    "frequency: blur only": {"_frequency_transform": _frequency_branch(1)},
    "frequency: sharpen only": {"_frequency_transform": _frequency_branch(2)},
    "all off (check: 0.5)": dict.fromkeys(TRANSFORMS, _identity),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the bundled model)")
    parser.add_argument("--cache", default="runs/cache-gpu256", help="the training cache (exported)")
    parser.add_argument(
        "--data",
        nargs="+",
        help="data folders (default: the ones the checkpoint trained on, under ../shared/data)",
    )
    args = parser.parse_args()
    args.data = args.data or training_folders(model_or_served(args.model).config)
    aucs = {}
    for name, patch in VARIANTS.items():
        for transform, original in ORIGINAL.items():
            setattr(sbi, transform, patch.get(transform, original))
        with tempfile.TemporaryDirectory() as out:
            metrics = ev.evaluate(
                args.data, args.model, out, args.cache, split="val", with_sbi_copies=True, progress=False
            )
        aucs[name] = round(metrics["sbi_copies"]["auc"], 3)
        print(f"{name:28s} SBI-copies AUC {aucs[name]:.3f}", flush=True)
    print(json.dumps(aucs))


if __name__ == "__main__":
    main()
