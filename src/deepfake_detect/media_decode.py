"""One decoding pass over a video stream that decodes no more than the sampled frames need.

Two savings, each leaving every decoded frame with the pixels a full decode gives it:
- **Unreferenced frames are not decoded.** FFmpeg's skip_frame=NONREF, set per packet (`DEFAULT` for a
  sampled one), drops the frames no other frame refers to, such as H.264's non-reference B-frames: 20-27 %
  less decode time on x264's defaults (docs/performance.md, "Decoding only the frames that matter").
  Only for the decoders in `NONREF_SAFE_CODECS`.
- **Whole GOPs without a sampled frame are jumped.** Where the next sampled frame lies past the next
  keyframe but one, the demuxer seeks to the last keyframe at or before it; the decoder restarts there,
  as at the start of the file. Only in containers with a seek index (MP4/MOV, Matroska/WebM), and a
  seek that does not land on exactly that keyframe ends the pass (`Pass.seek_missed`) so that the caller
  decodes in full. This is what makes long videos with short GOPs (phones: ~1 s) cheap: 32 frames of
  90 s of 720p with 1 s GOPs in 1.1 s instead of 3.1 s (docs/performance.md, same section). AVI seeks by
  its index too, but carries no presentation timestamps: with frame reordering (B-frames) the decoded
  frames' timestamps come out of order, so there it jumps only where every frame is a keyframe (Motion
  JPEG from cameras, DV): 32 frames of 10 s of 1080p MJPEG in 0.26 s instead of 1.06 s.

Timestamps out of order mean they are decode order (H.264 with B-frames stream-copied into AVI): the pass
ends (`Pass.reordered`) and the caller decodes in full, numbering the frames as they come out, which is
presentation order. Labelled by their timestamps, sampled frames were up to 3 frames off their index.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np

from .media_color import hdr_to_sdr, hdr_transfer
from .media_limits import DecodeBudget, video_stream
from .types import Frame

SEEKABLE_FORMATS = {"mov", "mp4", "matroska", "webm"}  # demuxers that seek by an index, to a keyframe
SEEKABLE_IF_INTRA_ONLY = {"avi"}  # seeks by its index, but timestamps are decode order: see the docstring
# Decoders whose skip_frame=NONREF drops only frames nothing refers to, checked frame by frame against a
# full decode (tests/test_media_decode.py). Not AV1: there it lost later frames (a packet can carry a
# hidden frame that others refer to), which the fallback caught at the price of a second decode.
NONREF_SAFE_CODECS = {"h264", "hevc", "mpeg2video", "mpeg4", "vp9"}


@dataclass
class Pass:
    """What one decoding pass found."""

    frames: list[Frame]  # the sampled frames that decoded, in presentation order
    rotation: int  # clockwise display rotation, degrees
    intact: bool  # no decoding error and no frame the decoder had to patch up (those are left out)
    seek_missed: bool = False  # a seek landed elsewhere than on the keyframe asked for: decode in full
    reordered: bool = False  # frames came out with timestamps out of order: decode in full, `order` given


def clockwise_rotation(frame: av.VideoFrame) -> int:
    """Clockwise display rotation of a decoded frame (phones store portrait video as landscape).

    PyAV reports the display matrix angle counter-clockwise, as FFmpeg's av_display_rotation_get.
    """
    return int(round(-(frame.rotation or 0))) % 360


def deinterlace(image: np.ndarray) -> np.ndarray:
    """One field of an interlaced frame, stretched back to full height ("bob"): [H, W, 3] -> [H, W, 3].

    Broadcast video (1080i, 576i) stores two fields taken 1/50 s apart in one frame; woven together
    they comb every moving edge, and the model reads combing as manipulation: woven into fields, all 12
    videos of `videos/real` and `dev/talking_heads` moved towards FAKE (+0.085 log-odds against the same
    frames kept progressive; `benchmarks/recompress_probe.py --fields`). Keeping one field removes that
    (+0.009); blending the fields [1, 2, 1] does not (+0.075). 1.5 ms per 1080p frame, flagged frames only.
    """
    h, w = image.shape[:2]
    return cv2.resize(image[0::2], (w, h), interpolation=cv2.INTER_LINEAR)


def display_size(width: int, height: int, sar: Fraction | None) -> tuple[int, int]:
    """The (width, height) at which a picture stored with sample aspect ratio `sar` has square pixels,
    reached by shrinking one side, never by adding pixels (a hostile header could ask for any ratio).

    Broadcast and disc video stores wide pictures in fewer columns and says so in the header: HDV and
    XDCAM's 1440 x 1080 at 4:3 is shown 1920 x 1080, NTSC 16:9 DVDs' 720 x 480 at 32:27 as 853 x 480.
    Read as stored, every face is squeezed to 75 % of its width. Ratios outside 1/4-4 are no camera's
    and are ignored, as one of exactly 1 is."""
    if not sar or sar == 1 or not Fraction(1, 4) <= sar <= 4:
        return width, height
    if sar > 1:  # wide pixels: fewer rows than columns would show
        return width, max(1, round(height / sar))
    return max(1, round(width * sar)), height


def stream_sar(stream: av.VideoStream) -> Fraction | None:
    """The sample aspect ratio FFmpeg's players use: the container's, else the bitstream's."""
    return stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio or None


