"""The decoding pass decodes less than everything and still gives every sampled frame's exact pixels."""

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from deepfake_detect import media, media_decode, synthetic
from deepfake_detect.media import _scan, evenly_spaced, sample_frames
from deepfake_detect.media_decode import Pass, collect
from deepfake_detect.media_limits import NO_LIMITS, DecodeBudget

CLIPS = ["video_mp4", "video_avi", "video_mkv", "video_mov", "video_webm", "video_mjpeg", "video_rotated"]

# Short GOPs, as phones write them, so that samples lie GOPs apart and the pass seeks.
SHORT_GOPS = {
    "h264_closed.mp4": ("libx264", {"preset": "veryfast", "x264-params": "keyint=10:min-keyint=10"}),
    "h264_open.mkv": ("libx264", {"preset": "veryfast", "x264-params": "keyint=12:min-keyint=12:open-gop=1"}),
    "h264_no_b.mov": ("libx264", {"preset": "veryfast", "x264-params": "keyint=8:bframes=0"}),
    "vp9.webm": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "g": "10"}),
    "mjpeg.mkv": ("mjpeg", {}),
    "mjpeg.avi": ("mjpeg", {}),  # AVI jumps only when every frame is a keyframe
    "hevc_open.mov": (
        "libx265",
        {"preset": "ultrafast", "x265-params": "keyint=12:open-gop=1:log-level=error"},
    ),
    "mpeg2.mkv": ("mpeg2video", {"g": "12", "bf": "2"}),
    "mpeg4_b.mp4": ("mpeg4", {"g": "12", "bf": "2"}),
    "av1.mkv": ("libsvtav1", {"g": "12", "preset": "12"}),  # no NONREF skipping: see media_decode
}


def write_clip(path: Path, codec: str, options: dict, frames: list[np.ndarray]) -> bool:
    """Encode RGB frames [H, W, 3] at 25 fps into `path`; False if this FFmpeg has no such encoder."""
    try:
        av.codec.Codec(codec, "w")
    except av.codec.codec.UnknownCodecError:
        return False
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25, options=options)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return True


@pytest.fixture(scope="module")
def short_gop_clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gops")
    frames = synthetic.render_frames(160, 120, 240, 1, 0.45, 0)
    # A clip this FFmpeg cannot encode is left out: its tests skip.
    return {
        name: folder / name
        for name, (codec, options) in SHORT_GOPS.items()
        if write_clip(folder / name, codec, options, frames)
    }


def both_passes(path: Path, n: int) -> tuple[dict[bool, Pass], dict[bool, int]]:
    """The fast and the full pass over `n` evenly spaced frames, and the picture bytes each decoded."""
    _, pts, keys = _scan(Path(path), DecodeBudget(NO_LIMITS))
    wanted = {pts[i]: i for i in evenly_spaced(len(pts), n)}
    found, decoded = {}, {}
    for fast in (True, False):
        budget = DecodeBudget(NO_LIMITS)
        with av.open(str(path)) as container:
            found[fast] = collect(container, budget, wanted, keys, pts[0], fast, len(keys) == len(pts))
        decoded[fast] = budget.decoded_bytes
    assert len(found[False].frames) == len(wanted)
    return found, decoded


def assert_same_frames(a: list, b: list) -> None:
    assert [(f.index, f.timestamp_s) for f in a] == [(f.index, f.timestamp_s) for f in b]
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.image, y.image), x.index


@pytest.mark.parametrize("fixture", CLIPS)
@pytest.mark.parametrize("n", [3, 8, 20])
def test_the_fixtures_sample_the_pixels_of_a_full_decode(fixture, n, request):
    found, _ = both_passes(request.getfixturevalue(fixture), n)
    assert not found[True].seek_missed and not found[True].reordered and found[True].intact
    assert found[True].rotation == found[False].rotation
    assert_same_frames(found[True].frames, found[False].frames)


