import numpy as np

from deepfake_detect.faces import build_tracks
from deepfake_detect.types import Detection


def det(x: float, y: float = 0.0, size: float = 50.0) -> Detection:
    return Detection(np.array([x, y, x + size, y + size], np.float32), np.zeros((5, 2), np.float32), 0.99)


def test_two_people_stay_separate_even_when_listed_in_any_order():
    frames = [[det(0), det(300)], [det(310), det(8)], [det(16), det(320)]]
    tracks = build_tracks(frames)
    assert len(tracks) == 2
    xs = [[float(d.box[0]) for d in t.detections] for t in tracks]
    assert xs == [[0, 8, 16], [300, 310, 320]]


def test_gap_is_bridged_but_long_absence_starts_new_track():
    frames = [[det(0)], [], [], [det(10)], [], [], [], [], [], [], [det(20)], [det(25)]]
    tracks = build_tracks(frames, max_gap=4)
    assert [t.frame_positions for t in tracks] == [[0, 3], [10, 11]]


def test_spurious_single_detections_are_dropped_but_short_videos_keep_them():
    frames = [[det(0)], [det(5), det(400)], [det(10)]]
    assert [len(t) for t in build_tracks(frames)] == [3]
    assert [len(t) for t in build_tracks([[det(0)]])] == [1]


def test_size_jump_is_not_the_same_face():
    tracks = build_tracks([[det(0, size=50)], [det(0, size=200)], [det(0, size=200)]], min_length=1)
    assert len(tracks) == 2


def test_a_walking_face_that_moves_more_than_its_width_per_sample_stays_one_track():
    # 90 px face moving 140 px per sampled frame (a person walking past, frames 3-4 apart at 25 fps)
    frames = [[det(100 + 140 * i, size=90), det(1500, 500, size=90)] for i in range(8)]
    tracks = build_tracks(frames)
    assert sorted(len(t) for t in tracks) == [8, 8]


def test_prediction_does_not_swap_two_people_crossing_paths_apart():
    # two faces crossing paths 1.6 face sizes apart keep their identities
    frames = [[det(100 + 60 * i, 0), det(700 - 60 * i, 80)] for i in range(8)]
    tracks = build_tracks(frames)
    assert len(tracks) == 2
    assert all(len({float(d.box[1]) for d in t.detections}) == 1 for t in tracks)
