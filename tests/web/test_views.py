"""What the result page says about a video's faces, read off a report alone (no server, no model)."""

from __future__ import annotations

import pytest

from deepfake_detect.report import FaceObservation, FaceTrackReport, StageTimings, VideoMeta, VideoReport
from deepfake_detect.web import views


def _face(track_id: int, p: float, logit: float, frames: int, size: int = 100) -> FaceTrackReport:
    obs = [
        FaceObservation(
            frame_index=i, timestamp_s=i / 10, box=[0, 0, size, size], detection_score=1.0, fake_probability=p
        )
        for i in range(frames)
    ]
    return FaceTrackReport(
        track_id=track_id, fake_probability=p, logit=logit, frames=frames,
        first_seen_s=0.0, last_seen_s=(frames - 1) / 10, observations=obs,
    )  # fmt: skip


def _report(faces: list[FaceTrackReport], deciding: int | None, p: float) -> VideoReport:
    meta = VideoMeta(container="mp4", codec="h264", width=64, height=64, rotation=0, duration_s=3.2, fps=10,
                     frame_count=32)  # fmt: skip
    return VideoReport(
        video_name="clip.mp4", prediction="REAL", confidence=1 - p, is_fake=False, frames_analyzed=32,
        raw_score=-1.0, fake_probability=p, threshold=0.57, faces=faces, deciding_track_id=deciding,
        video=meta, model_id="m", aggregation="lstm", timings=StageTimings(),
    )  # fmt: skip


# The hamilton clip's shape: the face seen longest (22 frames) is judged with two 7-frame ones; a face seen
# in 4 frames (under a quarter of 22) scores highest and must not be named as the one that decides.
FACES = [_face(0, 0.12, -9.0, 22), _face(1, 0.32, -4.8, 7), _face(2, 0.46, -1.1, 4), _face(3, 0.20, -6.0, 7)]


@pytest.mark.parametrize("stored", [1, None], ids=["recorded", "stored-before-the-field"])
def test_a_briefly_seen_face_is_not_named_as_deciding(stored: int | None) -> None:
    report = _report(FACES, stored, 0.32)
    v = views.verdict(report)
    assert v.deciding_track == 1 and views.deciding_face(report) is FACES[1]
    assert v.judged == {0, 1, 3}
    assert "P(fake) = 0.32 for face 1, the most suspicious of the 3 of 4 faces seen long enough" in v.sentence
    assert "Face 2 scored higher (up to 0.46) but was seen too briefly to decide" in v.sentence
    assert [f.track_id for f in views.faces_by_suspicion(report)] == [1, 2, 3, 0]


def test_when_every_face_is_judged_the_sentence_stays_short() -> None:
    faces = [_face(0, 0.12, -9.0, 20), _face(1, 0.32, -4.8, 18)]
    v = views.verdict(_report(faces, 1, 0.32))
    assert (
        v.sentence
        == "The model estimates P(fake) = 0.32 for face 1, the most suspicious of 2 faces: below its"
        " threshold of 0.57."
    )


def test_a_verdict_decided_by_a_small_face_says_to_read_it_with_care() -> None:
    """Below ~64 px real faces drift towards FAKE (report.SMALL_FACE_PX); a small face that does not
    decide adds nothing."""
    v = views.verdict(
        _report([_face(0, 0.12, -9.0, 20, size=200), _face(1, 0.32, -4.8, 18, size=45)], 1, 0.32)
    )
    assert v.sentence.endswith(
        " Face 1 is small (45 px across): below about 64 px this model's P(fake) drifts towards FAKE for real"
        " faces and tells fakes apart less, so read it with care."
    )
    v = views.verdict(_report([_face(0, 0.12, -9.0, 20, size=45), _face(1, 0.32, -4.8, 18)], 1, 0.32))
    assert "small" not in v.sentence


def test_faces_left_unanalysed_are_counted_in_the_sentence() -> None:
    report = _report([_face(0, 0.12, -9.0, 20), _face(1, 0.32, -4.8, 18)], 1, 0.32)
    report.faces_not_analysed = 40
    assert views.verdict(report).sentence.endswith(
        "40 more faces, seen less, were found and not analysed: at most the 2 most prominent are."
    )