@pytest.mark.parametrize("name", list(SHORT_GOPS))
@pytest.mark.parametrize("n", [3, 7, 32])
def test_short_gops_are_jumped_with_the_pixels_of_a_full_decode(short_gop_clips, name, n):
    if name not in short_gop_clips:
        pytest.skip(f"this FFmpeg cannot encode {name}")
    found, decoded = both_passes(short_gop_clips[name], n)
    assert not found[True].seek_missed and not found[True].reordered and found[True].intact
    assert_same_frames(found[True].frames, found[False].frames)  # in one pass: no help from a fallback
    if n == 3:  # samples 80 frames apart, GOPs of 1-12: most of the video is never decoded
        assert decoded[True] < 0.5 * decoded[False]


def test_h264_b_frames_nothing_refers_to_are_not_decoded(video_mp4):
    found, decoded = both_passes(video_mp4, 3)  # one GOP: no seek, only the skipped B-frames
    assert len(found[True].frames) == 3 and decoded[True] < 0.9 * decoded[False]


def test_an_avi_with_inter_frames_is_decoded_straight_through(video_avi, video_mjpeg, monkeypatch):
    """AVI timestamps are decode order, out of order once B-frames are reordered: no jump unless intra."""
    jumps = []
    real_jump = media_decode._jump
    monkeypatch.setattr(media_decode, "_jump", lambda *args: jumps.append(args) or real_jump(*args))
    assert len(sample_frames(video_avi, 3).frames) == 3 and not jumps  # MPEG-4 Part 2: I and P frames
    assert len(sample_frames(video_mjpeg, 3).frames) == 3 and jumps  # every frame a keyframe


def test_an_avi_without_its_index_samples_the_pixels_of_a_full_decode(short_gop_clips, tmp_path):
    data = short_gop_clips["mjpeg.avi"].read_bytes()
    cut = tmp_path / "no_index.avi"  # as a recorder killed before it wrote the index
    cut.write_bytes(data[: data.rindex(b"idx1")])
    found, _ = both_passes(cut, 7)
    assert_same_frames(sample_frames(cut, 7).frames, found[False].frames)


# Containers x codecs with frame reordering (B-frames) where a sampled frame could land elsewhere.
B_FRAMES = {
    "h264.avi": ("libx264", {"x264-params": "keyint=30:bframes=3"}),  # AVI: decode-order timestamps
    "h264.mkv": ("libx264", {"x264-params": "keyint=30:bframes=3"}),
    "h264.ts": ("libx264", {"x264-params": "keyint=30:bframes=3"}),
    "h264.flv": ("libx264", {"x264-params": "keyint=30:bframes=3"}),
    "mpeg2.mpg": ("mpeg2video", {"g": "12", "bf": "2"}),
    "mpeg2.avi": ("mpeg2video", {"g": "12", "bf": "2"}),
    "mpeg2.mxf": ("mpeg2video", {"g": "12", "bf": "2"}),
    "mpeg4.avi": ("mpeg4", {"g": "12", "bf": "2"}),  # B-frames packed two to a chunk, as DivX did
    "wmv2.asf": ("wmv2", {"g": "12"}),
}


def bar(image: np.ndarray) -> int:
    """Where the white bar of a `B_FRAMES` clip is: its frame's place."""
    columns = image.mean(axis=(0, 2)) ** 2  # [W]: the bar dominates the coding noise around it
    return round(float((columns * np.arange(len(columns))).sum() / columns.sum()) - 17.5)


@pytest.mark.parametrize("name", list(B_FRAMES))
def test_sampled_frames_are_the_frames_at_their_place(tmp_path, name):
    """Before 2026-12-07, H.264 with B-frames in AVI (an MP4 stream-copied into AVI) came out with its
    frames' timestamps shuffled, and frames labelled by them were up to 3 places off."""
    bars = np.zeros((90, 32, 128, 3), np.uint8)
    for i, image in enumerate(bars):  # frame i has a white bar at column i: its place can be read off
        image[:, i + 16 : i + 20] = 255
    path = tmp_path / name
    if not write_clip(path, *B_FRAMES[name], list(bars)):
        pytest.skip(f"this FFmpeg cannot encode {name}")
    for n in (5, 32, 90):
        frames = sample_frames(path, n).frames
        assert [f.index for f in frames] == evenly_spaced(90, n)
        assert [bar(f.image) for f in frames] == [f.index for f in frames]
        assert [f.timestamp_s for f in frames] == [round(f.index / 25, 4) for f in frames]


