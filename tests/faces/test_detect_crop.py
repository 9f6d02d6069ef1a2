import cv2
import numpy as np
import pytest

from deepfake_detect.faces import CropSpec, FaceDetector, build_tracks, crop_face, crop_track
from deepfake_detect.faces.crop import crop_from_patch, crop_patch, patch_landmarks
from deepfake_detect.media import sample_frames
from deepfake_detect.synthetic import render_frames
from deepfake_detect.types import Detection, Frame


@pytest.fixture(scope="module")
def detector():
    return FaceDetector(max_side=640, min_face_size=20)


def test_two_faces_make_two_tracks(detector, video_two_faces):
    video = sample_frames(video_two_faces, 8)
    tracks = build_tracks(detector.detect(video.frames))
    assert len(tracks) == 2
    assert all(len(t) == 8 for t in tracks)
    crops = crop_track(video.frames, tracks[0], CropSpec(size=96))
    assert crops.shape == (8, 96, 96, 3) and crops.dtype == np.uint8


def test_no_face_video_gives_no_track(detector, video_no_face):
    video = sample_frames(video_no_face, 8)
    assert build_tracks(detector.detect(video.frames)) == []


def test_a_small_face_in_a_large_frame_gets_a_closer_look():
    """A ~36 px face in 1080p is under 32 px once shrunk to 640 px: NO_FACE, unless looked at closer."""
    frames = [Frame(i, i / 25, im) for i, im in enumerate(render_frames(1920, 1080, 4, 1, 0.05, 0))]
    detector = FaceDetector(max_side=640, min_face_size=32)
    assert detector.detect_images([f.image for f in frames]) == [[], [], [], []]
    found = detector.detect(frames)
    assert [len(d) for d in found] == [1, 1, 1, 1] and all(30 < d[0].size < 45 for d in found)
    assert 860 < found[0][0].box[0] < 1060  # in full-resolution pixels: the face is mid-frame
    blank = [Frame(0, 0.0, np.full((1080, 1920, 3), 90, np.uint8))]
    assert detector.detect(blank) == [[]]


def test_boxes_are_mapped_back_to_full_resolution(video_mp4):
    video = sample_frames(video_mp4, 2)
    big = [np.ascontiguousarray(np.repeat(np.repeat(f.image, 4, 0), 4, 1)) for f in video.frames]  # 1280x960
    small = FaceDetector(max_side=320, min_face_size=20).detect_images(big)
    full = FaceDetector(max_side=1280, min_face_size=20).detect_images(big)
    for a, b in zip(small, full, strict=True):
        assert len(a) == len(b) == 1
        # A box left at 320 px scale would be off by ~600 px. At a quarter of the pixels MTCNN's
        # forehead edge moves by up to ~0.11 face widths (seen with libx264's output on 1 thread),
        # its landmarks by ~0.01: check those tightly and the box loosely.
        assert np.abs(a[0].landmarks - b[0].landmarks).max() < 0.06 * b[0].size
        assert np.abs(a[0].box - b[0].box).max() < 0.2 * b[0].size


def test_crop_pads_outside_the_frame_and_maps_landmarks():
    image = np.full((100, 100, 3), 200, np.uint8)
    landmarks = np.array([[10, 10], [30, 10], [20, 20], [12, 30], [28, 30]], np.float32)
    d = Detection(np.array([0, 0, 40, 40], np.float32), landmarks, 0.99)
    spec = CropSpec(size=64, scale=2.0, patch_size=64)  # 80 px window centred on (20, 20): half outside
    crop = crop_face(image, d, spec)
    assert crop.shape == (64, 64, 3)
    assert crop[0, 0].tolist() == [0, 0, 0] and crop[-1, -1].tolist() == [200, 200, 200]
    lm = patch_landmarks(d, spec)
    assert np.allclose(lm[2], [32, 32])  # the nose sits at the patch centre


def _frame_and_detection() -> tuple[np.ndarray, Detection]:
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (0, 0), 3)
    return image, Detection(np.array([250, 150, 370, 290], np.float32), np.zeros((5, 2), np.float32), 0.99)


def test_a_crop_is_the_model_crop_of_its_patch() -> None:
    """Serving's crop_face is exactly training's step on the cached patch, whatever the geometry."""
    image, d = _frame_and_detection()
    for spec in (CropSpec(160, 1.3), CropSpec(224, 1.3), CropSpec(160, 1.3, 320, 1.8), CropSpec(64, 1.2)):
        patch = crop_patch(image, d, spec)
        assert patch.shape == (spec.patch_size, spec.patch_size, 3)
        np.testing.assert_array_equal(crop_face(image, d, spec), crop_from_patch(patch, spec))


def test_a_wider_patch_holds_the_same_face_at_the_crops_scale() -> None:
    """A patch with a larger margin, centre-cropped, shows what a patch at the crop's own margin shows
    (up to resampling): room for scale jitter in training without moving the serving crop."""
    image, d = _frame_and_detection()
    narrow = crop_face(image, d, CropSpec(160, 1.3, 448))
    wide = crop_face(image, d, CropSpec(160, 1.3, 448, 2.0))
    assert np.abs(narrow.astype(int) - wide.astype(int)).mean() < 3  # of 255
    with pytest.raises(ValueError, match="narrower"):
        CropSpec(160, 1.3, 224, 1.2)


def test_the_seed_geometry_is_a_single_resampling() -> None:
    """Input size = patch size and no extra margin: the crop is the patch (one resize from the frame)."""
    image, d = _frame_and_detection()
    spec = CropSpec(224, 1.3)
    np.testing.assert_array_equal(crop_face(image, d, spec), crop_patch(image, d, spec))
