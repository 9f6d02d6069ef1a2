"""`export-cache`: a compact copy of a crop cache, for training where the full cache cannot travel.

Why: the SBI recipe's cache (`prepare --size 352 --frames 8 --dlib`, 12,672 sources) is ~940 MB of
lossless PNG strips, while a lent GPU machine takes 64 MiB per call. The copy keeps the layout and the
index, so `train --cache COPY` reads it unchanged; three things differ, each chosen by an argument:

- the patches are resized to `size` pixels (landmarks and the spec's patch size scaled to match), so
  the model's crops are cut from the smaller patch, in training and, through the checkpoint's
  `patch_size`, in serving alike;
- each track keeps at most `frames` patches (a centred run of consecutive ones, every per-frame field
  cut to match): photos have one anyway, and the recipe trains on windows of two;
- strips are lossy WebP (or JPEG). WebP at quality 90 keeps JPEG 90's fidelity (PSNR 40.4 against 40.8
  dB on 400 of the recipe's tracks at 256 px) in 56 % of its bytes: the whole recipe's cache is 32 MB.
  SBI blends the decoded patch, so its seams and colour mismatch are drawn after the compression,
  never through it. The black padding past the frame's edge (common to the track's frames) is cut off
  before encoding and its box goes into the file name (`_box<x0>-<y0>-<x1>-<y1>.webp`);
  `cache.load_track` pastes the strip back into a zero patch, so that padding stays exactly black
  (lossy coding would smear it, and `samples.valid_box` reads it). Padding that only some frames of a
  track have (a face moving near the edge) is smeared, by a few grey levels.

>>> export_cache("runs/cache-wide352", "runs/cache-gpu", size=256, frames=2)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from .cache import INDEX, SPEC, load_track, read_index, read_spec
from .records import CachedTrack
from .samples import valid_box


def _keep(n: int, frames: int) -> slice:
    start = max(0, (n - frames) // 2)
    return slice(start, start + min(n, frames))


FORMATS = {"webp": cv2.IMWRITE_WEBP_QUALITY, "jpg": cv2.IMWRITE_JPEG_QUALITY}


def export_track(
    src: Path, dst: Path, track: CachedTrack, patch: int, size: int, frames: int, quality: int, fmt: str
) -> CachedTrack:
    """Write one track's compact strip under `dst`; returns its index entry."""
    keep = _keep(len(track), frames)
    patches = load_track(src, track, patch)[keep]  # [t, P, P, 3]
    if size != patch:
        interp = cv2.INTER_AREA if size < patch else cv2.INTER_LINEAR
        patches = np.stack([cv2.resize(p, (size, size), interpolation=interp) for p in patches])
    x0, y0, x1, y1 = valid_box(patches.max(axis=0))  # what any frame shows, past the common padding
    strip = patches[:, y0:y1, x0:x1].reshape(-1, x1 - x0, 3)  # [t * h, w, 3]
    rel = str(Path(track.file).with_suffix("")) + f"_box{x0}-{y0}-{x1}-{y1}.{fmt}"
    out = dst / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), strip[..., ::-1], [FORMATS[fmt], quality]):
        raise OSError(f"cannot write {out}")
    k = size / patch
    lm68 = None if track.landmarks68 is None else np.round(track.landmarks68[keep] * k, 1)
    return dataclasses.replace(
        track,
        file=rel,
        positions=track.positions[keep],
        boxes=[[round(float(v), 2) for v in box] for box in track.boxes[keep]],  # frame pixels: unscaled
        landmarks=track.landmarks[keep] * k,
        scores=track.scores[keep],
        landmarks68=lm68,
    )


def export_cache(
    src: str | Path,
    dst: str | Path,
    size: int,
    frames: int,
    quality: int = 90,
    fmt: str = "webp",
    progress: bool = True,
) -> dict:
    """Copy cache `src` into a compact cache `dst` (module docstring); returns counts and bytes."""
    from tqdm import tqdm

    src, dst = Path(src), Path(dst)
    spec = read_spec(src)
    if spec is None:
        raise ValueError(f"{src} is not a crop cache (no {SPEC})")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if dst.exists() and any(dst.iterdir()):
        raise ValueError(f"{dst} is not empty: export into a new folder")
    dst.mkdir(parents=True, exist_ok=True)
    new_spec = dataclasses.replace(spec, size=size)
    (dst / SPEC).write_text(json.dumps(dataclasses.asdict(new_spec), indent=2))
    records = read_index(src)
    n_bytes = 0
    with open(dst / INDEX, "w") as index:
        bar = tqdm(records.values(), desc="export", unit="source", disable=not progress, file=sys.stderr)
        for rec in bar:
            tracks = [export_track(src, dst, t, spec.size, size, frames, quality, fmt) for t in rec.tracks]
            n_bytes += sum((dst / t.file).stat().st_size for t in tracks)
            out = dataclasses.replace(rec, tracks=tracks)
            index.write(json.dumps(out.to_json()) + "\n")
    return {
        "sources": len(records),
        "tracks": sum(len(r.tracks) for r in records.values()),
        "strip_mb": round(n_bytes / 2**20, 1),
        "index_mb": round((dst / INDEX).stat().st_size / 2**20, 1),
        "spec": dataclasses.asdict(new_spec),
    }


def register(subparsers) -> None:
    """`deepfake-detect export-cache CACHE OUT --size N [--frames 2] [--format webp] [--quality 90]`."""
    x = subparsers.add_parser(
        "export-cache", help="a compact copy of a crop cache (WebP, smaller patches) to train elsewhere"
    )
    x.add_argument("cache", help="the crop cache to copy")
    x.add_argument("out", help="the new cache folder (must not exist or be empty)")
    x.add_argument("--size", type=int, required=True, help="patch side in the copy (train --cache-size)")
    x.add_argument("--frames", type=int, default=2, help="patches kept per track (default 2)")
    x.add_argument("--format", dest="fmt", default="webp", choices=tuple(FORMATS), help="default webp")
    x.add_argument("--quality", type=int, default=90, help="WebP / JPEG quality (default 90)")
    x.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    x.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    kw = dict(quality=args.quality, fmt=args.fmt, progress=args.progress)
    print(json.dumps(export_cache(args.cache, args.out, args.size, args.frames, **kw)))
    return 0
