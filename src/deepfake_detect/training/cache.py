"""`prepare`: decode, detect, track and crop faces once into a cache that training and evaluation read.

Faces go through exactly the serving code: `media.sample_frames` (videos), `faces.FaceDetector` with the
`Settings` defaults, `faces.build_tracks`, and `faces.crop.crop_face` / `crop_landmarks` with
`CropSpec(size, scale)`. Frame folders and photos are turned into `types.Frame`s and take the same path.

Layout of a cache folder::

    spec.json                 the CacheSpec it was made with (a different spec is refused)
    index.jsonl               one JSON line per source: label, group, status, frames, tracks
                              (boxes in frame pixels, 5-point landmarks in crop pixels, scores, file)
    crops/ab/<hash>_t0.png    one lossless PNG per face track: its T crops stacked vertically [T*S, S, 3]

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
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..media import evenly_spaced, sample_frames
from ..types import Frame
from .datasets import IMAGE_SUFFIXES, Source

log = logging.getLogger(__name__)

INDEX = "index.jsonl"
SPEC = "spec.json"
FRAME_FOLDER_FPS = 25.0  # VidTIMIT's rate; only used for timestamps of frame-folder clips


@dataclass(frozen=True)
class CacheSpec:
    frames: int = 32  # frames sampled per video (serving: FRAMES_PER_VIDEO, default 32)
    size: int = 224  # crop side stored; training resizes to the model's input_size (INTER_AREA)
    scale: float = 1.3  # crop side / MTCNN box side (ModelConfig.crop_scale default)
    detect_max_side: int = 640  # config.Settings defaults, so faces are found as the server finds them
    min_face_size: int = 32
    face_confidence: float = 0.9

    @classmethod
    def from_settings(cls, settings, **overrides) -> CacheSpec:
        values = dict(
            frames=settings.frames_per_video,
            detect_max_side=settings.detect_max_side,
            min_face_size=settings.min_face_size,
            face_confidence=settings.face_confidence,
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def read_image_rgb(path: str | Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # [H, W, 3] BGR; EXIF orientation applied
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return np.ascontiguousarray(image[..., ::-1])


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
        return frames_from_images([files[i] for i in evenly_spaced(len(files), n_frames)])
    if source.kind == "image":
        return frames_from_images([Path(source.path)])
    raise ValueError(f"unknown source kind {source.kind!r}")


def source_id(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def process_source(source: Source, spec: CacheSpec, detector, cache_dir: Path) -> dict:
    """Detect, track and crop one source; writes its track PNGs and returns its index record."""
    from ..errors import DetectorError
    from ..faces import CropSpec, build_tracks
    from ..faces.crop import crop_face, crop_landmarks

    t0 = time.perf_counter()
    record = dataclasses.asdict(source) | {"key": source.key, "status": "ok", "error": None, "tracks": []}
    try:
        frames = load_frames(source, spec.frames)
    except (DetectorError, ValueError, OSError) as e:
        detail = getattr(e, "detail", None) or str(e)
        return record | {"status": "error", "error": f"{type(e).__name__}: {detail}"}
    crop_spec = CropSpec(size=spec.size, scale=spec.scale)
    tracks = build_tracks(detector.detect(frames))
    sid = source_id(source.key)
    for track in tracks:
        crops = [
            crop_face(frames[p].image, d, crop_spec)
            for p, d in zip(track.frame_positions, track.detections, strict=True)
        ]
        rel = f"crops/{sid[:2]}/{sid}_t{track.track_id}.png"
        out = cache_dir / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        strip = np.concatenate(crops, axis=0)  # [T*S, S, 3] RGB
        if not cv2.imwrite(str(out), strip[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            raise OSError(f"cannot write {out}")
        record["tracks"].append(
            {
                "track_id": track.track_id,
                "file": rel,
                "positions": track.frame_positions,
                "boxes": [np.round(d.box, 2).tolist() for d in track.detections],
                "landmarks": [np.round(crop_landmarks(d, crop_spec), 2).tolist() for d in track.detections],
                "scores": [round(d.score, 4) for d in track.detections],
            }
        )
    record["frames"] = len(frames)
    record["frame_index"] = [f.index for f in frames]
    record["timestamp_s"] = [f.timestamp_s for f in frames]
    record["status"] = "ok" if tracks else "no_face"
    record["seconds"] = round(time.perf_counter() - t0, 3)
    return record


def load_track(cache_dir: str | Path, track: dict, size: int) -> np.ndarray:
    """A cached track's crops: [T, size, size, 3] uint8 RGB."""
    strip = read_image_rgb(Path(cache_dir) / track["file"])  # [T*size, size, 3]
    return strip.reshape(-1, size, size, 3)


