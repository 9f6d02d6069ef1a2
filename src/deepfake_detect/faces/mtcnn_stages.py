"""MTCNN's three stages (facenet-pytorch's `detect_face`), every area resample read off one integral image.

facenet resamples each pyramid level, and then each candidate box, with `interpolate(mode="area")`: one
call per box (1,896 calls for 18 frames of a 1080p clip) on a channels-last float copy, where PyTorch's
area kernel is slow. Those resamples were 37 % of MTCNN's time on one thread (0.31 of 0.84 s, AVX2 host).
Area resampling of integer pixels is a box sum divided by the box's height and then its width, so one
`cv2.integral` per frame (exact in int32) gives every level and every box in four gathers, with the same
windows and the same float32 divisions as ATen: the crops, and so the boxes, scores and landmarks, are
bit-identical to facenet's (tests/faces/test_mtcnn_stages.py) wherever a window's sum stays below 2**24,
which float32 holds exactly: every window of a frame whose short side is under ~3,000 px (above that,
ATen's float32 running sum itself rounds, and the two may part in the last bit). The nets, thresholds,
box regression and NMS are facenet's own functions, called in facenet's order. Detection of 32 frames of
the real 1080p clip went from 0.94 to 0.62-0.68 s (docs/performance.md, "MTCNN's resamples read off one
integral image").

One difference: facenet drops a candidate box that lies wholly outside the frame from its crops but not
from its boxes, and then fails on the length mismatch; here such a box is dropped from both.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from facenet_pytorch.models.utils.detect_face import (
    batched_nms_numpy,
    bbreg,
    fixed_batch_process,
    generateBoundingBox,
    pad,
    rerec,
)
from torchvision.ops.boxes import batched_nms

PIXEL_SHIFT, PIXEL_SCALE = 127.5, 0.0078125  # MTCNN's input normalisation, as facenet writes it


def integral_images(batch: np.ndarray) -> torch.Tensor:
    """[B, H, W, 3] uint8 -> [B, H+1, W+1, 3] running sums: int32 where every sum fits (H W 255 < 2**31, up
    to ~2,900 px square; DETECT_MAX_SIDE allows 4,096), else float64, exact as well."""
    depth = cv2.CV_32S if batch.shape[1] * batch.shape[2] * 255 < 2**31 else cv2.CV_64F
    return torch.from_numpy(np.stack([cv2.integral(image, sdepth=depth) for image in batch]))


def area_resample(
    table: torch.Tensor,
    image: torch.Tensor,
    top: torch.Tensor,
    left: torch.Tensor,
    height: torch.Tensor,
    width: torch.Tensor,
    size: tuple[int, int],
) -> torch.Tensor:
    """`interpolate(mode="area")` of K windows of the frames summed in `table`, to `size` (out_h, out_w).

    table: [B, H+1, W+1, C] from `integral_images`; image, top, left, height, width: [K] int64 (window k
    is rows top..top+height-1, columns left..left+width-1 of frame image[k]).
    Returns [K, C, out_h, out_w] float32 in channels-last memory, as facenet's resample of its input.
    """
    out_h, out_w = size
    _, rows1, cols1, channels = table.shape
    i, j = torch.arange(out_h), torch.arange(out_w)
    # ATen's adaptive windows: output i reads input [floor(i n / out), ceil((i + 1) n / out)).
    y0 = top[:, None] + i * height[:, None] // out_h  # [K, out_h]
    y1 = top[:, None] + ((i + 1) * height[:, None] + out_h - 1) // out_h
    x0 = left[:, None] + j * width[:, None] // out_w  # [K, out_w]
    x1 = left[:, None] + ((j + 1) * width[:, None] + out_w - 1) // out_w
    flat = table.reshape(-1, channels)  # [B (H+1) (W+1), C]
    row0, row1 = (image[:, None] * rows1 + y0) * cols1, (image[:, None] * rows1 + y1) * cols1

    def corner(row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:  # -> [K, out_h, out_w, C]
        index = (row[:, :, None] + col[:, None, :]).reshape(-1)  # index_select: 2x indexing's speed here
        return flat.index_select(0, index).view(len(image), out_h, out_w, channels)

    total = corner(row1, x1) - corner(row0, x1) - corner(row1, x0) + corner(row0, x0)
    rows = (y1 - y0).to(torch.float32)[:, :, None, None]
    cols = (x1 - x0).to(torch.float32)[:, None, :, None]
    return (total.to(torch.float32) / rows / cols).permute(0, 3, 1, 2)  # ATen divides twice, in this order


def _pyramid(min_face_size: int, factor: float, h: int, w: int) -> list[float]:
    """facenet's scales: the smallest face maps to 12 px, then x factor while the image keeps 12 px."""
    m = 12.0 / min_face_size
    scales, shortest = [], min(h, w) * m
    scale = m
    while shortest >= 12:
        scales.append(scale)
        scale, shortest = scale * factor, shortest * factor
    return scales