def test_a_seek_that_lands_off_its_keyframe_falls_back_to_a_full_decode(short_gop_clips, monkeypatch):
    path = short_gop_clips["h264_closed.mp4"]
    reference = sample_frames(path, 5)
    real_jump = media_decode._jump

    def past_the_keyframe(keys, current, target):
        key = real_jump(keys, current, target)
        return None if key is None else key + 1  # the demuxer goes back to the keyframe: pts differs

    monkeypatch.setattr(media_decode, "_jump", past_the_keyframe)
    _, pts, keys = _scan(path, DecodeBudget(NO_LIMITS))
    with av.open(str(path)) as container:
        wanted = {pts[i]: i for i in evenly_spaced(len(pts), 5)}
        assert collect(container, DecodeBudget(NO_LIMITS), wanted, keys, pts[0]).seek_missed
    assert_same_frames(sample_frames(path, 5).frames, reference.frames)


def test_a_sampled_frame_missing_from_an_intact_pass_is_decoded_in_a_second_pass(video_mp4, monkeypatch):
    real = media.collect

    def losing_the_first(container, budget, wanted, keys, first_pts, *args):
        found = real(container, budget, wanted, keys, first_pts, *args)
        if args[0]:  # fast
            found.frames = found.frames[1:]
        return found

    monkeypatch.setattr(media, "collect", losing_the_first)
    assert [f.index for f in sample_frames(video_mp4, 8).frames] == evenly_spaced(20, 8)


def test_real_clips_sample_the_pixels_of_a_full_decode(shared_data):
    clips = sorted((shared_data / "videos" / "real").glob("*.mp4"))
    clips += sorted((shared_data / "talking_heads").rglob("*.mp4"))[:4]
    for path in clips:
        found, _ = both_passes(path, 32)
        assert_same_frames(found[True].frames, found[False].frames)


def _combing(image: np.ndarray) -> float:
    """How much each row differs from the mean of its neighbours: large where two fields are woven."""
    rows = image.astype(np.float32)
    return float(np.abs(rows[1:-1] - (rows[:-2] + rows[2:]) / 2).mean())


def test_interlaced_frames_are_deinterlaced(tmp_path):
    """Fields woven from two moments (1080i broadcast) comb every moving edge, which the model reads as
    manipulation; frames flagged interlaced come out as one field, as smooth as the progressive video."""
    frames = synthetic.render_frames(320, 240, 40, 1, 0.45, 0)  # a moving face, 25 fps
    woven = []
    for first, second in zip(frames[0::2], frames[1::2], strict=True):
        image = first.copy()
        image[1::2] = second[1::2]  # bottom field 1/25 s later
        woven.append(image)
    interlaced, progressive = tmp_path / "interlaced.mp4", tmp_path / "progressive.mp4"
    options = {"preset": "veryfast", "crf": "12"}
    assert write_clip(interlaced, "libx264", options | {"x264-params": "interlaced=1:tff=1"}, woven)
    assert write_clip(progressive, "libx264", options, frames[0::2])
    with av.open(str(interlaced)) as container:
        raw = [f.to_ndarray(format="rgb24") for f in container.decode(video=0) if f.interlaced_frame]
    assert len(raw) == 20  # the flag survives the encoder, and the raw frames comb
    out = media.sample_frames(interlaced, 8).frames
    reference = media.sample_frames(progressive, 8).frames
    combed = np.mean([_combing(raw[f.index]) for f in out])
    kept = np.mean([_combing(f.image) for f in out])
    smooth = np.mean([_combing(f.image) for f in reference])
    assert combed > 1.5 * smooth and kept < smooth, (combed, kept, smooth)  # measured 8.7, 1.4, 4.3


