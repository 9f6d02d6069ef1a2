"""Media stage: probe a video and sample evenly spaced frames in one sequential decode pass.

Files are recognised by content (FFmpeg's probing), never by extension. Seeking per sampled
frame is 2-7x slower than decoding straight through, so `sample_frames` demuxes once to learn
every frame's timestamp (cheap: no pictures are decoded), picks the frames to keep, then
decodes once and converts only the kept frames to RGB.

>>> video = sample_frames("clip.mp4", n_frames=32)  # doctest: +SKIP
>>> video.frames[0].image.shape  # doctest: +SKIP
(1080, 1920, 3)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import av
import cv2
import numpy as np

from .errors import CorruptMedia, MediaTooLarge, UnsupportedMedia
from .types import Frame, SampledVideo, VideoInfo

# Leading bytes of the containers we expect; used only to pick the clearer error when
# FFmpeg cannot open a file (a broken MP4 is "corrupt", a renamed text file is "unsupported").
_VIDEO_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"),  # MP4 / MOV / 3GP
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"wide"),
    (4, b"free"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM (EBML)
    (0, b"RIFF"),  # AVI
    (0, b"FLV"),
    (0, b"\x00\x00\x01\xba"),  # MPEG-PS
    (0, b"\x30\x26\xb2\x75"),  # ASF / WMV
    (0, b"OggS"),
)
# File names that look like media, for walking folders only: what a file *is* is decided by its content.
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".3gp"}
)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
TESTED_FORMATS = (".mp4", ".avi", ".mkv", ".mov", ".webm")  # the seed's formats, each covered by tests

_IMAGE_DEMUXERS = ("image2", "_pipe")  # FFmpeg opens stills as one-frame "videos"
_MAX_PACKETS = 500_000  # guard against hostile files that claim endless streams


@dataclass(frozen=True)
class MediaLimits:
    max_bytes: int | None = None
    max_duration_s: float | None = None
    max_pixels: int | None = None

    @classmethod
    def from_settings(cls, settings) -> MediaLimits:
        return cls(settings.max_upload_bytes, settings.max_duration_s, settings.max_pixels)


def _looks_like_video(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(16)
    return any(head[off : off + len(sig)] == sig for off, sig in _VIDEO_SIGNATURES) or (
        len(head) > 0 and head[0] == 0x47  # MPEG-TS sync byte
    )


def _reason(e: Exception) -> str:
    """FFmpeg's message without the file name: uploads live under server-side temporary names."""
    return getattr(e, "strerror", None) or type(e).__name__


def _open(path: Path) -> av.container.InputContainer:
    size = path.stat().st_size
    if size == 0:
        raise CorruptMedia("the file is empty (0 bytes)")
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        if _looks_like_video(path):
            raise CorruptMedia(
                f"the file looks like a video container but cannot be opened: {_reason(e)}"
            ) from e
        raise UnsupportedMedia("the file is not a video container FFmpeg recognises") from e
    if any(tag in container.format.name for tag in _IMAGE_DEMUXERS):
        container.close()
        raise UnsupportedMedia(f"the file is a still image ({container.format.name}), not a video")
    if not container.streams.video:
        container.close()
        kinds: list[str] = sorted({s.type for s in container.streams}) or ["no streams"]
        raise UnsupportedMedia(f"the file has no video stream (found: {', '.join(kinds)})")
    return container


def _clockwise_rotation(frame: av.VideoFrame) -> int:
    """Clockwise display rotation of a decoded frame (phones store portrait video as landscape).

    PyAV reports the display matrix angle counter-clockwise, as FFmpeg's av_display_rotation_get.
    """
    return int(round(-(frame.rotation or 0))) % 360


def _check_limits(info: VideoInfo, limits: MediaLimits) -> None:
    if limits.max_bytes is not None and info.size_bytes > limits.max_bytes:
        raise MediaTooLarge(
            f"file is {info.size_bytes / 2**20:.1f} MiB; limit {limits.max_bytes / 2**20:.1f} MiB"
        )
    if limits.max_duration_s is not None and (info.duration_s or 0) > limits.max_duration_s:
        raise MediaTooLarge(f"video is {info.duration_s:.1f} s long; limit {limits.max_duration_s:.0f} s")
    if limits.max_pixels is not None and info.width * info.height > limits.max_pixels:
        raise MediaTooLarge(
            f"video is {info.width}x{info.height}; limit {limits.max_pixels} pixels per frame"
        )