def _box_crops(table: torch.Tensor, boxes: torch.Tensor, image: torch.Tensor, side: int):
    """The square crops of `boxes` [N, >=4] resampled to side x side, and which boxes had pixels [N] bool."""
    h, w = table.shape[1] - 1, table.shape[2] - 1
    y, ey, x, ex = (torch.from_numpy(v.astype(np.int64)) for v in pad(boxes, w, h))  # 1-based, inclusive
    top, left = y - 1, x - 1
    inside = (ey > top) & (ex > left)
    height, width = (ey - top)[inside], (ex - left)[inside]
    crops = area_resample(table, image[inside], top[inside], left[inside], height, width, (side, side))
    # facenet's per-box crops are contiguous NCHW (its levels channels-last): the nets' convolutions round
    # differently per layout, so each stage gets the layout facenet gives it.
    return ((crops - PIXEL_SHIFT) * PIXEL_SCALE).contiguous(), inside


@torch.inference_mode()
def detect_faces(mtcnn, batch: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """facenet's `detect_face` on [B, h, w, 3] uint8 frames: per frame (boxes [N, 5] with the score last,
    landmarks [N, 5, 2]), float32, in facenet's order (its `select_largest=False`)."""
    table = integral_images(batch)
    n, h, w = batch.shape[:3]
    thresholds = mtcnn.thresholds
    every = torch.arange(n)
    zero, full_h, full_w = torch.zeros(n, dtype=torch.int64), torch.full((n,), h), torch.full((n,), w)

    # Stage 1: P-Net over the pyramid, NMS within each level and frame, then within each frame.
    boxes_, images_, picks, offset = [], [], [], 0
    for scale in _pyramid(mtcnn.min_face_size, mtcnn.factor, h, w):
        size = (int(h * scale + 1), int(w * scale + 1))  # facenet's level size
        level = area_resample(table, every, zero, zero, full_h, full_w, size)
        reg, probs = mtcnn.pnet((level - PIXEL_SHIFT) * PIXEL_SCALE)
        found, image = generateBoundingBox(reg, probs[:, 1], scale, thresholds[0])
        picks.append(batched_nms(found[:, :4], found[:, 4], image, 0.5) + offset)
        boxes_.append(found)
        images_.append(image)
        offset += found.shape[0]
    pick = torch.cat(picks)
    boxes, image = torch.cat(boxes_)[pick], torch.cat(images_)[pick]
    pick = batched_nms(boxes[:, :4], boxes[:, 4], image, 0.7)
    boxes, image = boxes[pick], image[pick]
    regw, regh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    boxes = torch.stack(
        [
            boxes[:, 0] + boxes[:, 5] * regw,
            boxes[:, 1] + boxes[:, 6] * regh,
            boxes[:, 2] + boxes[:, 7] * regw,
            boxes[:, 3] + boxes[:, 8] * regh,
            boxes[:, 4],
        ]
    ).permute(1, 0)
    boxes = rerec(boxes)

    # Stage 2: R-Net rescores and refines each candidate at 24 px.
    if len(boxes) > 0:
        crops, inside = _box_crops(table, boxes, image, 24)
        boxes, image = boxes[inside], image[inside]
        out = fixed_batch_process(crops, mtcnn.rnet)
        score = out[1][:, 1]
        keep = score > thresholds[1]
        boxes = torch.cat((boxes[keep, :4], score[keep].unsqueeze(1)), dim=1)
        image, shift = image[keep], out[0][keep]
        pick = batched_nms(boxes[:, :4], boxes[:, 4], image, 0.7)
        boxes = rerec(bbreg(boxes[pick], shift[pick]))
        image = image[pick]

    # Stage 3: O-Net at 48 px gives the final score, box and the five landmarks.
    points = torch.zeros(0, 5, 2)
    if len(boxes) > 0:
        crops, inside = _box_crops(table, boxes, image, 48)
        boxes, image = boxes[inside], image[inside]
        shift, marks, scores = fixed_batch_process(crops, mtcnn.onet)
        score = scores[:, 1]
        keep = score > thresholds[2]
        marks = marks[keep].permute(1, 0)  # [10, N]: x1..x5, y1..y5 relative to the box
        boxes = torch.cat((boxes[keep, :4], score[keep].unsqueeze(1)), dim=1)
        image, shift = image[keep], shift[keep]
        w_i, h_i = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
        points_x = w_i.repeat(5, 1) * marks[:5, :] + boxes[:, 0].repeat(5, 1) - 1
        points_y = h_i.repeat(5, 1) * marks[5:10, :] + boxes[:, 1].repeat(5, 1) - 1
        points = torch.stack((points_x, points_y)).permute(2, 1, 0)  # [N, 5, 2]
        boxes = bbreg(boxes, shift)
        pick = batched_nms_numpy(boxes[:, :4], boxes[:, 4], image, 0.7, "Min")
        boxes, image, points = boxes[pick], image[pick], points[pick]

    boxes_np, points_np, image_np = boxes.numpy(), points.numpy(), image.numpy()
    return [(boxes_np[image_np == b].copy(), points_np[image_np == b].copy()) for b in range(n)]