def read_index(cache_dir: str | Path) -> dict[str, dict]:
    """key -> record; the last line wins; a torn last line (interrupted run) is ignored."""
    path = Path(cache_dir) / INDEX
    records: dict[str, dict] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            records[rec["key"]] = rec
    return records


def read_spec(cache_dir: str | Path) -> CacheSpec | None:
    path = Path(cache_dir) / SPEC
    return CacheSpec(**json.loads(path.read_text())) if path.is_file() else None


def _check_spec(cache_dir: Path, spec: CacheSpec) -> None:
    existing = read_spec(cache_dir)
    if existing is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / SPEC).write_text(json.dumps(dataclasses.asdict(spec), indent=2))
    elif existing != spec:
        raise ValueError(f"cache {cache_dir} was prepared with {existing}, not {spec}; use another --cache")


_WORKER: dict = {}


def _init_worker(spec: CacheSpec) -> None:
    import torch

    torch.set_num_threads(1)  # one process per core; intra-op threads would only fight over it
    cv2.setNumThreads(1)
    _WORKER["detector"] = _make_detector(spec)


def _make_detector(spec: CacheSpec):
    from ..faces import FaceDetector

    return FaceDetector(spec.detect_max_side, spec.min_face_size, spec.face_confidence)


def _work(source: Source, spec: CacheSpec, cache_dir: Path) -> dict:
    return process_source(source, spec, _WORKER["detector"], cache_dir)


def prepare(
    sources: list[Source],
    cache_dir: str | Path,
    spec: CacheSpec | None = None,
    workers: int = 2,
    progress: bool = True,
) -> dict[str, dict]:
    """Make sure every source is in the cache; returns key -> record for `sources`."""
    from tqdm import tqdm

    cache_dir = Path(cache_dir)
    spec = spec or CacheSpec()
    _check_spec(cache_dir, spec)
    done = read_index(cache_dir)
    todo = [s for s in sources if done.get(s.key, {}).get("status") not in ("ok", "no_face")]
    if todo:
        log.info("prepare: %d of %d sources to process into %s", len(todo), len(sources), cache_dir)
        bar = tqdm(total=len(todo), desc="prepare", unit="clip", disable=not progress, file=sys.stderr)
        with open(cache_dir / INDEX, "a") as index:

            def keep(rec: dict) -> None:
                index.write(json.dumps(rec) + "\n")
                index.flush()  # an interrupted run keeps every finished source
                done[rec["key"]] = rec
                if rec["status"] == "error":
                    log.warning("prepare: %s: %s", rec["path"], rec["error"])
                bar.update()

            workers = max(1, min(workers, len(todo), os.cpu_count() or 1))
            if workers == 1:
                detector = _make_detector(spec)
                for s in todo:
                    keep(process_source(s, spec, detector, cache_dir))
            else:
                # spawn, not fork: forking a process whose OpenMP pool is running can deadlock.
                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(workers, ctx, initializer=_init_worker, initargs=(spec,)) as pool:
                    for fut in as_completed([pool.submit(_work, s, spec, cache_dir) for s in todo]):
                        keep(fut.result())
        bar.close()
    return {s.key: done[s.key] for s in sources}


def summarize(records: dict[str, dict]) -> dict:
    statuses = [r["status"] for r in records.values()]
    return {
        "sources": len(statuses),
        "ok": statuses.count("ok"),
        "no_face": statuses.count("no_face"),
        "error": statuses.count("error"),
        "tracks": sum(len(r["tracks"]) for r in records.values()),
    }
