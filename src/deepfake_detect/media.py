"""Media stage: probe a video and sample evenly spaced frames in one sequential decode pass.

Files are recognised by content (FFmpeg's probing), never by extension, and only the real video
containers of `containers.py` are opened, with the file protocol only; `media_limits.py` bounds what
one video may cost (header checks before decoding, a wall-time and decoded-bytes budget). Seeking per sampled
frame is 2-7x slower than decoding straight through, so `sample_frames` demuxes once to learn
every frame's and keyframe's timestamp (cheap: no pictures are decoded), picks the frames to keep, then
decodes once, leaving undecoded what those frames do not need (unreferenced frames, whole GOPs:
`media_decode.py`), and converts only the kept frames to RGB.

>>> video = sample_frames("clip.mp4", n_frames=32)  # doctest: +SKIP
>>> video.frames[0].image.shape  # doctest: +SKIP
(1080, 1920, 3)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import av
import cv2
import numpy as np

from .containers import OPEN_OPTIONS, DetectedContainer, detect_container
from .errors import CorruptMedia, MediaTooLarge, UnsupportedMedia
from .hashing import file_sha256
from .media_color import hdr_transfer
from .media_decode import Pass, clockwise_rotation, collect, decoded, display_size, stream_sar
from .media_limits import NO_LIMITS, DecodeBudget, MediaLimits, check_header, check_measured, video_stream
from .types import SampledVideo, VideoInfo

# File names that look like media, for walking folders only: what a file *is* is decided by its content.
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".3gp"}
)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
TESTED_FORMATS = (".mp4", ".avi", ".mkv", ".mov", ".webm")  # the seed's formats, each covered by tests

__all__ = [
    "IMAGE_SUFFIXES",
    "TESTED_FORMATS",
    "VIDEO_SUFFIXES",
    "MediaLimits",
    "evenly_spaced",
    "probe",
    "read_image_rgb",
    "sample_frames",
]


def _reason(e: Exception) -> str:
    """FFmpeg's message without the file name: uploads live under server-side temporary names."""
    return getattr(e, "strerror", None) or type(e).__name__


def _refuse_unsupported(detected: DetectedContainer | None) -> NoReturn:
    if detected is None:
        raise UnsupportedMedia("the file is not a video container FFmpeg recognises")
    if detected.is_image:
        animated = detected.name in ("gif", "apng", "webp_pipe")  # formats that can hold an animation
        hint = ": an animated one is analysed once converted to MP4" if animated else ""
        raise UnsupportedMedia(f"the file is an image ({detected.describe()}), not a video{hint}")
    raise UnsupportedMedia(
        f"the file is {detected.describe()}, not a video container this service accepts "
        "(MP4/MOV, Matroska/WebM, AVI, FLV, MPEG-TS/PS, ASF/WMV, Ogg, MXF)"
    )


def _open(path: Path, budget: DecodeBudget) -> tuple[av.container.InputContainer, DetectedContainer]:
    """Open `path` with the demuxer its content names, if allowed, and only the file protocol."""
    size = path.stat().st_size
    if size == 0:
        raise CorruptMedia("the file is empty (0 bytes)")
    max_bytes = budget.limits.max_bytes
    if max_bytes is not None and size > max_bytes:
        raise MediaTooLarge(f"file is {size / 2**20:.1f} MiB; limit {max_bytes / 2**20:.1f} MiB")
    detected = detect_container(path)
    if detected is None or not detected.allowed:
        _refuse_unsupported(detected)
    remaining = budget.remaining_s()
    try:
        container = av.open(
            str(path),
            mode="r",
            format=detected.open_name,
            # FFmpeg decodes a few frames to fill in stream facts; skipping them keeps the declared
            # picture size (checked next) and allocates no picture before the header is checked.
            options={"skip_frame": "all"},
            container_options=OPEN_OPTIONS,
            metadata_errors="ignore",
            timeout=None if remaining is None else (remaining, remaining),
        )
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        budget.check_time()
        raise CorruptMedia(
            f"the file looks like {detected.describe()} but cannot be opened: {_reason(e)}"
        ) from e
    try:
        check_header(container, budget.limits)
    except BaseException:
        container.close()
        raise
    return container, detected


def _scan(path: Path, budget: DecodeBudget) -> tuple[VideoInfo, list[int], list[int]]:
    """Demux every video packet (no decoding): (facts, every frame's timestamp, the keyframes'), sorted;
    rotation is filled in later."""
    max_frames = budget.limits.max_frames
    container, detected = _open(path, budget)
    with container:
        stream = video_stream(container)
        assert stream is not None, "check_header refuses a file without one"
        ctx = stream.codec_context
        if ctx.width <= 0 or ctx.height <= 0:
            raise CorruptMedia("the video stream has no valid picture size")
        pts: list[int] = []
        keys: list[int] = []
        try:
            for i, packet in enumerate(container.demux(stream)):
                if i % 256 == 0:
                    budget.check_time()
                if max_frames is not None and len(pts) >= max_frames:
                    raise MediaTooLarge(f"video has more than {max_frames} frames")
                if packet.pts is not None and packet.size > 0:
                    pts.append(packet.pts)
                    if packet.is_keyframe:
                        keys.append(packet.pts)
        except av.error.FFmpegError as e:
            budget.check_time()  # an interrupted read is the time limit, not a broken file
            if not pts:
                raise CorruptMedia(f"the container cannot be read: {_reason(e)}") from e
        pts = sorted(set(pts))
        tb = float(stream.time_base) if stream.time_base else None
        if stream.duration and tb:
            duration = stream.duration * tb
        elif container.duration:
            duration = container.duration / av.time_base
        elif len(pts) > 1 and tb:
            duration = (pts[-1] - pts[0]) * tb
        else:
            duration = None
        if len(pts) > 1 and tb:  # what the timestamps span, whatever the header said
            duration = max(duration or 0.0, (pts[-1] - pts[0]) * tb)
        width, height = display_size(ctx.width, ctx.height, stream_sar(stream))  # square pixels
        info = VideoInfo(
            container=detected.name,
            codec=ctx.name,
            width=width,
            height=height,
            rotation=0,
            duration_s=float(duration) if duration else None,
            frame_count=len(pts),
            fps=float(stream.average_rate) if stream.average_rate else None,
            size_bytes=path.stat().st_size,
            sha256=file_sha256(path),
            hdr=hdr_transfer(ctx),
        )
    check_measured(info, budget.limits)
    return info, pts, sorted(set(keys))


