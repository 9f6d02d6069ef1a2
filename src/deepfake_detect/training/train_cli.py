"""`deepfake-detect train`: the command and its flags (`TrainConfig`'s fields, train_config.py).

Kept apart from training/cli.py because the recipe's flags outnumber every other command's together.
"""

from __future__ import annotations

import argparse
import json
import sys

from .metrics import THRESHOLD_RULES


def cmd_train(args: argparse.Namespace) -> int:
    from .train import train
    from .train_config import TrainConfig

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


def register(subparsers) -> argparse.ArgumentParser:
    """Add `train` and its recipe flags; the caller adds the DATA folders, as for the other commands."""
    t = subparsers.add_parser("train", help="train a model on data folders (prepares the cache first)")
    t.add_argument("--out", help="run folder: checkpoints, metrics.jsonl, plots, summary.json")
    t.add_argument("--arch", help="registered architecture (default resnet18_lstm)")
    t.add_argument("--epochs", type=int, help="default 10; --resume: the run's own")
    t.add_argument("--batch-size", type=int)
    t.add_argument("--frames", type=int, help="crops per training window (default: the arch's)")
    t.add_argument("--input-size", type=int, help="crop side fed to the model (default: the arch's)")
    t.add_argument("--lr", type=float)
    t.add_argument("--backbone-lr-scale", type=float, help="CNN trunk lr as a fraction of --lr (default 1)")
    t.add_argument("--freeze-bn", action="store_true", help="CNN BatchNorm on ImageNet's statistics")
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
    t.add_argument("--p-erase", type=float, help="chance of greying a rectangle of the crop (default 0)")
    t.add_argument("--p-dim", type=float, help="chance of low light, sensor noise included (default 0)")
    t.add_argument("--frame-loss-weight", type=float, help="weight of the per-frame loss (default 0.5)")
    t.add_argument("--label-smoothing", type=float, help="BCE targets eps/2 and 1 - eps/2 (default 0)")
    t.add_argument("--xray", type=float, help="weight of a Face X-ray boundary loss, e.g. 1 (default 0: off)")
    t.add_argument("--sam", type=float, help="sharpness-aware steps with this rho, e.g. 0.05 (2x step time)")
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
    return t