def _scan(path: Path) -> tuple[VideoInfo, list[int]]:
    """Demux every video packet (no decoding) for exact frame timestamps; rotation is filled in later."""
    with _open(path) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if ctx.width <= 0 or ctx.height <= 0:
            raise CorruptMedia("the video stream has no picture size")
        pts: list[int] = []
        try:
            for i, packet in enumerate(container.demux(stream)):
                if i > _MAX_PACKETS:
                    raise MediaTooLarge(f"video has more than {_MAX_PACKETS} packets")
                if packet.pts is not None and packet.size > 0:
                    pts.append(packet.pts)
        except av.error.FFmpegError as e:
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
        info = VideoInfo(
            container=container.format.name,
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            rotation=0,
            duration_s=float(duration) if duration else None,
            frame_count=len(pts),
            fps=float(stream.average_rate) if stream.average_rate else None,
            size_bytes=path.stat().st_size,
        )
    return info, pts


def _with_rotation(info: VideoInfo, rotation: int) -> VideoInfo:
    if rotation in (90, 270):
        return replace(info, rotation=rotation, width=info.height, height=info.width)
    return replace(info, rotation=rotation)


def probe(path: str | os.PathLike, limits: MediaLimits | None = None) -> VideoInfo:
    """Read container facts (and the first frame, for rotation); raise a MediaError if unusable."""
    path = Path(path)
    info, _ = _scan(path)
    if limits:
        _check_limits(info, limits)
    with _open(path) as container:
        try:
            first = next(container.decode(container.streams.video[0]), None)
        except av.error.FFmpegError as e:
            raise CorruptMedia(f"the first frame cannot be decoded: {_reason(e)}") from e
    if first is None:
        raise CorruptMedia("no frame of the video could be decoded")
    return _with_rotation(info, _clockwise_rotation(first))


def evenly_spaced(count: int, n: int) -> list[int]:
    """`n` indices spread evenly over `count` items (all of them when count <= n)."""
    if count <= n:
        return list(range(count))
    # Centre of each of n equal segments: never the very first/last frame, often black.
    return sorted({int((i + 0.5) * count / n) for i in range(n)})


def _to_rgb(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    image: np.ndarray = frame.to_ndarray(format="rgb24")  # [H, W, 3]
    if rotation:
        image = np.ascontiguousarray(np.rot90(image, k=-(rotation // 90)))  # clockwise
    return image


def sample_frames(
    path: str | os.PathLike, n_frames: int = 32, limits: MediaLimits | None = None
) -> SampledVideo:
    """Decode `path` once and return `n_frames` evenly spaced RGB frames (fewer if the video is shorter)."""
    path = Path(path)
    info, pts = _scan(path)
    if limits:
        _check_limits(info, limits)
    if not pts:
        raise CorruptMedia("the video stream holds no frames")
    wanted = {pts[i]: i for i in evenly_spaced(len(pts), n_frames)}
    last_wanted = max(wanted)
    frames: list[Frame] = []
    rotation = 0
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads inside FFmpeg's decoder
        tb = float(stream.time_base) if stream.time_base else 0.0
        try:
            for n_decoded, frame in enumerate(container.decode(stream)):
                if n_decoded == 0:
                    rotation = _clockwise_rotation(frame)
                if frame.pts in wanted:
                    timestamp = round((frame.pts - pts[0]) * tb, 4)
                    frames.append(Frame(wanted[frame.pts], timestamp, _to_rgb(frame, rotation)))
                if frame.pts is not None and frame.pts >= last_wanted:
                    break
        except av.error.FFmpegError as e:
            if not frames:
                raise CorruptMedia(f"decoding failed before any frame: {_reason(e)}") from e
            # A damaged tail: keep what decoded; the report says how many frames were analysed.
    if not frames:
        raise CorruptMedia("no frame of the video could be decoded")
    return SampledVideo(info=_with_rotation(info, rotation), frames=frames)


def read_image_rgb(path: str | os.PathLike) -> np.ndarray:
    """A still image as [H, W, 3] uint8 RGB (EXIF orientation applied); ValueError if unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # [H, W, 3] BGR
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return np.ascontiguousarray(image[..., ::-1])
