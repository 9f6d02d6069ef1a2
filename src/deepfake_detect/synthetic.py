"""Synthetic test media: small videos rendered from a real face photo, plus deliberately broken files.

Used by the test-suite fixtures (``tests/conftest.py``) and the benchmark, never by serving. The frames
come from `inference.sample_faces.render_frames` (the astronaut portrait, public domain, gliding over a
smooth background), so MTCNN finds real faces and a tracker can link them from frame to frame.
Everything is deterministic for a given set of arguments.

>>> import tempfile, pathlib
>>> p = render_video(pathlib.Path(tempfile.mkdtemp()) / "a.mp4", n_frames=3)
>>> probe(p)["frames"], probe(p)["size"]
(3, (320, 240))
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from .inference.sample_faces import face_image, render_frames

__all__ = [
    "face_image",
    "probe",
    "read_frames",
    "render_frames",
    "render_video",
    "write_image_as",
    "write_tone",
    "write_truncated",
]

# Default codec options: fast encodes, decent quality at tiny sizes.
_OPTIONS: dict[str, dict[str, str]] = {
    "libx264": {"preset": "veryfast", "crf": "20", "threads": "1"},  # one less source of variation
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
}


def render_video(
    path: str | Path,
    *,
    width: int = 320,
    height: int = 240,
    fps: float = 25.0,
    n_frames: int = 20,
    faces: int = 1,
    codec: str = "libx264",
    container: str | None = None,
    rotation: int = 0,
    face_scale: float = 0.45,
    seed: int = 0,
    bitrate: int | None = None,
    pix_fmt: str = "yuv420p",
    faststart: bool = False,
) -> Path:
    """Encode a synthetic face video to ``path`` and return it.

    ``container`` is an FFmpeg muxer name (default: guessed from the suffix). ``width``/``height`` are
    the *stored* (coded) size and must be even for 4:2:0 formats. ``rotation`` (a multiple of 90) is the
    clockwise angle a player must turn the picture by, like a phone's legacy ``rotate=90`` tag: the
    content is rendered upright at the display size and stored turned the other way, and a display
    matrix is written (mp4/mov/mkv). Readers see it as ``VideoFrame.rotation == -rotation`` (PyAV
    reports counter-clockwise degrees in [-180, 180]). ``mjpeg`` is stored as full-range ``yuvj420p``.
    ``faststart`` moves an mp4/mov's index (moov) to the front, so a truncated copy still opens.
    """
    path = Path(path)
    if rotation % 90:
        raise ValueError("rotation must be a multiple of 90")
    quarter = (rotation // 90) % 4
    dw, dh = (height, width) if quarter % 2 else (width, height)  # display size
    frames = render_frames(dw, dh, n_frames, faces, face_scale, seed)
    pix_fmt = "yuvj420p" if codec == "mjpeg" and pix_fmt == "yuv420p" else pix_fmt  # mjpeg is full range
    options = {"movflags": "+faststart"} if faststart else None
    with av.open(str(path), "w", format=container, options=options) as out:
        rate = Fraction(fps).limit_denominator(1001)  # 25 -> 25, 29.97 -> 2997/100
        stream = out.add_stream(codec, rate=rate, options=_OPTIONS.get(codec, {}))
        assert isinstance(stream, av.VideoStream), codec
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if bitrate or codec not in _OPTIONS:
            stream.bit_rate = bitrate or 2_000_000  # FFmpeg's 200 kb/s default smears small faces
        if quarter:
            stream.set_display_rotation(-90 * quarter)  # PyAV takes counter-clockwise degrees
        for img in frames:
            stored = np.ascontiguousarray(np.rot90(img, k=quarter))  # undo what the player will do
            out.mux(stream.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def write_tone(path: str | Path, seconds: float = 1.0, freq: float = 440.0, rate: int = 16000) -> Path:
    """Write an audio-only file (sine tone): PCM for ``.wav``, AAC otherwise (``.m4a``, ``.mp4``...)."""
    codec = "pcm_s16le" if Path(path).suffix.lower() == ".wav" else "aac"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream), codec
        n = int(seconds * rate)
        pcm = (0.3 * 32767 * np.sin(2 * np.pi * freq * np.arange(n) / rate)).astype(np.int16)
        for t in range(0, n, 1024):
            frame = av.AudioFrame.from_ndarray(pcm[None, t : t + 1024], format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, t
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return Path(path)


def write_truncated(
    src: str | Path, dst: str | Path, keep_fraction: float = 0.3, *, mid_packet: bool = False
) -> Path:
    """Copy the first ``keep_fraction`` of ``src``'s bytes to ``dst`` (a cut-off upload).

    ``mid_packet`` moves the cut to the middle of the video packet it falls in. A cut that lands on a
    packet boundary reads as a clean end of file (the demuxer raises nothing); one inside a packet
    makes decoding raise ``InvalidDataError`` (54 of 54 packets tried). Where the fraction lands
    depends on the encoder's bytes, which differ between CPUs (swscale's SIMD paths).
    """
    data = Path(src).read_bytes()
    cut = int(len(data) * keep_fraction)
    if mid_packet:
        with av.open(str(src)) as inp:
            spans = [(p.pos, p.size) for p in inp.demux(video=0) if p.size and p.pos is not None]
        cut = next((pos + size // 2 for pos, size in spans if pos <= cut < pos + size), cut)
    Path(dst).write_bytes(data[:cut])
    return Path(dst)


def write_image_as(path: str | Path, fmt: str = ".png") -> Path:
    """Write a still image (encoded as ``fmt``) of the face under a (misleading) name such as ``x.mp4``."""
    _, buf = cv2.imencode(fmt, cv2.cvtColor(face_image(), cv2.COLOR_RGB2BGR))  # raises if unknown
    Path(path).write_bytes(buf.tobytes())
    return Path(path)


def read_frames(path: str | Path, upright: bool = False) -> list[np.ndarray]:
    """Decode every video frame as RGB; ``upright`` applies the display rotation."""
    frames = []
    with av.open(str(path)) as inp:
        for frame in inp.decode(video=0):
            img: np.ndarray = frame.to_ndarray(format="rgb24")
            if upright and frame.rotation:
                img = np.ascontiguousarray(np.rot90(img, k=round(frame.rotation / 90)))
            frames.append(img)
    return frames


def probe(path: str | Path) -> dict:
    """Decode ``path``: frame count, stored (w, h) size, PyAV's rotation, codec and demuxer names."""
    with av.open(str(path)) as inp:
        stream = inp.streams.video[0]
        frames = list(inp.decode(stream))
        codec, fmt = stream.codec_context.name, inp.format.name
    w, h, rot = (frames[0].width, frames[0].height, frames[0].rotation) if frames else (0, 0, 0)
    return {"frames": len(frames), "size": (w, h), "rotation": rot, "codec": codec, "format": fmt}
