"""`prepare`: decode, detect, track and crop faces once into a cache that training and evaluation read.

Faces go through exactly the serving code, with the settings of one `faces.FaceSpec` (its `CacheSpec`):
`media.sample_frames` (videos), `faces.FaceDetector`, `faces.build_tracks`, and `faces.crop.track_patches`.
The cache stores the face *patches* serving cuts its crops from; training and `evaluate` derive the model's
crops from them with `faces.crop.crops_from_patches`, as serving does. Frame folders and photos are turned
into `types.Frame`s and take the same path.

Layout of a cache folder::

    spec.json                 the CacheSpec it was made with (a different spec is refused)
    index.jsonl               one JSON line per source (`records.CacheRecord`): label, group, status,
                              frames, tracks (boxes in frame pixels, 5-point landmarks in patch pixels,
                              scores, file)
    crops/ab/<hash>_t0.png    one lossless PNG per face track: its T patches stacked vertically [T*P, P, 3]

Resumable: sources already in the index are skipped (those that failed with an error are retried).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..errors import DetectorError
from ..faces import CacheSpec, FaceDetector, build_tracks
from ..faces.crop import CropSpec, patch_box, patch_landmarks, track_patches
from ..media import IMAGE_SUFFIXES, evenly_spaced, read_image_rgb, sample_frames
from ..types import FaceTrack, Frame
from .datasets import Source, match_frame_sizes
from .landmarks import FaceLandmarker
from .records import CachedTrack, CacheRecord, summarize

__all__ = ["CacheSpec", "load_track", "prepare", "read_index", "read_spec", "summarize"]

log = logging.getLogger(__name__)

INDEX = "index.jsonl"
SPEC = "spec.json"
FRAME_FOLDER_FPS = 25.0  # VidTIMIT's rate; only used for timestamps of frame-folder clips


def frames_from_images(paths: list[Path], fps: float = FRAME_FOLDER_FPS) -> list[Frame]:
    """`types.Frame`s (RGB uint8) from image files, indexed by their numeric stem when they have one."""
    frames = []
    for position, path in enumerate(paths):
        digits = re.sub(r"\D", "", path.stem)
        index = int(digits) if digits else position
        frames.append(Frame(index=index, timestamp_s=round(index / fps, 4), image=read_image_rgb(path)))
    return frames


def load_frames(source: Source, n_frames: int) -> list[Frame]:
    """The frames serving would see: sampled from a video, evenly picked from a frame folder, or the photo."""
    if source.kind == "video":
        return sample_frames(source.path, n_frames).frames
    if source.kind == "frames":
        files = sorted(p for p in Path(source.path).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        frames = frames_from_images([files[i] for i in evenly_spaced(len(files), n_frames)])
        if source.frame_sizes:  # `datasets.match_frame_sizes`: down with area averaging, up bilinearly
            through, to = source.frame_sizes
            down = (cv2.resize(f.image, through, interpolation=cv2.INTER_AREA) for f in frames)
            up = [cv2.resize(small, to, interpolation=cv2.INTER_LINEAR) for small in down]
            frames = [dataclasses.replace(f, image=image) for f, image in zip(frames, up, strict=True)]
        return frames
    if source.kind == "image":
        return frames_from_images([Path(source.path)])
    raise ValueError(f"unknown source kind {source.kind!r}")


class TrackFile(Protocol):  # a CachedTrack or a samples.TrackItem
    @property
    def file(self) -> str: ...


def source_id(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def _dlib_fields(frames: list[Frame], track: FaceTrack, patch: CropSpec, landmarker: FaceLandmarker) -> dict:
    """68 landmarks per patch (patch pixels) and one identity descriptor (of the middle detection)."""
    lm68 = []
    for p, d in zip(track.frame_positions, track.detections, strict=True):
        x1, y1, x2, _ = patch_box(d, patch)
        lm68.append(
            (landmarker.landmarks(frames[p].image, d) - np.array([x1, y1])) * (patch.patch_size / (x2 - x1))
        )
    middle = len(track) // 2
    descriptor = landmarker.descriptor(frames[track.frame_positions[middle]].image, track.detections[middle])
    return {"landmarks68": np.round(np.stack(lm68), 1).astype(np.float32), "descriptor": descriptor}


def process_source(
    source: Source,
    spec: CacheSpec,
    detector: FaceDetector,
    cache_dir: Path,
    landmarker: FaceLandmarker | None = None,
) -> CacheRecord:
    """Detect, track and cut the face patches of one source; writes its track PNGs, returns its record.
    With a `landmarker` (a cache made with `dlib`), 68 landmarks and an identity descriptor too."""
    t0 = time.perf_counter()
    try:
        frames = load_frames(source, spec.frames)
    except (DetectorError, ValueError, OSError) as e:
        detail = getattr(e, "detail", None) or str(e)
        return CacheRecord(source, "error", f"{type(e).__name__}: {detail}")
    patch = spec.face_spec().crop
    tracks = build_tracks(detector.detect(frames))
    sid = source_id(source.key)
    cached = []
    for track in tracks:
        rel = f"crops/{sid[:2]}/{sid}_t{track.track_id}.png"
        out = cache_dir / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        strip = np.concatenate(track_patches(frames, track, patch), axis=0)  # [T*P, P, 3] RGB
        if not cv2.imwrite(str(out), strip[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            raise OSError(f"cannot write {out}")
        landmarks = np.stack([patch_landmarks(d, patch) for d in track.detections])  # [T, 5, 2]
        cached.append(
            CachedTrack(
                track_id=track.track_id,
                file=rel,
                positions=track.frame_positions,
                boxes=[np.round(d.box, 2).tolist() for d in track.detections],
                landmarks=np.round(landmarks, 2),  # as stored in the index: reading it back changes nothing
                scores=[round(d.score, 4) for d in track.detections],
                **(_dlib_fields(frames, track, patch, landmarker) if landmarker else {}),
            )
        )
    return CacheRecord(
        source,
        "ok" if tracks else "no_face",
        tracks=cached,
        frame_index=[f.index for f in frames],
        timestamp_s=[f.timestamp_s for f in frames],
        seconds=round(time.perf_counter() - t0, 3),
    )


_SHOWN_BOX = re.compile(r"_box(\d+)-(\d+)-(\d+)-(\d+)\.(?:webp|jpg)$")  # an exported strip (export.py)


def load_track(cache_dir: str | Path, track: TrackFile, size: int) -> np.ndarray:
    """A cached track's patches: [T, size, size, 3] uint8 RGB. An exported (lossy) strip holds only the
    part of each patch that is not padding, at the box its name gives: pasted back into black patches."""
    strip = read_image_rgb(Path(cache_dir) / track.file)  # [T*size, size, 3], or [T*h, w, 3] exported
    shown = _SHOWN_BOX.search(track.file)
    if shown is None:
        return strip.reshape(-1, size, size, 3)
    x0, y0, x1, y1 = map(int, shown.groups())
    inner = strip.reshape(-1, y1 - y0, x1 - x0, 3)
    patches = np.zeros((len(inner), size, size, 3), np.uint8)
    patches[:, y0:y1, x0:x1] = inner
    return patches


def read_index(cache_dir: str | Path) -> dict[str, CacheRecord]:
    """key -> record; the last line wins; a torn last line (interrupted run) is ignored."""
    path = Path(cache_dir) / INDEX
    records: dict[str, CacheRecord] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = CacheRecord.from_json(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
            records[rec.key] = rec
    return records


def read_spec(cache_dir: str | Path) -> CacheSpec | None:
    path = Path(cache_dir) / SPEC
    return CacheSpec(**json.loads(path.read_text())) if path.is_file() else None


def _check_spec(cache_dir: Path, spec: CacheSpec) -> CacheSpec:
    """The spec to prepare with: `spec` for a new cache, the existing one when it matches (a cache with
    dlib's landmarks serves a request without them: it holds the same patches and more)."""
    existing = read_spec(cache_dir)
    if existing is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / SPEC).write_text(json.dumps(dataclasses.asdict(spec), indent=2))
        return spec
    # Matched frame sizes are the cache's: train and evaluate, which never ask, take it as it was made.
    asked = dataclasses.replace(spec, match_frame_sizes=spec.match_frame_sizes or existing.match_frame_sizes)
    if existing != asked and existing != dataclasses.replace(asked, dlib=True):
        raise ValueError(f"cache {cache_dir} was prepared with {existing}, not {spec}; use another --cache")
    return existing


