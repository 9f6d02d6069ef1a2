"""`deepfake-detect`: serve the API, scan files; prepare/train/evaluate/calibrate (training/cli.py) and bench.

deepfake-detect serve                      # API on $HOST:$PORT, model from $MODEL_PATH or bundled
deepfake-detect scan clip.mp4 folder/      # readable table
deepfake-detect scan --json clips/ > out.jsonl
deepfake-detect serve --ray --replicas 2          # on a Ray cluster (docs/scale-out.md)
deepfake-detect scan --ray auto clips/ --out results.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from . import bench
from .jobs import cli as jobs_cli
from .media import VIDEO_SUFFIXES
from .scanning import scan_row
from .training import cli as training_cli


def expand_paths(paths: Iterable[str]) -> list[Path]:
    """Files as given; folders walked recursively for video-like file names, sorted."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES))
        else:
            out.append(p)
    return out


def _settings(args: argparse.Namespace):
    from .config import Settings

    overrides = {}
    if getattr(args, "model", None):
        overrides["model_path"] = args.model
    if getattr(args, "threshold", None) is not None:
        overrides["prediction_threshold"] = args.threshold
    if getattr(args, "frames", None):
        overrides["frames_per_video"] = args.frames
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .api.app import create_app
    from .api.uploads import prepare_upload_dir
    from .errors import DetectorError
    from .models.checkpoint import load_checkpoint

    settings = _settings(args)
    if settings.model_path is not None:
        # An explicit MODEL_PATH that cannot load is a deployment error: say so before binding the port.
        try:
            load_checkpoint(settings.model_path)
        except DetectorError as e:
            print(f"error: MODEL_PATH={settings.model_path}: {e.detail}", file=sys.stderr)
            return 2
    try:
        prepare_upload_dir(settings.upload_dir)
    except OSError as e:
        print(f"error: UPLOAD_DIR={settings.upload_dir} cannot hold uploads: {e}", file=sys.stderr)
        return 2
    if args.ray:
        try:
            from .scale.serving import Scale, run
        except ImportError as e:
            print(f"error: serve --ray needs Ray: pip install 'ray[serve,data]' ({e})", file=sys.stderr)
            return 2
        scale = Scale(args.replicas, args.min_replicas, args.max_replicas, args.replica_cpus)
        return run(args.ray, settings, scale)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .errors import DetectorError
    from .pipeline import Detector

    files = expand_paths(args.paths)
    if not files:
        print("error: no video files found", file=sys.stderr)
        return 2
    if args.ray:
        return _scan_on_ray(args, files)
    try:
        detector = Detector.from_settings(_settings(args))
    except DetectorError as e:
        print(f"error: {e.detail}", file=sys.stderr)
        return 2
    rows = []
    plots = _plot_names(files)
    for path in tqdm(files, desc="scanning", unit="video", disable=len(files) < 2, file=sys.stderr):
        row, report = scan_row(detector, str(path), full=args.json and args.full)
        if report is not None and args.plots:
            from .timeline import plot_timeline

            row["plot"] = str(plot_timeline(report, Path(args.plots) / plots[path]))
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
    if not args.json:
        _print_table(rows, detector.threshold, detector.model_id)
    return 0


def _plot_names(files: list[Path]) -> dict[Path, str]:
    """One plot file name per video: its stem, numbered when another video has it (dir1/clip.mp4 and
    dir2/clip.mp4 drew into one clip.png, and the first row pointed at the second video's plot).

    >>> list(_plot_names([Path("a/clip.mp4"), Path("b/clip.mov"), Path("b/clip-2.mp4")]).values())
    ['clip.png', 'clip-2.png', 'clip-2-2.png']
    """
    names: dict[Path, str] = {}
    taken: set[str] = set()  # lower case: one file on a case-insensitive disk
    for path in files:
        name, n = f"{path.stem}.png", 1
        while name.lower() in taken:
            n += 1
            name = f"{path.stem}-{n}.png"
        taken.add(name.lower())
        names[path] = name
    return names


def _scan_on_ray(args: argparse.Namespace, files: list[Path]) -> int:
    from .errors import DetectorError
    from .scale.bulk import run_bulk_scan

    if not args.out:
        print("error: scan --ray writes its results to a file: give --out results.jsonl", file=sys.stderr)
        return 2
    settings = _settings(args)
    try:
        _check_model(settings)  # before any actor starts: a wrong path fails here, in a second
        done = run_bulk_scan(
            args.ray, files, Path(args.out), settings, actors=args.actors,
            cpus_per_actor=args.cpus_per_actor, full=args.full, progress=not args.quiet,
        )  # fmt: skip
    except DetectorError as e:
        print(f"error: {e.detail}", file=sys.stderr)
        return 2
    print(
        f"{done.listed} videos: {done.skipped} already in {args.out}, {done.written} written "
        f"({done.errors} errors) by {done.actors} actor(s) in {done.seconds:.1f} s",
        file=sys.stderr,
    )
    return 0


