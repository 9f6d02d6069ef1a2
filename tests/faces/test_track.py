import numpy as np

from deepfake_detect.faces import build_tracks
from deepfake_detect.faces.track import _track_costs
from deepfake_detect.types import Detection, FaceTrack


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


def _pair_cost(box: np.ndarray, other: np.ndarray, reach: float) -> float:
    """The match rule for one pair, written out plainly: the reference for the array version."""
    size = max(box[2] - box[0], box[3] - box[1], other[2] - other[0], other[3] - other[1], 1.0)
    distance = float(np.linalg.norm((box[:2] + box[2:]) / 2 - (other[:2] + other[2:]) / 2)) / size / reach
    ratio = max(other[2] - other[0], other[3] - other[1], 1.0) / max(box[2] - box[0], box[3] - box[1], 1.0)
    if distance > 1.0 or not 0.5 < ratio < 2.0:
        return 1.0
    inter = max(0.0, min(box[2], other[2]) - max(box[0], other[0])) * max(
        0.0, min(box[3], other[3]) - max(box[1], other[1])
    )
    union = (box[2] - box[0]) * (box[3] - box[1]) + (other[2] - other[0]) * (other[3] - other[1]) - inter
    return min(1.0, 0.5 * (1.0 - inter / union) + 0.5 * distance)


def test_all_pairs_at_once_cost_what_the_pair_rule_says():
    rng = np.random.default_rng(0)
    for _ in range(200):
        tracks = []
        for _ in range(int(rng.integers(1, 5))):
            track, x, position = FaceTrack(0), float(rng.uniform(0, 300)), 0
            for _ in range(int(rng.integers(1, 4))):
                position += int(rng.integers(1, 3))
                x += float(rng.normal(0, 30))
                track.append(position, det(x, float(rng.uniform(0, 20)), float(rng.uniform(40, 80))))
            tracks.append(track)
        position = max(t.frame_positions[-1] for t in tracks) + 1
        dets = [
            det(float(rng.uniform(0, 350)), float(rng.uniform(0, 40)), float(rng.uniform(20, 150)))
            for _ in range(4)
        ]
        expected = np.zeros((len(tracks), len(dets)))
        for i, t in enumerate(tracks):
            last = t.detections[-1].box.astype(np.float64)
            for j, d in enumerate(dets):
                if len(t) < 2:
                    expected[i, j] = _pair_cost(last, d.box.astype(np.float64), reach=2.0)
                    continue
                steps = t.frame_positions[-1] - t.frame_positions[-2]
                velocity = (last - t.detections[-2].box) / steps
                ahead = last + np.tile((velocity[:2] + velocity[2:]) / 2, 2) * (
                    position - t.frame_positions[-1]
                )
                expected[i, j] = min(_pair_cost(last, d.box, 1.0), _pair_cost(ahead, d.box, 1.0))
        np.testing.assert_allclose(_track_costs(tracks, position, dets), expected, atol=1e-6)


def test_a_crowd_of_300_faces_is_followed_face_by_face():
    # a stadium-like grid (300 faces of 60 px) drifting 3 px per sampled frame: one track per face
    grid = [(70.0 * (i % 25), 70.0 * (i // 25)) for i in range(300)]
    frames = [[det(x + 3 * k, y, size=60) for x, y in grid] for k in range(32)]
    tracks = build_tracks(frames)
    assert len(tracks) == 300 and all(len(t) == 32 for t in tracks)
