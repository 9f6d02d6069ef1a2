"""The crops a job's analysis fed the model, cut again from its kept upload.

The report keeps, for every face observation, the frame index and the face box; the frames are read
back (`media.read_frames`, one decode pass up to the last analysed frame) and cropped by the same
`faces.crop.crop_face` and `CropSpec` as the pipeline, so a crop here is the pipeline's crop of that
frame. The one difference: the report's boxes are rounded to whole pixels, so a crop may be cut up to
half a pixel away from the one the model scored (at the bundled model's 160 px crop of a ~200 px face,
a shift of under 0.4 px).

>>> tracks = job_crops("upload.mp4", report, detector.crop_spec)  # doctest: +SKIP
>>> tracks[0].crops.shape, tracks[0].frame_indices[:3]  # doctest: +SKIP
((32, 160, 160, 3), [1, 4, 8])
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import CorruptMedia
from ..faces import CropSpec, crop_face
from ..media import MediaLimits, read_frames
from ..report import FaceObservation, VideoReport
from ..types import Detection


@dataclass(frozen=True)
class TrackCrops:
    track_id: int
    frame_indices: list[int]  # [T] one per observation, in time order
    crops: np.ndarray  # [T, S, S, 3] uint8 RGB, the model's input crops

    @property
    def nbytes(self) -> int:
        return int(self.crops.nbytes)


def observation_detection(obs: FaceObservation) -> Detection:
    """The Detection a report observation stands for (landmarks are not kept; cropping does not use them)."""
    return Detection(np.asarray(obs.box, np.float32), np.zeros((5, 2), np.float32), obs.detection_score)


def job_crops(
    video: str | os.PathLike, report: VideoReport, spec: CropSpec, limits: MediaLimits | None = None
) -> dict[int, TrackCrops]:
    """Every face track's crops {track_id: TrackCrops}, from one decode pass over `video`."""
    wanted = sorted({o.frame_index for face in report.faces for o in face.observations})
    if not wanted:
        return {}
    images = {f.index: f.image for f in read_frames(video, wanted, limits).frames}  # [H, W, 3] each
    tracks: dict[int, TrackCrops] = {}
    for face in report.faces:
        missing = [o.frame_index for o in face.observations if o.frame_index not in images]
        if missing:
            raise CorruptMedia(f"frame {missing[0]} of face {face.track_id} can no longer be decoded")
        crops = [crop_face(images[o.frame_index], observation_detection(o), spec) for o in face.observations]
        tracks[face.track_id] = TrackCrops(
            face.track_id, [o.frame_index for o in face.observations], np.stack(crops)
        )
    return tracks
