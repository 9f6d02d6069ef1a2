"""Link per-frame detections into face tracks, one per person.

Sampled frames can be a third of a second apart, so people move between them: detections are
matched to the tracks' last boxes by a cost mixing IoU and centre distance, solved optimally per
frame (Hungarian), and a track survives a few frames without a detection (occlusion, a missed face).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..types import Detection, FaceTrack


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _match_cost(track_box: np.ndarray, det: Detection) -> float:
    """0 for a perfect match; >= 1 means "not the same face"."""
    size = max(track_box[2] - track_box[0], track_box[3] - track_box[1], det.size, 1.0)
    centre_a = (track_box[:2] + track_box[2:]) / 2
    centre_b = (det.box[:2] + det.box[2:]) / 2
    distance = float(np.linalg.norm(centre_a - centre_b)) / size  # in face sizes
    scale_ratio = max(det.size, 1.0) / max(track_box[2] - track_box[0], track_box[3] - track_box[1], 1.0)
    if distance > 1.0 or not 0.5 < scale_ratio < 2.0:
        return 1.0
    return min(1.0, 0.5 * (1.0 - _iou(track_box, det.box)) + 0.5 * distance)


def build_tracks(
    detections: list[list[Detection]],
    max_gap: int = 4,
    min_length: int = 2,
) -> list[FaceTrack]:
    """Group detections (one list per sampled frame) into tracks.

    `max_gap`: frames a track may miss and still be continued. `min_length`: shorter tracks are
    dropped as spurious, unless the video has fewer frames than that (then one is enough).

    >>> d = lambda x: Detection(np.array([x, 0, x + 50, 50], np.float32), np.zeros((5, 2), np.float32), 0.99)
    >>> [len(t) for t in build_tracks([[d(0), d(200)], [d(5), d(205)], [d(10)]])]
    [3, 2]
    """
    tracks: list[FaceTrack] = []
    last_seen: list[int] = []
    for position, frame_dets in enumerate(detections):
        live = [i for i, seen in enumerate(last_seen) if position - seen <= max_gap + 1]
        assigned: set[int] = set()
        if live and frame_dets:
            cost = np.array(
                [[_match_cost(tracks[t].detections[-1].box, d) for d in frame_dets] for t in live]
            )
            for r, c in zip(*linear_sum_assignment(cost), strict=True):
                if cost[r, c] < 1.0:
                    tracks[live[r]].append(position, frame_dets[c])
                    last_seen[live[r]] = position
                    assigned.add(c)
        for c, det in enumerate(frame_dets):
            if c not in assigned:
                track = FaceTrack(track_id=len(tracks))
                track.append(position, det)
                tracks.append(track)
                last_seen.append(position)
    needed = min(min_length, len(detections))
    kept = [t for t in tracks if len(t) >= needed]
    # Stable ids in order of appearance, largest-first would depend on noise.
    for new_id, t in enumerate(kept):
        t.track_id = new_id
    return kept
