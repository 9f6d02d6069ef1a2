"""MTCNN face detection on downscaled frames, with boxes mapped back to full resolution.

MTCNN costs ~270 ms on a full 1080p frame but ~20 ms at 640 px, and faces small enough to be
lost by the downscale are too small to judge anyway.

Threading (see docs/performance.md): facenet's MTCNN issued thousands of tiny ops (one resample per
candidate box). With 2 OpenMP threads on a 2-core machine that is also busy elsewhere, every one of them
waited for a descheduled thread (~4 ms each: 32 frames took 9-12 s instead of 0.7 s). So each chunk of
frames runs with ONE intra-op thread, and chunks run in parallel threads instead (`threads`); the nets
are channels-last, where PyTorch's max-pool is ~3x faster (0.9 -> 0.6 s per 32 frames, same boxes). The
stages themselves are `mtcnn_stages.py`: facenet's, with every resample read off one integral image.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import torch

from ..types import Detection, Frame


class FaceDetector:
    """Finds every face in a list of frames.

    >>> detector = FaceDetector(max_side=640, min_face_size=32)  # doctest: +SKIP
    >>> detections = detector.detect(video.frames)  # one list of Detection per frame  # doctest: +SKIP
    """

    def __init__(
        self,
        max_side: int = 640,
        min_face_size: int = 32,
        confidence: float = 0.9,
        batch_size: int = 8,  # as fast as 16 here, and ~150 MB less transient memory per request
        threads: int | None = None,
    ):
        from facenet_pytorch import MTCNN  # heavy import; weights ship inside the wheel

        self.max_side = max_side
        self.confidence = confidence
        self.batch_size = batch_size
        self.mtcnn = MTCNN(keep_all=True, device="cpu", min_face_size=min_face_size, select_largest=False)
        for net in (self.mtcnn.pnet, self.mtcnn.rnet, self.mtcnn.onet):
            net.to(memory_format=torch.channels_last)
        self.threads = threads  # parallel chunks; None: torch.get_num_threads() at call time
        self._pool: ThreadPoolExecutor | None = None

    @torch.inference_mode()
    def _detect_batch(self, batch: np.ndarray, restore: int):
        """MTCNN on [B, h, w, 3] with one intra-op thread; then back to the caller's count (torch keeps
        a process-wide default that new threads inherit, so it must not be left at 1)."""
        from .mtcnn_stages import detect_faces  # imports facenet, as __init__ does

        torch.set_num_threads(1)
        try:
            return detect_faces(self.mtcnn, batch)
        finally:
            torch.set_num_threads(restore)

    def _downscale(self, image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
        h, w = image.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        if scale == 1.0:
            return image, 1.0
        size = (max(1, round(w * scale)), max(1, round(h * scale)))  # a 2x16000 strip keeps 1 px
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return small, scale

    @torch.inference_mode()
    def detect_images(self, images: list[np.ndarray], max_side: int | None = None) -> list[list[Detection]]:
        """Detect faces in RGB uint8 images [H, W, 3], shrunk to `max_side` (default: the detector's);
        returns one (possibly empty) list per image."""
        results: list[list[Detection]] = []
        shrunk = [self._downscale(im, max_side or self.max_side) for im in images]
        small, scales = zip(*shrunk, strict=True) if images else ((), ())
        # MTCNN batches only images of one size; group by shape (a video's frames share one).
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, im in enumerate(small):
            # Smaller than the smallest face MTCNN looks for: no face can be there, and MTCNN itself
            # fails on it (no pyramid scale; torch.cat of nothing). Found by fuzzing the upload path.
            if min(im.shape[:2]) >= self.mtcnn.min_face_size:
                by_shape.setdefault(im.shape, []).append(i)
        caller_threads = torch.get_num_threads()
        threads = max(1, self.threads or caller_threads)
        chunks = []
        for indices in by_shape.values():
            size = min(self.batch_size, -(-len(indices) // threads))  # at least one chunk per thread
            chunks += [indices[start : start + size] for start in range(0, len(indices), size)]
        batches = [np.stack([small[i] for i in chunk]) for chunk in chunks]  # [B, h, w, 3] each
        if threads > 1 and len(batches) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(threads, thread_name_prefix="mtcnn")
            outputs = list(self._pool.map(self._detect_batch, batches, [caller_threads] * len(batches)))
        else:
            outputs = [self._detect_batch(b, caller_threads) for b in batches]
        found: dict[int, list[Detection]] = {}
        for chunk, output in zip(chunks, outputs, strict=True):
            for i, (boxes, points) in zip(chunk, output, strict=True):
                found[i] = self._to_detections(boxes, points, scales[i])
        for i in range(len(images)):
            results.append(found.get(i, []))
        return results

    def detect(self, frames: list[Frame]) -> list[list[Detection]]:
        """Faces in a video's frames; where no frame has one at `max_side`, a second, closer look.

        Shrunk to 640 px, a frame hides faces under min_face_size x (its long side / 640) pixels: 96 px
        in 1080p, 192 px in 4K, where a head-and-shoulders shot from a few metres (~110 px) is NO_FACE.
        The second look shrinks to half the frame's long side, at most 2 x `max_side`: faces from 64 px
        in 1080p and 96 px in 4K. It costs 2-4x the first (MTCNN scales with pixels), on videos where
        nothing was found only."""
        images = [f.image for f in frames]
        found = self.detect_images(images)
        long_side = max((max(im.shape[:2]) for im in images), default=0)
        closer = min(long_side // 2, 2 * self.max_side)
        if any(found) or closer <= self.max_side:
            return found
        return self.detect_images(images, max_side=closer)

    def _to_detections(self, boxes: np.ndarray, points: np.ndarray, scale: float) -> list[Detection]:
        """boxes [N, 5] (x1, y1, x2, y2, score) and points [N, 5, 2] in downscaled pixels -> Detections."""
        return [
            Detection(box=box[:4] / np.float32(scale), landmarks=pts / np.float32(scale), score=float(box[4]))
            for box, pts in zip(boxes, points, strict=True)
            if box[4] >= self.confidence
        ]