# How worker processes start, here and for training's loader (`run.Run.loader`): spawn, not fork. A child
# forked from a process whose OpenMP or OpenCV thread pool has run can deadlock: training's loader workers
# hung for good in cv2.setNumThreads after epoch 1's validation (runs J and K of docs/training.md;
# tests/training/test_train_e2e.py reproduces it).
WORKER_START = "spawn"

_WORKER: dict = {}


def _landmarker(spec: CacheSpec) -> FaceLandmarker | None:
    return FaceLandmarker() if spec.dlib else None


def _init_worker(spec: CacheSpec) -> None:
    import torch

    torch.set_num_threads(1)  # one process per core; intra-op threads would only fight over it
    cv2.setNumThreads(1)
    _WORKER["detector"] = spec.face_spec().detector()
    _WORKER["landmarker"] = _landmarker(spec)


def _work(source: Source, spec: CacheSpec, cache_dir: Path) -> CacheRecord:
    return process_source(source, spec, _WORKER["detector"], cache_dir, _WORKER["landmarker"])


def prepare(
    sources: list[Source],
    cache_dir: str | Path,
    spec: CacheSpec | None = None,
    workers: int = 2,
    progress: bool = True,
) -> dict[str, CacheRecord]:
    """Make sure every source is in the cache; returns key -> record for `sources`."""
    from tqdm import tqdm

    cache_dir = Path(cache_dir)
    spec = _check_spec(cache_dir, spec or CacheSpec())
    if spec.match_frame_sizes:
        sources = match_frame_sizes(sources)
    done = read_index(cache_dir)
    todo = [s for s in sources if not (s.key in done and done[s.key].done)]
    if todo:
        log.info("prepare: %d of %d sources to process into %s", len(todo), len(sources), cache_dir)
        bar = tqdm(total=len(todo), desc="prepare", unit="clip", disable=not progress, file=sys.stderr)
        with open(cache_dir / INDEX, "a") as index:

            def keep(rec: CacheRecord) -> None:
                row = rec.to_json()
                index.write(json.dumps(row) + "\n")
                index.flush()  # an interrupted run keeps every finished source
                # What a later run will read back (rounded descriptors, landmarks), not the fresh floats:
                # otherwise the first run's person clusters, hence its split, differ from every rerun's.
                done[rec.key] = CacheRecord.from_json(row)
                if rec.status == "error":
                    log.warning("prepare: %s: %s", rec.source.path, rec.error)
                bar.update()

            workers = max(1, min(workers, len(todo), os.cpu_count() or 1))
            if workers == 1:
                detector, landmarker = spec.face_spec().detector(), _landmarker(spec)
                for s in todo:
                    keep(process_source(s, spec, detector, cache_dir, landmarker))
            else:
                ctx = multiprocessing.get_context(WORKER_START)
                with ProcessPoolExecutor(workers, ctx, initializer=_init_worker, initargs=(spec,)) as pool:
                    for fut in as_completed([pool.submit(_work, s, spec, cache_dir) for s in todo]):
                        keep(fut.result())
        bar.close()
    return {s.key: done[s.key] for s in sources}