def to_rgb(frame: av.VideoFrame, rotation: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """The frame as [H, W, 3] RGB, SDR (HDR tone-mapped: `media_color`), upright, one field if
    interlaced, and at `size` (width, height: the video's first frame's, in square pixels:
    `display_size`) if it has another: streams stitched from renditions (HLS downloads, WebRTC
    recordings) change size midway, and boxes, tracks and the report all speak in one size."""
    image: np.ndarray = hdr_to_sdr(frame) if hdr_transfer(frame) else frame.to_ndarray(format="rgb24")
    if frame.interlaced_frame:
        image = deinterlace(image)
    if size is not None and (frame.width, frame.height) != size:
        shrink = frame.width * frame.height > size[0] * size[1]
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    if rotation:
        image = np.ascontiguousarray(np.rot90(image, k=-(rotation // 90)))  # clockwise
    return image


def decoded(container: av.container.InputContainer, budget: DecodeBudget) -> Iterator[av.VideoFrame]:
    """Every frame of the video stream in order, within the budget, corrupt ones included."""
    stream = _prepared(container, budget)
    for packet in container.demux(stream):
        for frame in packet.decode():
            budget.add_frame(frame)
            yield frame


def _prepared(container: av.container.InputContainer, budget: DecodeBudget) -> av.VideoStream:
    stream = video_stream(container)
    assert stream is not None, "check_header refuses a file without one"
    stream.thread_type = "AUTO"  # frame + slice threads inside FFmpeg's decoder
    if budget.limits.max_pixels is not None:  # the header may have lied about the picture size
        stream.codec_context.options = {"max_pixels": str(budget.limits.max_pixels)}
    return stream


def collect(
    container: av.container.InputContainer,
    budget: DecodeBudget,
    wanted: dict[int, int],
    keys: list[int],
    first_pts: int,
    fast: bool = True,
    intra_only: bool = False,
    order: list[int] | None = None,
) -> Pass:
    """Decode until every `wanted` frame ({packet pts: frame index}) is out or the stream ends.

    keys: sorted timestamps of the keyframe packets. fast: skip unreferenced frames and jump GOPs, as
    the module docstring says; False decodes every frame (the fallback). intra_only: every packet is a
    keyframe (`keys` holds every timestamp), which lets AVI jump too. order: every frame's timestamp in
    presentation order, given to the frames in the order they come out (with fast=False; for streams
    whose own timestamps are decode order); without it, a frame out of order ends the pass as `reordered`.
    Raises av.error.FFmpegError if decoding fails before any wanted frame; later failures end the pass.
    """
    stream = _prepared(container, budget)
    ctx = stream.codec_context
    size: tuple[int, int] | None = None  # the first decoded frame's (width, height): every frame's
    sar = stream_sar(stream)
    tb = float(stream.time_base) if stream.time_base else 0.0
    targets = sorted(wanted)  # still to come out, first first
    formats = set(container.format.name.split(","))
    seekable = fast and bool(SEEKABLE_FORMATS & formats or intra_only and SEEKABLE_IF_INTRA_ONLY & formats)
    skip_unreferenced = fast and ctx.name in NONREF_SAFE_CODECS
    out = Pass(frames=[], rotation=0, intact=True)
    first = True
    latest: int | None = None  # the largest frame timestamp out so far
    count = 0  # frames out so far, corrupt ones included (for `order`)
    restart_key: int | None = None  # keyframe of the last seek; frames before it are an open GOP's lead
    current_key: int | None = None  # keyframe of the GOP being decoded
    try:
        while targets:
            check_landing, jumped = restart_key is not None, False
            for packet in container.demux(stream):
                if check_landing:  # the first packet after a seek must be the keyframe asked for
                    if not packet.is_keyframe or packet.pts != restart_key:
                        out.seek_missed = True
                        return out
                    check_landing = False
                if packet.is_keyframe and packet.pts is not None:
                    current_key = packet.pts
                if skip_unreferenced:
                    ctx.skip_frame = "DEFAULT" if packet.pts is None or packet.pts in wanted else "NONREF"
                for frame in packet.decode():
                    budget.add_frame(frame)
                    if order is not None:
                        frame.pts, count = (order[count] if count < len(order) else None), count + 1
                    if frame.is_corrupt:  # left out; expected only of an open GOP's lead after a seek
                        lead = restart_key is not None and frame.pts is not None and frame.pts < restart_key
                        out.intact = out.intact and lead
                        continue
                    if first:
                        out.rotation, first = clockwise_rotation(frame), False
                        size = display_size(frame.width, frame.height, sar)
                    if frame.pts is not None and latest is not None and frame.pts < latest:
                        out.reordered = True
                        return out
                    latest = frame.pts if frame.pts is not None else latest
                    if frame.pts in wanted:
                        timestamp = round((frame.pts - first_pts) * tb, 4)
                        image = to_rgb(frame, out.rotation, size)
                        out.frames.append(Frame(wanted[frame.pts], timestamp, image))
                    while targets and frame.pts is not None and targets[0] <= frame.pts:
                        targets.pop(0)  # out, or passed without coming out
                if not targets:
                    break
                jump_to = _jump(keys, current_key, targets[0]) if seekable else None
                if jump_to is not None and (restart_key is None or jump_to > restart_key):  # forward only
                    try:
                        container.seek(jump_to, stream=stream, backward=True)  # flushes the decoder too
                    except av.error.FFmpegError:
                        out.seek_missed = True
                        return out
                    restart_key, jumped = jump_to, True
                    break
            if not jumped:
                break
    except av.error.FFmpegError:
        if not out.frames:
            raise
        out.intact = False  # a damaged tail: keep what decoded; the report says how many frames
    return out


def _jump(keys: list[int], current_key: int | None, target: int) -> int | None:
    """The keyframe to seek to for `target`, if a whole GOP lies between it and the one being decoded."""
    if current_key is None:
        return None
    i = bisect.bisect_right(keys, target) - 1  # last keyframe at or before the target
    j = bisect.bisect_right(keys, current_key) - 1
    return keys[i] if i >= 0 and i - j >= 2 else None
