"""`deepfake-detect bench`: argument parsing and the run that ties the parts together."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from .accuracy import validate_accuracy
from .clips import bench_model, machine, prepare_clips
from .naive import time_naive
from .ours import probability_diffs, time_ours
from .records import Run
from .report import markdown, print_tables
from .server import time_server


def run_bench(args: argparse.Namespace) -> dict:
    import torch

    workdir = Path(args.workdir).expanduser()
    workdir.mkdir(parents=True, exist_ok=True)
    frames = args.frames or (8 if args.quick else 32)
    result: dict = {"machine": machine(), "frames": frames, "quick": args.quick}
    say = print if not args.json_only else (lambda *a, **k: None)

    say("bench: preparing clips and model ...", file=sys.stderr)
    clips = prepare_clips(workdir, args.quick, use_shared=not args.no_shared)
    model_path = Path(args.model) if args.model else bench_model(workdir, args.quick)
    cache = workdir / "runtime-cache" if not args.model else None
    result["model"] = str(model_path)
    result["clips"] = [{**asdict(c), "path": str(c.path)} for c in clips]
    torch.set_num_threads(args.threads or os.cpu_count() or 1)

    runs: list[Run] = []
    runtimes = [args.runtime, *(r for r in args.compare if r and r != args.runtime)]
    describe = {}
    for runtime in runtimes:
        say(f"bench: our pipeline, runtime {runtime} ...", file=sys.stderr)
        reps = args.reps if runtime == args.runtime else args.compare_reps
        got, describe[runtime] = time_ours(model_path, runtime, clips, reps, frames, cache)
        runs += got
    reference = [r for r in runs if r.runtime == "torch"]
    if not reference and not args.no_reference:
        say("bench: eager fp32 reference for the probability check ...", file=sys.stderr)
        reference, _ = time_ours(model_path, "torch", clips, 1, frames, cache)
    result["runs"] = [asdict(r) for r in runs]
    result["runtime"] = describe
    if reference:
        result["probability_diffs"] = probability_diffs([r for r in runs if r.runtime != "torch"], reference)

    if not args.no_naive:
        say("bench: naive seed-style pipeline ...", file=sys.stderr)
        result["naive"] = time_naive(model_path, clips, args.naive_reps, frames, args.naive_threads)
        result["naive_threads"] = args.naive_threads or torch.get_num_threads()

    if not args.no_server:
        say("bench: server throughput ...", file=sys.stderr)
        clip = next((c for c in clips if c.height == 720), clips[0])
        result["server"] = time_server(
            args, model_path, clip, frames, cache or workdir / "runtime-cache", workdir
        )

    if args.accuracy:
        say("bench: accuracy on labelled data ...", file=sys.stderr)
        compare = [r for r in runtimes if r not in ("torch", "auto")] or ["onnx-int8"]
        result["accuracy"] = validate_accuracy(model_path, args.accuracy, compare, workdir)
    result["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def cmd_bench(args: argparse.Namespace) -> int:
    if args.quick:
        args.reps = args.reps or 1
        args.compare_reps = args.compare_reps or 1
        args.server_videos = args.server_videos or 4
        args.clients = args.clients or 2
        args.server_workers = args.server_workers[-1:]
        if args.compare is None:
            args.compare = []
    args.reps = args.reps or 5
    args.compare_reps = args.compare_reps or 3
    args.server_videos = args.server_videos or 24
    args.clients = args.clients or 4
    if args.compare is None:
        args.compare = ["onnx-int8", "torch"]
    result = run_bench(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(markdown(result))
    if args.json_only:
        print(json.dumps(result, indent=2))
    else:
        print_tables(result)
    return 0


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def register(subparsers) -> None:
    from .. import bench  # the package's docstring describes the command
    from ..inference.runtime import RUNTIMES

    p = subparsers.add_parser(
        "bench",
        help="benchmark the pipeline against a seed-style one",
        description=bench.__doc__.split("\n")[0],
    )
    p.add_argument("--quick", action="store_true", help="tiny clips and model, one repetition: seconds")
    p.add_argument("--model", help="checkpoint (default: a seeded random-init ResNet50+BiLSTM)")
    p.add_argument("--runtime", default="auto", choices=RUNTIMES, help="runtime of the server and headline")
    p.add_argument(
        "--compare",
        type=_csv,
        default=None,
        help="more runtimes for the per-stage table (default: onnx-int8,torch)",
    )
    p.add_argument("--frames", type=int, help="frames per video (default 32; 8 with --quick)")
    p.add_argument("--reps", type=int, help="repetitions per clip for --runtime (default 5)")
    p.add_argument("--compare-reps", type=int, help="repetitions per clip for --compare runtimes (default 3)")
    p.add_argument("--naive-reps", type=int, default=1, help="repetitions of the naive pipeline (default 1)")
    p.add_argument("--threads", type=int, help="torch threads in this process (default: all cores)")
    p.add_argument(
        "--naive-threads", type=int, help="torch threads of the naive pipeline (default: --threads)"
    )
    p.add_argument("--clients", type=int, help="concurrent uploads to the server (default 4)")
    p.add_argument("--server-videos", type=int, help="videos uploaded in the throughput test (default 24)")
    p.add_argument(
        "--server-workers",
        type=lambda v: [int(x) for x in _csv(v)],
        default=[1, 2],
        help="INFERENCE_WORKERS values to test (default 1,2; --quick: 2)",
    )
    p.add_argument("--cold", action="store_true", help="also time a server start with an empty runtime cache")
    p.add_argument("--no-naive", action="store_true", help="skip the seed-style pipeline")
    p.add_argument("--no-server", action="store_true", help="skip the server throughput test")
    p.add_argument("--no-shared", action="store_true", help="ignore ../shared/data/videos/real")
    p.add_argument("--no-reference", action="store_true", help="skip the eager fp32 probability check")
    p.add_argument("--accuracy", nargs="+", metavar="DATA", help="labelled data for the AUC check")
    p.add_argument(
        "--workdir",
        default=str(Path(tempfile.gettempdir()) / "deepfake_detect_bench"),
        help="where clips, the random model and its runtime cache are kept between runs",
    )
    p.add_argument("--json", help="write every figure to this JSON file")
    p.add_argument("--markdown", help="write the tables as Markdown to this file")
    p.add_argument("--json-only", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=cmd_bench)