def test_a_stream_that_changes_size_midway_is_read_at_its_first_size(tmp_path):
    """Renditions stitched into one stream (HLS downloads, WebRTC recordings) change picture size midway;
    read as decoded, a face became two tracks and its boxes left the frame the report describes."""
    raw = b""
    for i, (w, h) in enumerate(((320, 240), (640, 480))):  # an H.264 stream whose second half is 2x larger
        part = tmp_path / f"part{i}.h264"
        with av.open(str(part), "w", format="h264") as out:
            stream = out.add_stream("libx264", rate=25, options={"preset": "veryfast"})
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            for image in synthetic.render_frames(w, h, 25, 1, 0.45, 0):
                out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            out.mux(stream.encode(None))
        raw += part.read_bytes()
    (tmp_path / "both.h264").write_bytes(raw)
    path = tmp_path / "switch.mkv"
    with av.open(str(tmp_path / "both.h264"), format="h264") as inp, av.open(str(path), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        stream.time_base = Fraction(1, 25)
        for i, packet in enumerate(p for p in inp.demux(inp.streams.video[0]) if p.size):
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, i, i, stream.time_base
            out.mux(packet)
    with av.open(str(path)) as container:
        assert {(f.width, f.height) for f in container.decode(video=0)} == {(320, 240), (640, 480)}
    video = media.sample_frames(path, 8)
    assert (video.info.width, video.info.height) == (320, 240) and len(video.frames) == 8
    assert all(f.image.shape == (240, 320, 3) for f in video.frames)
    late = video.frames[-1]  # from the 640x480 half, shrunk: the same picture as at 320x240, not garbage
    expected = synthetic.render_frames(320, 240, 25, 1, 0.45, 0)[late.index - 25]
    assert np.abs(late.image.astype(int) - expected).mean() < 12


def test_wide_pixels_are_read_square(tmp_path):
    """HDV / XDCAM store 1920 columns in 1440 and tag the pixels 4:3 wide; read as stored, every face is
    squeezed to 75 % of its width. Read in square pixels, the picture is the original's, one side shrunk."""
    frames = synthetic.render_frames(320, 240, 10, 1, 0.45, 0)
    path = tmp_path / "anamorphic.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"preset": "veryfast", "crf": "12"})
        stream.width, stream.height, stream.pix_fmt = 240, 240, "yuv420p"
        stream.codec_context.sample_aspect_ratio = Fraction(4, 3)
        for image in frames:
            squeezed = cv2.resize(image, (240, 240), interpolation=cv2.INTER_AREA)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(squeezed, format="rgb24")))
        out.mux(stream.encode(None))
    assert (media.probe(path).width, media.probe(path).height) == (240, 180)
    video = media.sample_frames(path, 4)
    assert (video.info.width, video.info.height) == (240, 180)
    for frame in video.frames:
        expected = cv2.resize(frames[frame.index], (240, 180), interpolation=cv2.INTER_AREA)
        assert frame.image.shape == (180, 240, 3)
        assert np.abs(frame.image.astype(int) - expected).mean() < 6


@pytest.mark.parametrize(
    ("sar", "size"),
    [
        (None, (1440, 1080)),
        (Fraction(1), (1440, 1080)),
        (Fraction(4, 3), (1440, 810)),  # HDV: never more pixels than stored, so the rows shrink
        (Fraction(8, 9), (1280, 1080)),  # NTSC 4:3 style narrow pixels: the columns shrink
        (Fraction(1000, 1), (1440, 1080)),  # no camera's: a hostile header is ignored
        (Fraction(1, 1000), (1440, 1080)),
    ],
)
def test_display_size_never_adds_pixels(sar, size):
    assert media_decode.display_size(1440, 1080, sar) == size
