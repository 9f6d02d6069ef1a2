"""Does re-encoding a video move a checkpoint's answer? (docs/training.md, "Recompression".)

    S=../shared/data; .venv/bin/python benchmarks/recompress_probe.py $S/videos/real $S/dev/talking_heads
    MODEL_PATH=runs/x/x.safetensors .venv/bin/python benchmarks/recompress_probe.py VIDEOS...

Platforms re-encode every upload, often more than once, so a real video that reads FAKE after one more
pass through H.264 is a false alarm waiting to happen. Each video is scanned as it is and after a
re-encode with libx264 (PyAV) at each CRF, same size and frame rate, through `Detector.analyze` as
`scan` serves it (MODEL_PATH, else the bundled model). Prints P(fake) per video and CRF, and the mean
shift of the calibrated log-odds against the original. ~3 s per video and CRF on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import av
import numpy as np

from deepfake_detect.config import Settings
from deepfake_detect.media import VIDEO_SUFFIXES
from deepfake_detect.pipeline import Detector


def reencode(src: Path, dst: Path, crf: int) -> None:
    """`src` → H.264 at `crf` (yuv420p, preset medium), video only, same size and frame rate."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s_in = inp.streams.video[0]
        rate = s_in.average_rate or 25
        s_out = out.add_stream("libx264", rate=rate, options={"crf": str(crf), "preset": "medium"})
        s_out.width, s_out.height = s_in.codec_context.width, s_in.codec_context.height
        s_out.pix_fmt = "yuv420p"
        for frame in inp.decode(s_in):
            out.mux(s_out.encode(frame.reformat(format="yuv420p")))
        out.mux(s_out.encode())


def _log_odds(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="folders of videos (searched recursively)")
    parser.add_argument("--crf", type=int, nargs="+", default=[23, 30, 36], help="libx264 CRFs")
    args = parser.parse_args()
    detector = Detector.from_settings(Settings())
    videos = sorted(p for f in args.folders for p in Path(f).rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    print(f"P(fake): original | CRF {args.crf}", flush=True)
    shifts: dict[int, list[float]] = {crf: [] for crf in args.crf}
    with tempfile.TemporaryDirectory() as tmp:
        for video in videos:
            base = detector.analyze(video, video.name).fake_probability
            cells = [f"{base:.3f}"]
            for crf in args.crf:
                copy = Path(tmp) / f"crf{crf}.mp4"
                reencode(video, copy, crf)
                p = detector.analyze(copy, video.name).fake_probability
                shifts[crf].append(_log_odds(p) - _log_odds(base))
                cells.append(f"{p:.3f}")
            print(f"{video.parent.name}/{video.name[:60]}: " + " | ".join(cells), flush=True)
    for crf, values in shifts.items():
        up = np.mean(np.array(values) > 0)
        print(f"CRF {crf}: mean log-odds shift {np.mean(values):+.3f} ({up:.0%} of videos up)")


if __name__ == "__main__":
    main()
