"""Our MTCNN stages against facenet-pytorch's `detect_face`: the same numbers, bit for bit."""

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepfake_detect.faces import FaceDetector
from deepfake_detect.faces.mtcnn_stages import _box_crops, area_resample, detect_faces, integral_images
from deepfake_detect.media import sample_frames


@pytest.mark.parametrize("size", [(24, 24), (48, 48), (136, 241), (13, 22), (40, 7), (300, 90)])
def test_area_resample_is_interpolate_area_exactly(size):
    rng = np.random.default_rng(sum(size))
    batch = rng.integers(0, 256, (3, 120, 200, 3), dtype=np.uint8)
    frames = torch.from_numpy(batch).permute(0, 3, 1, 2).float()  # channels-last, as facenet holds them
    k = 40
    image = torch.as_tensor(rng.integers(0, 3, k))
    height, width = torch.as_tensor(rng.integers(1, 120, k)), torch.as_tensor(rng.integers(1, 200, k))
    top = torch.as_tensor([rng.integers(0, 121 - h) for h in height.tolist()])
    left = torch.as_tensor([rng.integers(0, 201 - w) for w in width.tolist()])
    ours = area_resample(integral_images(batch), image, top, left, height, width, size)
    for i in range(k):
        window = frames[image[i], :, top[i] : top[i] + height[i], left[i] : left[i] + width[i]]
        assert torch.equal(ours[i], F.interpolate(window[None], size=size, mode="area")[0])
    assert ours.is_contiguous(memory_format=torch.channels_last)


def test_frames_whose_sums_overflow_int32_are_summed_exactly():
    batch = np.random.default_rng(0).integers(250, 256, (1, 3000, 2900, 3), dtype=np.uint8)
    table = integral_images(batch)
    assert table.dtype == torch.float64 and table[0, -1, -1, 0] > 2**31
    frame = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
    one, size = torch.zeros(1, dtype=torch.int64), torch.tensor([2999, 2899])
    ours = area_resample(table, one, one + 1, one + 1, size[:1], size[1:], (13, 22))
    assert torch.equal(ours, F.interpolate(frame[:, :, 1:, 1:], size=(13, 22), mode="area"))


def _same_as_facenet(mtcnn, batch: np.ndarray) -> int:
    """Asserts detect_faces == facenet's MTCNN.detect on [B, h, w, 3] uint8; returns the faces found."""
    boxes, probs, points = mtcnn.detect(batch, landmarks=True)
    ours = detect_faces(mtcnn, batch)
    assert len(ours) == len(batch)
    found = 0
    for (our_boxes, our_points), b, p, pt in zip(ours, boxes, probs, points, strict=True):
        if b is None:
            assert our_boxes.shape == (0, 5) and our_points.shape == (0, 5, 2)
            continue
        np.testing.assert_array_equal(our_boxes[:, :4], np.asarray(b, np.float32))
        np.testing.assert_array_equal(our_boxes[:, 4], np.asarray(p, np.float32))
        np.testing.assert_array_equal(our_points, np.asarray(pt, np.float32))
        found += len(b)
    return found


@pytest.fixture(scope="module", params=["served", "plain"])
def nets(request):
    """The nets as FaceDetector runs them (channels-last) and as facenet ships them; faces in facenet's
    order (`select_largest=False`, as FaceDetector asks)."""
    served = FaceDetector(min_face_size=20).mtcnn
    if request.param == "plain":
        for net in (served.pnet, served.rnet, served.onet):
            net.to(memory_format=torch.contiguous_format)
    return served


def test_synthetic_videos_match_facenet(nets, video_mp4, video_two_faces, video_no_face):
    found = 0
    for path, n in ((video_mp4, 1), (video_two_faces, 2), (video_no_face, 0)):
        frames = np.stack([f.image for f in sample_frames(path, 6).frames])
        assert _same_as_facenet(nets, frames) == n * len(frames)
        found += n
        big = np.stack([cv2.resize(f, None, fx=1.7, fy=1.7, interpolation=cv2.INTER_AREA) for f in frames])
        assert _same_as_facenet(nets, big) == n * len(frames)


def test_noise_with_many_candidates_matches_facenet(nets):
    noise = np.random.default_rng(0).integers(0, 256, (4, 180, 260, 3), dtype=np.uint8)
    noise = cv2.GaussianBlur(noise.reshape(720, 260, 3), (5, 5), 1.5).reshape(4, 180, 260, 3)
    _same_as_facenet(nets, noise)


def test_real_frames_match_facenet(nets, shared_data):
    for path in sorted((shared_data / "videos" / "real").glob("*.mp4")):
        frames = [f.image for f in sample_frames(path, 8).frames]
        small = np.stack([FaceDetector()._downscale(f, 640)[0] for f in frames])
        assert _same_as_facenet(nets, small) > 0


def test_a_box_outside_the_frame_is_dropped_not_fatal():
    table = integral_images(np.zeros((1, 50, 60, 3), np.uint8))
    boxes = torch.tensor([[5.0, 5.0, 30.0, 30.0, 0.9], [70.0, 60.0, 90.0, 80.0, 0.9]])
    crops, inside = _box_crops(table, boxes, torch.zeros(2, dtype=torch.int64), 24)
    assert inside.tolist() == [True, False] and crops.shape == (1, 3, 24, 24)
