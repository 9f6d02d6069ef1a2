"""Which containers the service opens, decided by content before any demuxer runs.

Every upload is untrusted input to FFmpeg. Left to itself, `av.open` probes a file against all
~350 demuxers and runs the winner: the "binary text", tty and image demuxers render any bytes as
"video", and the HLS and concat demuxers open other files named inside the upload (a playlist
pointing at a secret file). So the container is identified here first, from the file's leading
bytes only (FFmpeg's own `av_probe_input_format3`, no file name, so no extension can steer it),
and only the demuxers in `ALLOWED_DEMUXERS` are ever run, with the "file" protocol only
(`OPEN_OPTIONS`): no network, no playlists, no external references.

PyAV does not expose FFmpeg's probe function, so it is called through ctypes in the libavformat
PyAV has already loaded (the same library, found in /proc/self/maps). `AVProbeData` and the leading
`name` field of `AVInputFormat` have kept their layout since FFmpeg 2.

>>> detect_container_bytes(b"ffconcat version 1.0\\nfile /etc/passwd\\n").name
'concat'
>>> detect_container_bytes(b"plain text, no container\\n" * 40) is None
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import av

# FFmpeg demuxer names (as `container.format.name` reports them) of the real video containers
# users upload. Everything else is refused with 415 and the name of what was detected.
ALLOWED_DEMUXERS: frozenset[str] = frozenset(
    {
        "mov,mp4,m4a,3gp,3g2,mj2",  # MP4, MOV, M4V, 3GP (an audio-only M4A is refused later: no video)
        "matroska,webm",  # MKV, WebM
        "avi",
        "flv",
        "live_flv",
        "mpegts",  # .ts, .m2ts (broadcast, camcorders)
        "mpeg",  # MPEG-PS: .mpg, .vob
        "asf",  # WMV
        "ogg",  # Ogg Theora
        "mxf",  # professional cameras
    }
)
# Still images: named in the 415 so the user learns what they sent.
_IMAGE_DEMUXER_HINTS = ("_pipe", "image2", "gif", "apng", "webp")

# Options for avformat_open_input: the file itself and nothing else.
OPEN_OPTIONS: dict[str, str] = {
    "protocol_whitelist": "file",
    "format_whitelist": ",".join(sorted({n.split(",")[0] for n in ALLOWED_DEMUXERS})),
    "enable_drefs": "0",  # MOV: never follow data references to other files (FFmpeg's default)
}

PROBE_MIN_BYTES = 2048  # FFmpeg's PROBE_BUF_MIN
PROBE_MAX_BYTES = 1 << 20  # FFmpeg reads up to 5 MB; every container we allow is known in far less
_PROBE_SCORE_RETRY = 25  # AVPROBE_SCORE_RETRY: below this, read more before trusting the guess
_PROBE_PADDING = 64  # AVPROBE_PADDING_SIZE: zeroed bytes FFmpeg's probes may read past the end


@dataclass(frozen=True)
class DetectedContainer:
    name: str  # FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    long_name: str  # e.g. "QuickTime / MOV"
    score: int  # FFmpeg's probe confidence, 1..100

    @property
    def allowed(self) -> bool:
        return self.name in ALLOWED_DEMUXERS

    @property
    def is_image(self) -> bool:
        return any(hint in self.name for hint in _IMAGE_DEMUXER_HINTS)

    @property
    def open_name(self) -> str:
        """The name `av.open(format=...)` accepts (the first of a comma-separated list)."""
        return self.name.split(",")[0]

    def describe(self) -> str:
        return f"{self.name} ({self.long_name})" if self.long_name else self.name


class _AVProbeData(ctypes.Structure):
    _fields_ = [
        ("filename", ctypes.c_char_p),
        ("buf", ctypes.POINTER(ctypes.c_ubyte)),
        ("buf_size", ctypes.c_int),
        ("mime_type", ctypes.c_char_p),
    ]


def _loaded_libavformat() -> str | None:
    """Path of the libavformat this process uses (PyAV's, once `av` is imported)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.rsplit(" ", 1)[-1].strip()
                if "libavformat" in os.path.basename(path):
                    return path
    except OSError:
        pass
    return ctypes.util.find_library("avformat")


@functools.cache
def _probe_function():
    av.format.ContainerFormat("mov")  # make sure PyAV's libavformat is mapped
    path = _loaded_libavformat()
    if path is None:
        raise RuntimeError("cannot locate libavformat to identify uploaded containers")
    probe = ctypes.CDLL(path).av_probe_input_format3
    probe.restype = ctypes.c_void_p
    probe.argtypes = [ctypes.POINTER(_AVProbeData), ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    return probe


def _probe(head: bytes, min_score: int) -> DetectedContainer | None:
    """FFmpeg's best guess for `head` when its confidence exceeds `min_score`, else None."""
    buf = (ctypes.c_ubyte * (len(head) + _PROBE_PADDING)).from_buffer_copy(head + bytes(_PROBE_PADDING))
    data = _AVProbeData(b"", buf, len(head), None)  # no file name: content only
    score = ctypes.c_int(0)
    # is_opened=1: only demuxers that read from an opened file (not image2's file patterns).
    fmt = _probe_function()(ctypes.byref(data), 1, ctypes.byref(score))
    if not fmt or score.value <= min_score:
        return None
    name = ctypes.cast(fmt, ctypes.POINTER(ctypes.c_char_p))[0].decode("ascii", "replace")
    try:
        long_name = av.format.ContainerFormat(name.split(",")[0]).long_name or ""
    except ValueError:
        long_name = ""
    return DetectedContainer(name, long_name, score.value)


def detect_container_bytes(head: bytes) -> DetectedContainer | None:
    """FFmpeg's guess for a file starting with `head`, read as FFmpeg itself would: a little at a
    time, trusting a low-confidence guess only once everything available has been seen."""
    size = PROBE_MIN_BYTES
    while True:
        last = size >= len(head)
        found = _probe(head[:size], 0 if last else _PROBE_SCORE_RETRY)
        if found is not None or last:
            return found
        size *= 2


def detect_container(path: str | os.PathLike) -> DetectedContainer | None:
    """The container of the file at `path`, from at most `PROBE_MAX_BYTES` of its content."""
    with open(Path(path), "rb") as f:
        head = f.read(PROBE_MAX_BYTES)
    return detect_container_bytes(head) if head else None