def _check_model(settings) -> None:
    from .models.checkpoint import load_checkpoint

    if settings.model_path is not None:
        load_checkpoint(settings.model_path)


def _print_table(rows: list[dict], threshold: float, model_id: str) -> None:
    """Paths under their common folder (named in the caption), notes as numbered lines below: at a
    terminal's 80 columns full paths and error reasons in cells left names 12 characters a line."""
    from rich.console import Console
    from rich.table import Table

    root = os.path.commonpath([os.path.dirname(os.path.abspath(r["path"])) for r in rows]) if rows else ""
    table = Table(title=f"model {model_id} - threshold {threshold:.3f}", caption=f"files under {root}")
    table.add_column("file", overflow="fold")
    for col in ("verdict", "P(fake)", "faces", "frames", "time (s)", "note"):
        table.add_column(col, no_wrap=True)
    styles = {"FAKE": "bold red", "REAL": "green"}
    notes: list[str] = []
    for r in rows:
        p = r["fake_probability"]
        verdict = r["prediction"] or "ERROR"
        name = os.path.relpath(os.path.abspath(r["path"]), root)
        if r.get("reason"):
            notes.append(f"[{len(notes) + 1}] {name}: {r['reason']}")
        table.add_row(
            name,
            f"[{styles.get(verdict, 'yellow')}]{verdict}[/]",
            "-" if p is None else f"{p:.3f}",
            str(r.get("faces", "-")),
            str(r.get("frames", "-")),
            "-" if r.get("seconds") is None else f"{r['seconds']:.2f}",
            f"[{len(notes)}]" if r.get("reason") else "",
        )
    console = Console()
    console.print(table)
    for note in notes:
        console.print(note, markup=False, highlight=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake-detect", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--model", help="checkpoint (default: $MODEL_PATH, else the bundled model)")
    ray = serve.add_argument_group("under Ray Serve (docs/scale-out.md)")
    ray.add_argument("--ray", nargs="?", const="auto", metavar="ADDRESS", help="on this cluster (auto)")
    ray.add_argument("--replicas", type=int, default=1, help="with --ray: detector replicas")
    ray.add_argument("--min-replicas", type=int, help="with --ray and --max-replicas: autoscale")
    ray.add_argument("--max-replicas", type=int)
    ray.add_argument("--replica-cpus", type=float, default=1.0, help="with --ray: CPUs per replica")
    serve.set_defaults(func=cmd_serve)

    scan = sub.add_parser(
        "scan",
        help="analyse video files or folders",
        epilog="The same analysis on a running server, as jobs (docs/jobs.md):\n"
        "  curl -si -F file=@clip.mp4 http://localhost:8000/jobs    # 202, Location: /jobs/<id>\n"
        "  curl -s http://localhost:8000/jobs/<id>                  # state, progress, result",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument("paths", nargs="+")
    scan.add_argument("--model", help="checkpoint (default: $MODEL_PATH, else the bundled model)")
    scan.add_argument("--threshold", type=float)
    scan.add_argument("--frames", type=int, help="frames sampled per video")
    scan.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    scan.add_argument("--full", action="store_true", help="with --json: include the full report")
    scan.add_argument("--plots", metavar="DIR", help="write a P(fake)-over-time PNG per video into DIR")
    ray = scan.add_argument_group("on a Ray cluster (docs/scale-out.md)")
    ray.add_argument("--ray", metavar="ADDRESS", help="on this cluster (auto: the one `ray start` made)")
    ray.add_argument("--out", metavar="FILE", help="with --ray: rows as --json, appended; reruns resume")
    ray.add_argument("--actors", type=int, help="with --ray: detector actors (default: the cluster's CPUs)")
    ray.add_argument("--cpus-per-actor", type=float, default=1.0, help="with --ray: CPUs (threads) each")
    ray.add_argument("--quiet", action="store_true", help="with --ray: no progress bar")
    scan.set_defaults(func=cmd_scan)

    training_cli.register(sub)  # prepare, train, evaluate, calibrate
    bench.register(sub)
    jobs_cli.register(sub)  # worker, db, keys, webhook-receiver
    return parser


def main(argv: list[str] | None = None) -> int:
    from pydantic import ValidationError

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValidationError as e:  # a setting out of range, from a flag or the environment: no traceback
        if e.title != "Settings":
            raise
        for error in e.errors(include_url=False):
            name = str(error["loc"][0]).upper() if error["loc"] else "?"
            print(f"error: setting {name}={error['input']!r}: {error['msg']}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
