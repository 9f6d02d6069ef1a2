"""`deepfake-detect prepare | train | evaluate | calibrate` (registered into the main CLI by `register`;
`train`'s many flags live in train_cli.py).

deepfake-detect prepare DATA... --cache runs/cache              # faces -> crop cache, resumable
deepfake-detect train DATA... --arch resnet18_lstm --epochs 10 --out runs/r18 [--max-minutes 30]
deepfake-detect train --resume runs/r18                         # go on after an interruption, same schedule
deepfake-detect train --resume runs/r18 --epochs 20             # continue a run on a longer schedule
deepfake-detect evaluate DATA... --model runs/r18/best.safetensors --out runs/r18/eval [--split val]
deepfake-detect export-cache runs/cache runs/cache-small --size 256      # compact copy to train elsewhere
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from . import export, train_cli
from .datasets import LAYOUTS
from .metrics import THRESHOLD_RULES

_HEADLINE = "video_auc video_auc_ci95 frame_auc log_loss accuracy precision recall f1 eer ap".split()


def _data_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument(
        "data",
        nargs="+" if required else "*",
        metavar="DATA",
        help="data folders: DFDC parts (metadata.json), real/ + fake/ folders, or photos",
    )
    p.add_argument("--layout", default="auto", choices=LAYOUTS)
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")


def cmd_prepare(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..faces import CropSpec, FaceSpec
    from .cache import prepare
    from .datasets import discover_all
    from .records import summarize

    sources = discover_all(args.data, args.layout)
    patch = CropSpec(size=args.size, scale=args.scale, patch_size=args.size)
    face = FaceSpec.from_settings(Settings(), crop=patch)
    spec = dataclasses.replace(
        face.cache_spec(),
        frames=args.frames or face.frames,
        dlib=args.dlib,
        match_frame_sizes=args.match_frame_sizes,
    )
    records = prepare(sources, args.cache, spec, workers=args.workers, progress=args.progress)
    print(json.dumps(summarize(records)))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate

    keys = ("layout", "split", "val_fraction", "seed", "workers", "progress", "methods")
    kw = {k: getattr(args, k) for k in keys} | {"cache_dir": args.cache, "with_sbi_copies": args.sbi_copies}
    metrics = evaluate(args.data, args.model, args.out, **kw)
    sbi = metrics.get("sbi_copies")
    print(
        json.dumps(
            {k: metrics[k] for k in _HEADLINE}
            | ({"sbi_copies_auc": sbi["auc"], "sbi_copies_recall": sbi["recall"]} if sbi else {})
            | {"n_videos": metrics["n_videos"], "n_no_verdict": metrics["n_no_verdict"]}
        )
    )
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .recalibrate import recalibrate

    keys = ("split", "split_of", "layout", "threshold_rule", "temperature_rule", "workers", "progress")
    kw = {k: getattr(args, k) for k in keys} | {"cache_dir": args.cache}
    _, summary = recalibrate(args.data, args.model, args.out, **kw)
    print(json.dumps(summary | {"out": str(args.out)}))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("prepare", help="detect, track and crop faces into a training cache")
    _data_args(p)
    p.add_argument("--cache", required=True, help="cache folder (created; resumable)")
    p.add_argument("--frames", type=int, help="frames sampled per video (default $FRAMES_PER_VIDEO, 32)")
    p.add_argument("--size", type=int, default=224, help="face patch side stored (default 224)")
    p.add_argument("--scale", type=float, default=1.3, help="patch side / face box side (default 1.3)")
    p.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    for flag, text in (  # both are the cache's: train and evaluate use it as it was made
        ("--dlib", "also dlib's 68 landmarks per patch, an identity per track (SBI masks, person splits)"),
        ("--match-frame-sizes", "real/ + fake/ frames of unlike sizes resampled alike (DeepfakeTIMIT)"),
    ):
        p.add_argument(flag, action="store_true", help=text)
    p.set_defaults(func=cmd_prepare)

    _data_args(train_cli.register(subparsers), required=False)

    e = subparsers.add_parser("evaluate", help="metrics and plots of a checkpoint on labelled data")
    _data_args(e)
    e.add_argument(
        "--model", help="checkpoint (.safetensors or seed .pth); default: MODEL_PATH or the bundled model"
    )
    e.add_argument("--out", required=True, help="report folder: metrics.json, predictions.jsonl, PNGs")
    e.add_argument(
        "--cache", help="crop cache (default: the model's training cache if present, else OUT/cache)"
    )
    e.add_argument(
        "--split",
        default="all",
        choices=("all", "val", "train"),
        help="evaluate one side of the training split (default all)",
    )
    e.add_argument("--val-fraction", type=float, help="for --split (default: the training run's)")
    e.add_argument("--seed", type=int, help="for --split (default: the training run's split seed)")
    e.add_argument("--workers", type=int, default=2, help="prepare processes (default 2)")
    e.add_argument(
        "--sbi-copies",
        action="store_true",
        help="also score a Self-Blended copy of each real video: AUC of reals vs their blends (sbi_copies)",
    )
    e.add_argument(
        "--methods",
        metavar="CSV",
        help="provenance table (columns path, method; paths relative to it) to report each fake method "
        "apart, e.g. ../shared/data/sources_round2.csv",
    )
    e.set_defaults(func=cmd_evaluate)

    c = subparsers.add_parser(
        "calibrate", help="refit a checkpoint's temperature, bias and threshold on labelled data"
    )
    _data_args(c)
    c.add_argument("--model", help="checkpoint (default: MODEL_PATH or the bundled model)")
    c.add_argument("--out", required=True, help="the recalibrated checkpoint to write (.safetensors)")
    c.add_argument(
        "--split",
        default="all",
        choices=("all", "val", "train"),
        help="fit on one side of the training split (default all: the data as given)",
    )
    c.add_argument("--split-of", help="take the split from this checkpoint's training recipe")
    c.add_argument("--cache", help="crop cache (default: the training cache if present, else next to OUT)")
    c.add_argument("--threshold-rule", default="eer", choices=THRESHOLD_RULES)
    c.add_argument("--temperature-rule", default="pooled", choices=("pooled", "worst-family"))
    c.add_argument("--workers", type=int, default=2, help="prepare processes (default 2)")
    c.set_defaults(func=cmd_calibrate)

    export.register(subparsers)
