"""`deepfake-detect prepare | train | evaluate` (registered into the main CLI by `register`).

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
import sys

from . import export
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


def cmd_train(args: argparse.Namespace) -> int:
    from .recipe import TrainConfig
    from .train import train

    if not args.data and not args.resume:
        print("error: give DATA folders, or --resume a run", file=sys.stderr)
        return 2
    if not args.out and not args.resume:
        print("error: --out DIR is required", file=sys.stderr)
        return 2
    sbi = {None: "auto", True: "on", False: "off"}[args.sbi]
    names = {f for f in TrainConfig.__dataclass_fields__}
    values = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.family_weight:
        pairs = [w.split("=", 1) for w in args.family_weight]
        values["family_weights"] = {name: float(weight) for name, weight in pairs}
    try:
        cfg = TrainConfig(**(values | {"sbi": sbi, "out": args.out or ""}))
    except ValueError as e:  # a bad option value, said before any work starts
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary = train(cfg)
    keys = ("best_epoch", "stopped", "threshold", "temperature", "aggregation")
    val = {k: summary["val"].get(k) for k in ("val_auc", "val_loss", "eer")}
    print(json.dumps({k: summary[k] for k in keys} | {"val": val}))
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

    t = subparsers.add_parser("train", help="train a model on data folders (prepares the cache first)")
    _data_args(t, required=False)
    t.add_argument("--out", help="run folder: checkpoints, metrics.jsonl, plots, summary.json")
    t.add_argument("--arch", help="registered architecture (default resnet18_lstm)")
    t.add_argument("--epochs", type=int, help="default 10; --resume: the run's own")
    t.add_argument("--batch-size", type=int)
    t.add_argument("--frames", type=int, help="crops per training window (default: the arch's)")
    t.add_argument("--input-size", type=int, help="crop side fed to the model (default: the arch's)")
    t.add_argument("--lr", type=float)
    t.add_argument("--backbone-lr-scale", type=float, help="CNN trunk lr as a fraction of --lr (default 1)")
    t.add_argument("--weight-decay", type=float)
    t.add_argument(
        "--val",
        action="append",
        metavar="DIR",
        help="validation data folder, repeatable (default: a grouped split)",
    )
    t.add_argument("--val-fraction", type=float, help="share of groups held out (default 0.2)")
    t.add_argument(
        "--report",
        action="append",
        metavar="DIR",
        help="data scored every epoch for the log only, never fitted on (e.g. a cross-dataset dev set)",
    )
    t.add_argument(
        "--val-match",
        action="append",
        metavar="GLOB",
        help="also hold out the groups of sources whose path matches, repeatable ('*/clip.mp4')",
    )
    t.add_argument("--cache", help="crop cache folder (default OUT/cache)")
    t.add_argument("--cache-frames", type=int, help="frames sampled per video into the cache (default 32)")
    t.add_argument("--cache-size", type=int, help="side of the cached face patches crops are cut from (224)")
    t.add_argument(
        "--cache-scale", type=float, help="patch side / face box in the cache (default: the crop's)"
    )
    t.add_argument(
        "--dlib",
        action="store_true",
        default=None,
        help="cache 68 landmarks (SBI masks follow the jaw), identity descriptors (person-disjoint split)",
    )
    t.add_argument("--workers", dest="prepare_workers", type=int, help="prepare processes (default 2)")
    t.add_argument(
        "--sbi",
        action=argparse.BooleanOptionalAction,
        help="Self-Blended Images from real tracks (default: on only when there are no fakes)",
    )
    t.add_argument("--sbi-only", action="store_true", help="train real vs SBI, ignoring real fakes")
    t.add_argument(
        "--sbi-pairs",
        action="store_true",
        help="with --sbi-only: each real comes with its own SBI copy, framed and augmented alike",
    )
    t.add_argument(
        "--p-sbi",
        type=float,
        help="share of real tracks blended (default 0.5; reals of families without fakes: at least 0.5 "
        "when another family has fakes)",
    )
    t.add_argument(
        "--pretrained",
        action=argparse.BooleanOptionalAction,
        help="start from the backbone's ImageNet weights when it has them (default on)",
    )
    t.add_argument(
        "--sbi-landmarks",
        type=int,
        choices=(68, 5),
        help="SBI masks from dlib's 68 points (default, when the cache has them) or MTCNN's 5",
    )
    t.add_argument(
        "--jitter",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        help="training crop scale range around the serving crop, e.g. 0.8 1.6 (HI <= --cache-scale)",
    )
    t.add_argument("--jitter-past-picture", action="store_true", help="chips framed in black as served")
    t.add_argument(
        "--family-weight",
        action="append",
        metavar="FAMILY=W",
        help="relative draw rate of a data family (top folder of the origin), repeatable: timit=0.5",
    )
    t.add_argument("--sbi-p-frequency", type=float, help="chance of SBI's frequency transform (default 1)")
    t.add_argument("--pos-weight", help="auto | none | a number (default auto)")
    t.add_argument("--oversample", action=argparse.BooleanOptionalAction, help="class-balanced sampling")
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, help="robustness augmentation")
    t.add_argument(
        "--downscale",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        help="augmentation shrinks crops to this fraction and back (default 0.4 0.9)",
    )
    t.add_argument("--p-jpeg", type=float, help="JPEG re-encode probability (default: as the others, 0.5)")
    t.add_argument("--p-sharpen", type=float, help="chance of sharpening the whole crop (default 0)")
    t.add_argument("--frame-loss-weight", type=float, help="weight of the per-frame loss (default 0.5)")
    t.add_argument("--ema", type=float, help="keep a moving average of weights, e.g. 0.998 (epoch_N_ema)")
    t.add_argument(
        "--aggregation",
        choices=("lstm", "mean_frame", "confident_frames"),
        help="fix the video score rule (default: best on val)",
    )
    t.add_argument(
        "--threshold-rule", choices=THRESHOLD_RULES, help="how val picks the threshold (default eer)"
    )
    t.add_argument("--seed", type=int)
    t.add_argument("--split-seed", type=int, help="seed of the validation split only (default: --seed)")
    t.add_argument("--patience", type=int, help="early-stop patience in epochs (0: off; default 5)")
    t.add_argument("--max-minutes", type=float, help="stop gracefully after this much wall time")
    t.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    t.add_argument("--loader-workers", type=int, help="DataLoader processes (default 0)")
    t.add_argument("--bf16", choices=("auto", "on", "off"), help="bf16 autocast (auto: when measured faster)")
    t.add_argument("--device", help="auto | cpu | cuda (default auto)")
    t.add_argument("--resume", help="a run folder or its last.pt")
    t.add_argument(
        "--init", help="start from this checkpoint's weights (same --arch), new optimiser and schedule"
    )
    t.set_defaults(func=cmd_train, sbi=None)

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
