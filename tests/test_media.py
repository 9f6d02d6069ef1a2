import av
import numpy as np
import pytest

from deepfake_detect import synthetic
from deepfake_detect.errors import CorruptMedia, MediaTooLarge, UnsupportedMedia
from deepfake_detect.media import MediaLimits, evenly_spaced, probe, sample_frames


@pytest.mark.parametrize(
    "fixture", ["video_mp4", "video_avi", "video_mkv", "video_mov", "video_webm", "video_mjpeg"]
)
def test_every_seed_container_samples_evenly(fixture, request):
    video = sample_frames(request.getfixturevalue(fixture), n_frames=8)
    assert [f.index for f in video.frames] == evenly_spaced(20, 8)
    assert all(f.image.shape == (240, 320, 3) and f.image.dtype.name == "uint8" for f in video.frames)
    stamps = [f.timestamp_s for f in video.frames]
    assert stamps == sorted(stamps) and stamps[-1] > 0.5  # 20 frames at 25 fps span 0.76 s
    assert video.info.frame_count == 20


def test_extension_is_ignored(video_mp4, tmp_path):
    renamed = tmp_path / "clip.txt"
    renamed.write_bytes(video_mp4.read_bytes())
    assert len(sample_frames(renamed, 4).frames) == 4


def test_rotation_metadata_is_applied(video_rotated):
    video = sample_frames(video_rotated, 4)
    assert video.info.rotation == 90
    assert (video.info.width, video.info.height) == (240, 320)
    assert video.frames[0].image.shape == (320, 240, 3)


def test_short_video_gives_all_its_frames(video_short):
    video = sample_frames(video_short, 32)
    assert [f.index for f in video.frames] == [0, 1, 2]


def test_evenly_spaced():
    assert evenly_spaced(5, 10) == [0, 1, 2, 3, 4]
    assert evenly_spaced(300, 3) == [50, 150, 250]
    assert len(evenly_spaced(301, 32)) == 32


@pytest.mark.parametrize(
    "fixture, error",
    [
        ("empty_file", CorruptMedia),
        ("video_truncated", CorruptMedia),
        ("text_as_mp4", UnsupportedMedia),
        ("image_as_mp4", UnsupportedMedia),
        ("audio_only", UnsupportedMedia),
    ],
)
def test_bad_files_raise_typed_errors(fixture, error, request):
    with pytest.raises(error) as info:
        sample_frames(request.getfixturevalue(fixture), 8)
    assert info.value.detail  # says what was wrong


def test_damaged_tail_keeps_decoded_frames(video_truncated_partial):
    video = sample_frames(video_truncated_partial, 60)
    assert 0 < len(video.frames) < 60


@pytest.mark.parametrize(
    "limits",
    [MediaLimits(max_bytes=100), MediaLimits(max_duration_s=0.1), MediaLimits(max_pixels=320 * 239)],
)
def test_limits_refuse(video_mp4, limits):
    with pytest.raises(MediaTooLarge):
        sample_frames(video_mp4, 4, limits)


def test_probe_reads_without_sampling(video_webm):
    info = probe(video_webm)
    assert (info.width, info.height, info.frame_count) == (320, 240, 20)
    assert info.codec == "vp9" and "webm" in info.container or "matroska" in info.container


def test_variable_frame_rate_reports_real_timestamps(tmp_path):
    """Frames bunch up then spread out; timestamps must follow the stream, not index / fps."""
    from fractions import Fraction

    import av

    from deepfake_detect.synthetic import render_frames

    path = tmp_path / "vfr.mkv"
    pts_ms = [0, 40, 80, 120, 1000, 2000, 3000, 3040]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for img, pts in zip(render_frames(160, 120, len(pts_ms)), pts_ms, strict=True):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    video = sample_frames(path, 8)
    assert [f.timestamp_s for f in video.frames] == pytest.approx([p / 1000 for p in pts_ms], abs=0.002)


def _with_picture(path, frames, *, picture_first: bool, cover: bool, fmt: str):
    """A file with a one-frame still picture beside the video (frames: RGB [H, W, 3] or None for an audio
    file); cover=True marks the picture as cover art (attached_pic), as players and taggers write it."""
    h, w = 240, 320
    with av.open(str(path), "w", format=fmt) as out:

        def still():
            s = out.add_stream("mjpeg", rate=1)
            s.width, s.height, s.pix_fmt = w, h, "yuvj420p"
            if cover:
                s.disposition = av.stream.Disposition.attached_pic
            return s

        def moving():
            if frames is None:
                return out.add_stream("aac", rate=16000, layout="mono")
            s = out.add_stream("libx264", rate=25)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            return s

        if picture_first:
            picture = still()
            main = moving()
        else:
            main = moving()
            picture = still()
        out.mux(picture.encode(av.VideoFrame.from_ndarray(np.full((h, w, 3), 200, np.uint8), format="rgb24")))
        out.mux(picture.encode(None))
        if frames is None:
            silence = av.AudioFrame.from_ndarray(np.zeros((1, 16000), np.int16), format="s16", layout="mono")
            silence.sample_rate, silence.pts = 16000, 0
            out.mux(main.encode(silence))
        else:
            for image in frames:
                out.mux(main.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(main.encode(None))
    return path


@pytest.mark.parametrize(
    "fmt, picture_first, cover",
    [("matroska", True, False), ("matroska", False, False), ("mp4", True, True), ("mp4", False, True)],
)
def test_the_video_is_read_not_a_still_picture_beside_it(tmp_path, fmt, picture_first, cover):
    """A still picture track before the video made a one-frame NO_FACE "video" of it (MKV, found
    2026-12-07): every stage reads FFmpeg's best video stream, never cover art."""
    frames = synthetic.render_frames(320, 240, 20, 1, 0.45, 0)
    path = _with_picture(tmp_path / "clip", frames, picture_first=picture_first, cover=cover, fmt=fmt)
    video = sample_frames(path, n_frames=8)
    assert video.info.codec == "h264" and video.info.frame_count == 20 and len(video.frames) == 8
    assert np.abs(video.frames[0].image.astype(int) - 200).mean() > 20  # not the grey picture


def test_an_audio_file_with_cover_art_is_not_a_video(tmp_path):
    path = _with_picture(tmp_path / "song", None, picture_first=True, cover=True, fmt="mp4")
    with pytest.raises(UnsupportedMedia, match=r"no video stream \(found: audio, cover picture\)"):
        sample_frames(path, n_frames=8)
