"""The container allow-list (`containers.py`) and the limits `media.py` enforces before and while decoding."""

from __future__ import annotations

import pytest

from deepfake_detect import synthetic
from deepfake_detect.containers import (
    ALLOWED_DEMUXERS,
    OPEN_OPTIONS,
    detect_container,
    detect_container_bytes,
)
from deepfake_detect.errors import MediaTooLarge, UnsupportedMedia
from deepfake_detect.media import MediaLimits, probe, sample_frames


@pytest.mark.parametrize(
    "name, codec, demuxer",
    [
        ("a.mp4", "libx264", "mov,mp4,m4a,3gp,3g2,mj2"),
        ("a.mov", "libx264", "mov,mp4,m4a,3gp,3g2,mj2"),
        ("a.mkv", "libx264", "matroska,webm"),
        ("a.webm", "libvpx", "matroska,webm"),
        ("a.avi", "mpeg4", "avi"),
        ("a.flv", "flv", "flv"),
        ("a.ts", "libx264", "mpegts"),
        ("a.mpg", "mpeg2video", "mpeg"),
        ("a.wmv", "wmv2", "asf"),
    ],
)
def test_real_containers_are_detected_by_content_and_read(tmp_path, name, codec, demuxer):
    clip = synthetic.render_video(tmp_path / name, width=64, height=48, n_frames=4, codec=codec)
    no_name = tmp_path / "upload"  # what the server writes: no extension to guess from
    no_name.write_bytes(clip.read_bytes())
    found = detect_container(no_name)
    assert found is not None and found.name == demuxer and found.allowed
    assert len(sample_frames(no_name, 2).frames) == 2


def test_the_extension_never_counts(tmp_path):
    fake = tmp_path / "clip.bin"  # ".bin" made FFmpeg use its "binary text" demuxer on any bytes
    fake.write_bytes(b"this is plain text, not a video\n" * 100)
    assert detect_container(fake) is None
    with pytest.raises(UnsupportedMedia, match="not a video container"):
        sample_frames(fake, 4)


def test_playlists_are_detected_and_refused():
    concat = detect_container_bytes(b"ffconcat version 1.0\nfile /etc/passwd\n")
    assert concat is not None and concat.name == "concat" and not concat.allowed


def test_ffmpeg_only_opens_files_and_only_the_allowed_demuxers():
    assert OPEN_OPTIONS["protocol_whitelist"] == "file"
    assert set(OPEN_OPTIONS["format_whitelist"].split(",")) == {n.split(",")[0] for n in ALLOWED_DEMUXERS}
    assert not {"hls", "concat", "image2", "bin", "tty"} & set(OPEN_OPTIONS["format_whitelist"].split(","))


def test_header_frame_count_is_checked_before_decoding(video_mp4):
    with pytest.raises(MediaTooLarge, match="declares 20 frames"):
        probe(video_mp4, MediaLimits(max_frames=10))


def test_demuxed_frame_count_is_checked_when_the_header_has_none(video_webm):
    with pytest.raises(MediaTooLarge, match="more than 10 frames"):
        sample_frames(video_webm, 4, MediaLimits(max_frames=10))  # WebM declares no frame count


def test_decode_time_budget(video_mp4):
    with pytest.raises(MediaTooLarge, match="longer than the limit"):
        sample_frames(video_mp4, 4, MediaLimits(max_decode_s=1e-9))


def test_decoded_bytes_cap_stops_a_decompression_bomb(video_mp4):
    # 320x240 yuv420p is ~115 KB a frame: the cap is reached within the first frames.
    with pytest.raises(MediaTooLarge, match="decodes to more than"):
        sample_frames(video_mp4, 4, MediaLimits(max_decoded_bytes=300_000))


def test_limits_from_settings_are_all_set():
    from deepfake_detect import Settings

    limits = MediaLimits.from_settings(
        Settings(max_decode_s=7, max_decoded_gb=1, max_frames=9, max_streams=3)
    )
    assert (limits.max_decode_s, limits.max_decoded_bytes, limits.max_frames, limits.max_streams) == (
        7,
        2**30,
        9,
        3,
    )
