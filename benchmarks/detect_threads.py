"""MTCNN on one video's sampled frames under different thread settings (docs/performance.md, "detect").

    .venv/bin/python benchmarks/detect_threads.py clip.mp4 [--frames 32]

Shows why faces/detect.py runs MTCNN with ONE intra-op thread per chunk of frames: MTCNN issues
thousands of tiny ops (one resample per candidate box), and with 2 OpenMP threads on a 2-core machine
that is busy elsewhere each of them waits for a descheduled thread. Rows (batches of 16 frames at 640 px):

- `before`: facenet-pytorch's MTCNN as shipped (NCHW nets), torch's thread count (all cores);
- `channels-last, N OMP threads`: the same with channels-last nets (~3x faster max-pool);
- `integral-image stages, 1 OMP thread`: the same nets through `faces/mtcnn_stages.py` (every area
  resample read off one integral image; boxes bit-identical to facenet's);
- `ours (2 x 1 split)`: FaceDetector's default, chunks of frames on 2 Python threads, 1 OMP thread each,
  through those stages.

Run it once on an idle machine and once while something else keeps a core busy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from deepfake_detect.faces import FaceDetector
from deepfake_detect.faces.mtcnn_stages import detect_faces
from deepfake_detect.media import sample_frames


def median_time(fn, reps: int) -> tuple[float, list[float]]:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("video")
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()

    images = [f.image for f in sample_frames(args.video, args.frames).frames]
    print(f"{len(images)} frames of {images[0].shape[1]}x{images[0].shape[0]}; load {os.getloadavg()}")
    ours = FaceDetector()
    plain = FaceDetector()
    for net in (plain.mtcnn.pnet, plain.mtcnn.rnet, plain.mtcnn.onet):
        net.to(memory_format=torch.contiguous_format)  # as facenet-pytorch ships them
    small = np.stack([ours._downscale(im)[0] for im in images])
    cores = os.cpu_count() or 1

    def direct(detector: FaceDetector, threads: int):
        def run():
            torch.set_num_threads(threads)
            with torch.inference_mode():
                for i in range(0, len(small), 16):
                    detector.mtcnn.detect(small[i : i + 16], landmarks=True)

        return run

    def stages():
        torch.set_num_threads(1)
        for i in range(0, len(small), 16):
            detect_faces(ours.mtcnn, small[i : i + 16])

    def split():
        torch.set_num_threads(1)
        ours.threads = 2
        ours.detect_images(images)

    for name, fn in [
        (f"before ({cores} OMP threads)", direct(plain, cores)),
        ("channels-last, 1 OMP thread", direct(ours, 1)),
        (f"channels-last, {cores} OMP threads", direct(ours, cores)),
        ("integral-image stages, 1 OMP thread", stages),
        ("ours (2 x 1 split)", split),
    ]:
        med, times = median_time(fn, args.reps)
        print(f"  {name:38s} {med:6.3f} s   ({' '.join(f'{t:.2f}' for t in times)})", flush=True)


if __name__ == "__main__":
    main()
