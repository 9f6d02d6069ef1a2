"""The hostile-media corpus, written by the tests (nothing binary is committed).

Each case is a file a user (or an attacker) might upload, with the status the API must answer and a
word its reason must contain. Playlists point at a canary: a named pipe whose opening is noticed
(`Canary`), so "never read" is checked, not assumed.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from deepfake_detect import synthetic

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status and body["detail"] and body["type"].startswith("urn:deepfake-detect:")
    return body


class Canary:
    """A named pipe standing in for a secret file. Anything that opens it for reading unblocks the
    writer thread, which records it; its content is a unique token to look for in answers and logs."""

    def __init__(self, folder: Path):
        self.path = folder / "canary-secret.txt"
        os.mkfifo(self.path)
        self.token = f"CANARY-{os.urandom(8).hex()}"
        self.opened = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._wait_for_reader, daemon=True)
        self._thread.start()

    def _wait_for_reader(self) -> None:
        with open(self.path, "w") as pipe:  # blocks until someone opens the pipe to read it
            if not self._closing:
                self.opened.set()
                pipe.write(self.token + "\n")

    def close(self) -> None:
        self._closing = True
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # release the writer
        self._thread.join(5)
        os.close(fd)


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path, Canary], Path]  # writes the file into a folder
    status: int
    reason: str  # a word the problem's detail must contain (lower case)


def _small_clip(folder: Path, name: str = "clip.mp4", **kwargs) -> Path:
    kwargs = {"width": 160, "height": 120, "n_frames": 8, **kwargs}
    return synthetic.render_video(folder / name, **kwargs)


def _write(folder: Path, name: str, data: bytes) -> Path:
    (folder / name).write_bytes(data)
    return folder / name


def _image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(synthetic.face_image()).save(buf, format=fmt)
    return buf.getvalue()


def _wav(folder: Path, _c: Canary) -> Path:
    path = folder / "tone.mp4"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.sin(np.arange(16000) / 5) * 8000).astype("<i2").tobytes())
    return path


def _mp3(folder: Path, _c: Canary) -> Path:
    path = folder / "tone.mp3"
    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=22050, layout="mono")
        pcm = (0.3 * 32767 * np.sin(np.arange(22050) / 7)).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = 22050
        for packet in stream.encode(frame):
            out.mux(packet)
        out.mux(stream.encode(None))
    return _write(folder, "mp3.mp4", path.read_bytes())


def _without_moov(folder: Path, _c: Canary) -> Path:
    data = _small_clip(folder).read_bytes()
    start = data.index(b"moov") - 4
    size = struct.unpack(">I", data[start : start + 4])[0]
    return _write(folder, "no_moov.mp4", data[:start] + data[start + size :])


def _truncated(fraction: float) -> Callable[[Path, Canary], Path]:
    def make(folder: Path, _c: Canary) -> Path:
        data = _small_clip(folder).read_bytes()  # moov at the end, as phones write it
        return _write(folder, f"cut{int(fraction * 100)}.mp4", data[: int(len(data) * fraction)])

    return make


def _hls(folder: Path, canary: Canary) -> Path:
    playlist = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:10.0,\nfile://{canary.path}\n#EXTINF:10.0,\n{canary.path}\n#EXT-X-ENDLIST\n"
    )
    return _write(folder, "playlist.mp4", playlist.encode())


def _concat(folder: Path, canary: Canary) -> Path:
    return _write(folder, "concat.mp4", f"ffconcat version 1.0\nfile '{canary.path}'\n".encode())


def _container_carrying_playlist(fmt: str) -> Callable[[Path, Canary], Path]:
    """A real AVI/MKV header whose only video packet is an HLS playlist naming the canary (the shape
    of the well-known FFmpeg file-disclosure files)."""

    def make(folder: Path, canary: Canary) -> Path:
        playlist = _hls(folder, canary).read_bytes()
        codec = "mpeg4" if fmt == "avi" else "libx264"
        template = _small_clip(folder, f"template.{fmt}", codec=codec)
        path = folder / f"playlist_inside.{fmt}"
        with av.open(str(template)) as src, av.open(str(path), "w") as out:
            stream = out.add_stream_from_template(src.streams.video[0])
            for i in range(3):
                packet = av.Packet(playlist)
                packet.stream, packet.pts, packet.dts = stream, i, i
                packet.time_base = Fraction(1, 25)
                packet.is_keyframe = True
                out.mux(packet)
        return path

    return make


def _huge_header(side: int) -> Callable[[Path, Canary], Path]:
    return lambda folder, _c: _declared_size(folder, side)


def _declared_size(folder: Path, side: int) -> Path:
    """Raw video in AVI whose headers declare side x side pixels (the frames are 16x16)."""
    src = folder / "raw16.avi"
    with av.open(str(src), "w") as out:
        stream = out.add_stream("rawvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "rgb24"
        for _ in range(2):
            frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    data = bytearray(src.read_bytes())
    avih = data.index(b"avih") + 8
    struct.pack_into("<II", data, avih + 32, side, side)  # dwWidth, dwHeight
    strf = data.index(b"strf") + 8
    struct.pack_into("<ii", data, strf + 4, side, side)  # biWidth, biHeight
    return _write(folder, f"declares_{side}.avi", bytes(data))


def _ten_hours(folder: Path, _c: Canary) -> Path:
    """Two real frames, ten hours apart: a declared (and timestamped) 10-hour video."""
    path = folder / "ten_hours.mkv"
    frames = synthetic.render_frames(160, 120, 2)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for img, pts in zip(frames, [0, 36_000_000], strict=True):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _zero_frames(folder: Path, _c: Canary) -> Path:
    """A video track with no frame at all, beside one second of audio (so the file itself opens)."""
    path = folder / "zero_frames.mkv"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        audio = out.add_stream("aac", rate=16000, layout="mono")
        pcm = np.zeros((1, 1024), np.float32)
        for i in range(16):
            frame = av.AudioFrame.from_ndarray(pcm, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return path


def _fifty_streams(folder: Path, _c: Canary) -> Path:
    path = folder / "fifty_streams.mkv"
    img = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
    with av.open(str(path), "w") as out:
        streams = []
        for _ in range(50):
            stream = out.add_stream("mpeg4", rate=25)
            stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
            streams.append(stream)
        for stream in streams:
            out.mux(stream.encode(img))
            out.mux(stream.encode(None))
    return path


def _corrupt_h264(folder: Path, _c: Canary) -> Path:
    """Every byte of the H.264 payload (mdat) replaced by noise; the index (moov) intact."""
    data = bytearray(_small_clip(folder).read_bytes())
    start = data.index(b"mdat") + 4
    end = data.index(b"moov") - 4
    data[start:end] = np.random.default_rng(1).integers(0, 256, end - start, dtype=np.uint8).tobytes()
    return _write(folder, "corrupt_h264.mp4", bytes(data))


def _polyglot(folder: Path, _c: Canary) -> Path:
    """A valid JPEG with a valid MP4 appended (image viewers show the photo)."""
    return _write(folder, "polyglot.mp4", _image("JPEG") + _small_clip(folder).read_bytes())


def _aac_mp4(folder: Path, _c: Canary) -> Path:
    return synthetic.write_tone(folder / "aac.mp4")


def _ansi(folder: Path, _c: Canary) -> Path:
    art = "".join(f"\x1b[{30 + i % 8};1m{'#' * 40}\x1b[0m\r\n" for i in range(200))
    return _write(folder, "ansi.mp4", art.encode())


_RANDOM = np.random.default_rng(0).bytes(65536)
_TEXT = b"this is plain text, not a video\n" * 100  # answered 200 NO_FACE as "bin" before the allow-list

CASES: list[Case] = [
    Case("empty file", lambda d, c: _write(d, "empty.mp4", b""), 422, "empty"),
    Case("random bytes", lambda d, c: _write(d, "random.mp4", _RANDOM), 415, "not a video"),
    Case("text renamed .mp4", lambda d, c: _write(d, "notavideo.mp4", _TEXT), 415, "not a video"),
    Case("ANSI/tty text", _ansi, 415, "not a video"),
    Case("JPEG renamed .mp4", lambda d, c: _write(d, "photo.mp4", _image("JPEG")), 415, "is an image"),
    Case("PNG renamed .mp4", lambda d, c: _write(d, "image.mp4", _image("PNG")), 415, "is an image"),
    Case("GIF renamed .mp4", lambda d, c: _write(d, "anim.mp4", _image("GIF")), 415, "converted to mp4"),
    Case("WAV audio", _wav, 415, "wav"),
    Case("MP3 audio", _mp3, 415, "mp3"),
    Case("AAC in MP4 (audio only)", _aac_mp4, 415, "no video stream"),
    Case("MP4 without moov", _without_moov, 422, "cannot be opened"),
    Case("MP4 truncated at 1%", _truncated(0.01), 422, "cannot be opened"),
    Case("MP4 truncated at 50%", _truncated(0.50), 422, "cannot be opened"),
    # Only the trailing metadata atom is lost: the index and every frame survive, so it is a video.
    Case("MP4 truncated at 99%", _truncated(0.99), 200, ""),
    Case("HLS playlist -> canary", _hls, 415, "not a video"),
    Case("concat script -> canary", _concat, 415, "concat"),
    Case("AVI carrying a playlist", _container_carrying_playlist("avi"), 422, "decod"),
    Case("MKV carrying a playlist", _container_carrying_playlist("mkv"), 422, "decod"),
    # FFmpeg itself refuses 16384x16384 (its frame buffer size would overflow): no valid size at all.
    Case("header 16384x16384", _huge_header(16384), 422, "no valid picture size"),
    Case("header 16000x16000", _huge_header(16000), 413, "16000x16000"),
    Case("10-hour duration", _ten_hours, 413, "36000.0 s"),
    Case("zero frames", _zero_frames, 422, "no frames"),
    Case("50 streams", _fifty_streams, 413, "50 streams"),
    Case("corrupted H.264 bitstream", _corrupt_h264, 422, "decod"),
    Case("polyglot JPEG + MP4", _polyglot, 415, "is an image"),
]  # fmt: skip
