"""The synthetic media fixtures decode as documented, and MTCNN sees the faces they claim to hold."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from deepfake_detect import synthetic

ONE_FACE = ["video_mp4", "video_avi", "video_mjpeg", "video_mkv", "video_mov", "video_webm"]


@pytest.mark.parametrize(
    ("fixture", "codec", "frames", "size"),
    [
        ("video_mp4", "h264", 20, (320, 240)),
        ("video_avi", "mpeg4", 20, (320, 240)),
        ("video_mjpeg", "mjpeg", 20, (320, 240)),
        ("video_mkv", "h264", 20, (320, 240)),
        ("video_mov", "h264", 20, (320, 240)),
        ("video_webm", "vp9", 20, (320, 240)),
        ("video_two_faces", "h264", 20, (480, 270)),
        ("video_no_face", "h264", 20, (320, 240)),
        ("video_short", "h264", 3, (320, 240)),
    ],
)
def test_video_fixture_decodes(request: pytest.FixtureRequest, fixture, codec, frames, size) -> None:
    info = synthetic.probe(request.getfixturevalue(fixture))
    assert (info["codec"], info["frames"], info["size"], info["rotation"]) == (codec, frames, size, 0)


def test_render_is_deterministic(tmp_path: Path) -> None:
    a, b = synthetic.render_frames(n_frames=2, seed=3), synthetic.render_frames(n_frames=2, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], synthetic.render_frames(n_frames=1, seed=4)[0])
    assert not np.array_equal(a[0], a[1])  # faces move
    with pytest.raises(ValueError):
        synthetic.render_video(tmp_path / "x.mp4", rotation=45)


def test_face_image() -> None:
    img = synthetic.face_image()
    assert img.dtype == np.uint8 and img.shape == (160, 150, 3)
    assert synthetic.face_image() is img  # cached


def test_rotated_reads_back(video_rotated: Path) -> None:
    info = synthetic.probe(video_rotated)
    assert info["size"] == (320, 240) and info["rotation"] == -90 and info["frames"] == 20
    with av.open(str(video_rotated)) as inp:  # the raw display matrix travels on every frame
        frame = next(inp.decode(video=0))
        assert "DISPLAYMATRIX" in [sd.type.name for sd in frame.side_data]
    upright = synthetic.read_frames(video_rotated, upright=True)
    assert upright[0].shape == (320, 240, 3)


def test_truncated_does_not_open(video_truncated: Path, video_mp4: Path) -> None:
    assert video_truncated.stat().st_size == int(video_mp4.stat().st_size * 0.3)
    with pytest.raises(av.error.InvalidDataError):
        av.open(str(video_truncated))


def test_truncated_partial_decodes_some_then_fails(video_truncated_partial: Path) -> None:
    decoded = 0
    with av.open(str(video_truncated_partial)) as inp:
        assert inp.streams.video[0].frames == 60
        with pytest.raises(av.error.InvalidDataError):
            for _ in inp.decode(video=0):
                decoded += 1
    assert 0 < decoded < 60


@pytest.mark.parametrize("fixture", ["empty_file", "text_as_mp4"])
def test_garbage_does_not_open(request: pytest.FixtureRequest, fixture: str) -> None:
    with pytest.raises(av.error.InvalidDataError):
        av.open(str(request.getfixturevalue(fixture)))


def test_image_as_mp4_is_a_png(image_as_mp4: Path) -> None:
    assert image_as_mp4.read_bytes().startswith(b"\x89PNG")
    with av.open(str(image_as_mp4)) as inp:  # FFmpeg sniffs the content, not the name
        assert inp.streams.video[0].codec_context.name == "png"


def test_audio_only_has_no_video(audio_only: Path) -> None:
    with av.open(str(audio_only)) as inp:
        assert len(inp.streams.video) == 0 and len(inp.streams.audio) == 1
        assert inp.streams.audio[0].codec_context.name == "aac"


def _faces(mtcnn, frames: list[np.ndarray]) -> list[np.ndarray]:
    """Confident (p > 0.95) MTCNN boxes per frame, each an (n, 4) array."""
    boxes, probs = mtcnn.detect(frames)
    return [np.zeros((0, 4)) if b is None else b[p > 0.95] for b, p in zip(boxes, probs, strict=True)]


def _face_counts(mtcnn, frames: list[np.ndarray]) -> list[int]:
    return [len(b) for b in _faces(mtcnn, frames)]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w, h = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return float(w * h / (area - w * h))


@pytest.mark.parametrize(
    ("fixture", "faces"), [("video_mp4", 1), ("video_two_faces", 2), ("video_no_face", 0)]
)
def test_mtcnn_counts_faces(request: pytest.FixtureRequest, mtcnn, fixture: str, faces: int) -> None:
    boxes = _faces(mtcnn, synthetic.read_frames(request.getfixturevalue(fixture)))
    assert [len(b) for b in boxes] == [faces] * 20
    for prev, cur in zip(boxes, boxes[1:], strict=False):  # faces move a little: a tracker can link them
        assert all(max(_iou(a, b) for b in cur) > 0.6 for a in prev)


@pytest.mark.parametrize("fixture", ONE_FACE[1:])
def test_mtcnn_one_face_in_every_container(request: pytest.FixtureRequest, mtcnn, fixture: str) -> None:
    frames = synthetic.read_frames(request.getfixturevalue(fixture))
    assert _face_counts(mtcnn, [frames[0], frames[-1]]) == [1, 1]


def test_mtcnn_rotated_face_is_upright_after_rotation(video_rotated: Path, mtcnn) -> None:
    frames = synthetic.read_frames(video_rotated, upright=True)
    assert _face_counts(mtcnn, frames[::5]) == [1] * 4