def _with_rotation(info: VideoInfo, rotation: int) -> VideoInfo:
    if rotation in (90, 270):
        return replace(info, rotation=rotation, width=info.height, height=info.width)
    return replace(info, rotation=rotation)


def probe(path: str | os.PathLike, limits: MediaLimits | None = None) -> VideoInfo:
    """Read container facts (and the first frame, for rotation); raise a MediaError if unusable."""
    path = Path(path)
    budget = DecodeBudget(limits or NO_LIMITS)
    info, _, _ = _scan(path, budget)
    container, _ = _open(path, budget)
    with container:
        try:
            first = next((f for f in decoded(container, budget) if not f.is_corrupt), None)
        except av.error.FFmpegError as e:
            budget.check_time()
            raise CorruptMedia(f"the first frame cannot be decoded: {_reason(e)}") from e
    if first is None:
        raise CorruptMedia("no frame of the video could be decoded")
    return _with_rotation(info, clockwise_rotation(first))


def evenly_spaced(count: int, n: int) -> list[int]:
    """`n` indices spread evenly over `count` items (all of them when count <= n)."""
    if count <= n:
        return list(range(count))
    # Centre of each of n equal segments: never the very first/last frame, often black.
    return sorted({int((i + 0.5) * count / n) for i in range(n)})


def sample_frames(
    path: str | os.PathLike, n_frames: int = 32, limits: MediaLimits | None = None
) -> SampledVideo:
    """Decode `path` once and return `n_frames` evenly spaced RGB frames (fewer if the video is shorter)."""
    return read_frames(path, lambda count: evenly_spaced(count, n_frames), limits)


def read_frames(
    path: str | os.PathLike,
    indices: Iterable[int] | Callable[[int], Iterable[int]],
    limits: MediaLimits | None = None,
) -> SampledVideo:
    """Decode `path` once and return the frames at `indices` (positions in presentation order, as
    `Frame.index` numbers them; a callable gets the frame count), in order. Indices past the end are
    skipped. The evidence routes read back the frames an analysis used with this. The pass decodes no
    more than those frames need (`media_decode.py`); should it miss one that an intact stream holds, or
    a seek land off its keyframe, the video is decoded a second time, in full (numbering the frames as
    they come out where their timestamps are out of order)."""
    path = Path(path)
    budget = DecodeBudget(limits or NO_LIMITS)
    info, pts, keys = _scan(path, budget)
    if not pts:
        raise CorruptMedia("the video stream holds no frames")
    chosen = indices(len(pts)) if callable(indices) else indices
    wanted = {pts[i]: i for i in chosen if 0 <= i < len(pts)}
    if not wanted:
        raise CorruptMedia("none of the requested frames is in the video")
    intra_only = len(keys) == len(pts)
    found = _decode_pass(path, budget, wanted, keys, pts[0], fast=True, intra_only=intra_only)
    if not found.reordered and (found.seek_missed or (found.intact and len(found.frames) < len(wanted))):
        found = _decode_pass(path, budget, wanted, keys, pts[0], fast=False)
    if found.reordered:  # timestamps in decode order (AVI): number the frames as they come out
        found = _decode_pass(path, budget, wanted, keys, pts[0], fast=False, order=pts)
    if not found.frames:
        raise CorruptMedia("no frame of the video could be decoded")
    info = _with_rotation(info, found.rotation)
    height, width = found.frames[0].image.shape[:2]
    if (info.width, info.height) != (width, height):  # a header that disagrees with the pictures
        info = replace(info, width=width, height=height)  # the report gives the size analysed
    return SampledVideo(info=info, frames=found.frames)


def _decode_pass(
    path: Path,
    budget: DecodeBudget,
    wanted: dict[int, int],
    keys: list[int],
    first_pts: int,
    fast: bool,
    intra_only: bool = False,
    order: list[int] | None = None,
) -> Pass:
    container, _ = _open(path, budget)
    with container:
        try:
            return collect(container, budget, wanted, keys, first_pts, fast, intra_only, order)
        except av.error.FFmpegError as e:
            budget.check_time()
            raise CorruptMedia(f"decoding failed before any frame: {_reason(e)}") from e


def read_image_rgb(path: str | os.PathLike) -> np.ndarray:
    """A still image as [H, W, 3] uint8 RGB (EXIF orientation applied); ValueError if unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # [H, W, 3] BGR
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return np.ascontiguousarray(image[..., ::-1])
