"""What one video may cost, and the checks that hold it to that: header facts before any picture is
decoded (`check_header`), what demuxing measured (`check_measured`), and wall time and decoded bytes
while decoding (`DecodeBudget`). Every refusal is a `MediaTooLarge` (413), or 415 for a file with no
video stream.

>>> MediaLimits(max_streams=16).max_pixels is None  # None: no limit
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import av

from .errors import MediaTooLarge, UnsupportedMedia
from .types import VideoInfo


@dataclass(frozen=True)
class MediaLimits:
    """What one video may cost. Header facts are checked before any picture is decoded; the rest
    (wall time, frames, decoded bytes) while demuxing and decoding. None: no limit."""

    max_bytes: int | None = None
    max_duration_s: float | None = None
    max_pixels: int | None = None
    max_frames: int | None = None  # declared or demuxed frames of the video stream
    max_streams: int | None = None
    max_decode_s: float | None = None  # wall time for open + demux + decode
    max_decoded_bytes: int | None = None  # picture bytes the decoder may produce (decompression bombs)

    @classmethod
    def from_settings(cls, settings) -> MediaLimits:
        return cls(
            max_bytes=settings.max_upload_bytes,
            max_duration_s=settings.max_duration_s,
            max_pixels=settings.max_pixels,
            max_frames=settings.max_frames,
            max_streams=settings.max_streams,
            max_decode_s=settings.max_decode_s,
            max_decoded_bytes=int(settings.max_decoded_gb * 2**30),
        )


NO_LIMITS = MediaLimits()


class DecodeBudget:
    """Wall time and pictures spent on one video, from opening to the last decoded frame."""

    def __init__(self, limits: MediaLimits):
        self.limits = limits
        self.deadline = None if limits.max_decode_s is None else time.monotonic() + limits.max_decode_s
        self.decoded_bytes = 0

    def remaining_s(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise MediaTooLarge(
                f"reading the video took longer than the limit of {self.limits.max_decode_s:g} s"
            )

    def add_frame(self, frame: av.VideoFrame) -> None:
        self.check_time()
        limit = self.limits.max_decoded_bytes
        self.decoded_bytes += sum(plane.buffer_size for plane in frame.planes)
        if limit is not None and self.decoded_bytes > limit:
            raise MediaTooLarge(f"the video decodes to more than {limit / 2**30:.1f} GiB of pictures")


def video_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    """The stream every stage reads: FFmpeg's best video stream (av_find_best_stream: the default one,
    then the most frames, bitrate and pixels), never a cover picture. Not simply the first: an MKV may
    carry a one-frame picture track before the video, and an audio file's artwork is a video stream
    with the attached_pic disposition; either read first made a NO_FACE "video" of one frame."""
    best = container.streams.best("video")
    if not isinstance(best, av.VideoStream) or best.disposition & av.stream.Disposition.attached_pic:
        return None
    return best


def check_header(container: av.container.InputContainer, limits: MediaLimits) -> None:
    """Refuse from the header alone: no video, too many streams, or a declared size, frame count or
    duration over the limits (a 16000x16000 or 10-hour header is refused before anything decodes)."""
    streams = container.streams
    stream = video_stream(container)
    if stream is None:
        kinds: list[str] = sorted(
            {
                "cover picture" if s.disposition & av.stream.Disposition.attached_pic else s.type
                for s in streams
            }
        ) or ["no streams"]
        raise UnsupportedMedia(f"the file has no video stream (found: {', '.join(kinds)})")
    if limits.max_streams is not None and len(streams) > limits.max_streams:
        raise MediaTooLarge(f"the file has {len(streams)} streams; limit {limits.max_streams}")
    if stream.codec_context is None:  # found by fuzzing: a stream whose codec FFmpeg cannot decode
        raise UnsupportedMedia("FFmpeg has no decoder for the video stream's codec")
    width, height = stream.codec_context.width, stream.codec_context.height
    if limits.max_pixels is not None and width * height > limits.max_pixels:
        raise MediaTooLarge(f"video is {width}x{height}; limit {limits.max_pixels} pixels per frame")
    if limits.max_frames is not None and (stream.frames or 0) > limits.max_frames:
        raise MediaTooLarge(f"video declares {stream.frames} frames; limit {limits.max_frames}")
    declared = []
    if stream.duration and stream.time_base:
        declared.append(float(stream.duration * stream.time_base))
    if container.duration:
        declared.append(container.duration / av.time_base)
    duration = max(declared, default=0.0)
    if limits.max_duration_s is not None and duration > limits.max_duration_s:
        raise MediaTooLarge(f"video is {duration:.1f} s long; limit {limits.max_duration_s:.0f} s")


def check_measured(info: VideoInfo, limits: MediaLimits) -> None:
    """The same limits on what demuxing measured (a header may understate)."""
    if limits.max_duration_s is not None and (info.duration_s or 0) > limits.max_duration_s:
        raise MediaTooLarge(f"video is {info.duration_s:.1f} s long; limit {limits.max_duration_s:.0f} s")
    if limits.max_pixels is not None and info.width * info.height > limits.max_pixels:
        raise MediaTooLarge(
            f"video is {info.width}x{info.height}; limit {limits.max_pixels} pixels per frame"
        )
