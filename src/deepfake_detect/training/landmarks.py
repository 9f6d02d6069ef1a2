"""68-point face landmarks and 128-d identity descriptors (dlib), for training only.

Why: Self-Blended Images need a face-shaped blending mask. MTCNN's 5 points (eyes, nose, mouth corners)
give a hexagon guessed from ratios; dlib's 68 points follow the jaw line and brows, which is where a real
face swap's blending boundary runs (SBI's paper uses them). The identity descriptor groups the DFDC crops
by person, so no actor is on both sides of the validation split.

Both models ship in the `face_recognition_models` package (dlib's iBUG-300W shape predictor and its
face-recognition ResNet; research use); `dlib-bin` is a prebuilt dlib. Neither is needed to serve.

MTCNN boxes are taller than the boxes dlib's predictor was trained on: on 214 faces of ../shared/data
(UTKFace, photos) dlib's HOG box sat at (-0.085, +0.117, 1.040, 0.991) of the MTCNN box's width/height
(left, top, right, bottom; sd ~0.1), so the MTCNN box is mapped by that mean before predicting.
"""

from __future__ import annotations

import importlib.util
from functools import cached_property
from pathlib import Path

import numpy as np

from ..types import Detection

DLIB_BOX_IN_MTCNN = (-0.085, 0.117, 1.040, 0.991)  # measured, see the module docstring

# Index ranges of the 68-point (iBUG 300-W) layout.
JAW = slice(0, 17)
BROWS = slice(17, 27)
NOSE = slice(27, 36)
EYES = slice(36, 48)
MOUTH = slice(48, 68)


class LandmarksUnavailable(RuntimeError):
    """dlib or its model files are not installed."""


def _model_file(name: str) -> str:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise LandmarksUnavailable(
            "pip install face_recognition_models dlib-bin (training-only dependencies)"
        )
    path = Path(spec.submodule_search_locations[0]) / "models" / name
    if not path.is_file():
        raise LandmarksUnavailable(f"{path} is missing")
    return str(path)


def available() -> bool:
    try:
        import dlib  # noqa: F401

        _model_file("shape_predictor_68_face_landmarks.dat")
    except (ImportError, LandmarksUnavailable):
        return False
    return True


class FaceLandmarker:
    """68 landmarks for an MTCNN detection, and a 128-d identity descriptor of that face.

    ~2.5 ms per face for the landmarks, ~15 ms for a descriptor, on one core here.
    """

    @cached_property
    def _dlib(self):
        try:
            import dlib
        except ImportError as e:
            raise LandmarksUnavailable("pip install dlib-bin (a prebuilt dlib)") from e
        return dlib

    @cached_property
    def _predictor(self):
        return self._dlib.shape_predictor(_model_file("shape_predictor_68_face_landmarks.dat"))

    @cached_property
    def _encoder(self):
        return self._dlib.face_recognition_model_v1(_model_file("dlib_face_recognition_resnet_model_v1.dat"))

    def _rect(self, det: Detection):
        x1, y1, x2, y2 = (float(v) for v in det.box)
        w, h = x2 - x1, y2 - y1
        left, top, right, bottom = DLIB_BOX_IN_MTCNN
        return self._dlib.rectangle(
            round(x1 + left * w), round(y1 + top * h), round(x1 + right * w), round(y1 + bottom * h)
        )

    def shape(self, image: np.ndarray, det: Detection):
        """dlib's full_object_detection for `det` on the RGB uint8 frame [H, W, 3]."""
        return self._predictor(np.ascontiguousarray(image), self._rect(det))

    def landmarks(self, image: np.ndarray, det: Detection) -> np.ndarray:
        """[68, 2] float32 in frame pixels."""
        shape = self.shape(image, det)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    def descriptor(self, image: np.ndarray, det: Detection) -> np.ndarray:
        """[128] float32 identity descriptor; two faces of one person are usually < 0.6 apart."""
        shape = self.shape(image, det)
        return np.asarray(
            self._encoder.compute_face_descriptor(np.ascontiguousarray(image), shape), np.float32
        )


def identity_clusters(descriptors: dict[str, np.ndarray], threshold: float = 0.5) -> dict[str, str]:
    """key -> cluster name (its smallest member key): average-linkage groups of descriptors closer than
    `threshold` on average (dlib's same-person cut is 0.6).

    Average, not single, linkage: on the 3,970 DFDC real crops single linkage at 0.5 chained 3,780 of
    them (and 2,356 UTKFace children and adults besides) into one "person"; average linkage gives 609
    groups of at most 32 crops, about what DFDC's actors filmed many times look like."""
    keys = sorted(descriptors)
    if len(keys) < 2:
        return {k: k for k in keys}
    from sklearn.cluster import AgglomerativeClustering

    x = np.stack([descriptors[k] for k in keys]).astype(np.float32)  # [N, 128]
    labels = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, linkage="average"
    ).fit_predict(x)
    first: dict[int, str] = {}
    for key, label in zip(keys, labels, strict=True):
        first.setdefault(int(label), key)  # keys are sorted: the first is the smallest
    return {key: first[int(label)] for key, label in zip(keys, labels, strict=True)}
