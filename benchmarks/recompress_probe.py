"""Does re-encoding a video move a checkpoint's answer? (docs/training.md, "Recompression".)

    S=../shared/data; .venv/bin/python benchmarks/recompress_probe.py $S/videos/real $S/dev/talking_heads
    MODEL_PATH=runs/x/x.safetensors .venv/bin/python benchmarks/recompress_probe.py VIDEOS...

Platforms re-encode every upload, often more than once, and serve smaller renditions, so a real video
that reads FAKE after one more pass through H.264 is a false alarm waiting to happen. Each video is
scanned as it is and after a re-encode with libx264 (PyAV) at each CRF (same size and frame rate) and at
each rendition height (CRF 23), through `Detector.analyze` as `scan` serves it (MODEL_PATH, else the
bundled model). Prints P(fake) per video and pass, and the mean shift of the calibrated log-odds against
the original. ~3 s per video and pass on 2 cores.

`--fields` adds broadcast-style interlacing: every two frames woven into one (top field from the first,
bottom from the second, flagged interlaced, half the frame rate, as 1080i is), beside the same half-rate
video kept progressive (every other frame), so that the difference is the combing alone. The service
keeps one field of a frame flagged interlaced (`media_decode.deinterlace`, where the figures are).

`--hdr` adds the video as a phone records it in HDR (HEVC 10-bit, BT.2020, HLG: SDR white at 75 %
signal, BT.2408), read as the service reads it (tone-mapped back to SDR, `media_color`) and as an
HDR-unaware reader would, beside an SDR HEVC copy at the same CRF (so that the codec is not the
difference).

`--anamorphic` adds a copy stored as broadcast HD is (HDV, XDCAM: 1440 of 1920 columns, pixels tagged
4:3 wide), read in square pixels as the service reads it (`media_decode.display_size`) and as stored,
faces squeezed to 75 % of their width, as a reader blind to the tag would.

`--looks [NAME...]` adds how real videos often look and what the model was not trained on: greyscale,
dim (underexposed: gamma 1.8, highlights at 60 %) and a 360p copy upscaled back (re-uploads). Figures in
docs/training.md, "Appearance probe".
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path
from unittest.mock import patch

import av
import cv2
import numpy as np

from deepfake_detect import media, media_decode
from deepfake_detect.config import Settings
from deepfake_detect.media import VIDEO_SUFFIXES
from deepfake_detect.media_color import HLG, sdr_to_hdr
from deepfake_detect.pipeline import Detector


def hevc(src: Path, dst: Path, crf: int, hdr: bool) -> None:
    """`src` → HEVC (libx265) at `crf`: 8-bit SDR, or 10-bit HLG tagged as phones tag it."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mov") as out:
        s_in = inp.streams.video[0]
        w, h = s_in.codec_context.width // 2 * 2, s_in.codec_context.height // 2 * 2
        options = {"crf": str(crf), "x265-params": "log-level=error"}
        s_out = out.add_stream("libx265", rate=Fraction(s_in.average_rate or 25), options=options)
        s_out.width, s_out.height = w, h
        s_out.pix_fmt = "yuv420p10le" if hdr else "yuv420p"
        if hdr:  # BT.2020 non-constant luminance, BT.2020 primaries, ARIB STD-B67 (HLG)
            s_out.codec_context.colorspace, s_out.codec_context.color_primaries = 9, 9
            s_out.codec_context.color_trc = 18
        for frame in inp.decode(s_in):
            image = frame.to_ndarray(format="rgb24")[:h, :w]
            if hdr:
                frame = av.VideoFrame.from_ndarray(sdr_to_hdr(image, HLG), format="rgb48le")
                frame = frame.reformat(format="yuv420p10le", dst_colorspace="bt2020")
            else:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            out.mux(s_out.encode(frame))
        out.mux(s_out.encode())


def _grey(image: np.ndarray) -> np.ndarray:
    return np.repeat(image @ np.array([0.299, 0.587, 0.114]), 3).reshape(image.shape).astype(np.uint8)


def _dim(image: np.ndarray) -> np.ndarray:
    return (255 * 0.6 * (image / 255.0) ** 1.8).astype(np.uint8)


def _upscaled(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    scale = 360 / h if h > 360 else 0.5
    small = cv2.resize(
        image, (int(w * scale) // 2 * 2, int(h * scale) // 2 * 2), interpolation=cv2.INTER_AREA
    )
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


LOOKS = {"grey": _grey, "dim": _dim, "upscaled 360p": _upscaled}


def reencode(
    src: Path,
    dst: Path,
    crf: int,
    height: int | None = None,
    fields: str | None = None,
    look: str | None = None,
    squeeze: bool = False,
) -> None:
    """`src` → H.264 at `crf` (yuv420p, preset medium), video only, same frame rate; shrunk to `height`
    rows (width kept in proportion, even) when given, as a platform's 480p / 360p rendition is. fields:
    "woven" weaves frame pairs into interlaced frames at half the rate, "half" keeps every other frame
    (its progressive reference). look: a name in LOOKS, applied to every frame. squeeze: 3/4 of the
    columns, tagged 4:3 wide pixels. A display rotation is not carried over (no probed video has one)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s_in = inp.streams.video[0]
        w, h = s_in.codec_context.width, s_in.codec_context.height
        if height and height < h:
            w, h = 2 * round(w * height / h / 2), height - height % 2
        if squeeze:
            w = 2 * round(w * 3 / 8)
        restyle = LOOKS.get(look or "")
        rate = Fraction(s_in.average_rate or 25) / (2 if fields else 1)
        options = {"crf": str(crf)} | ({"x264-params": "interlaced=1:tff=1"} if fields == "woven" else {})
        s_out = out.add_stream("libx264", rate=rate, options=options)
        s_out.width, s_out.height, s_out.pix_fmt = w, h, "yuv420p"
        if squeeze:
            s_out.codec_context.sample_aspect_ratio = Fraction(4, 3)
        frames = (f.reformat(width=w, height=h, format="rgb24").to_ndarray() for f in inp.decode(s_in))
        for i, image in enumerate(frames):  # [h, w, 3]
            if restyle:
                image = restyle(image)
            if fields and i % 2 == 0:
                top = image
                continue
            if fields == "woven":  # top field (even rows) from the earlier frame, bottom from this one
                woven = top.copy()
                woven[1::2] = image[1::2]
                image = woven
            elif fields == "half":
                image = top
            out.mux(s_out.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))
        out.mux(s_out.encode())


def analyze_as_read(detector: Detector, path: Path, name: str, blind_to: str | None = None) -> float | None:
    """P(fake) of `path` as the service reads it; blind_to="hdr" reads HDR frames as an HDR-unaware
    reader does, "sar" reads pixels as stored, ignoring their aspect ratio."""
    with ExitStack() as stack:
        if blind_to == "hdr":
            stack.enter_context(patch.object(media_decode, "hdr_transfer", lambda frame: None))
        elif blind_to == "sar":
            for module in (media, media_decode):  # media reads the size from the header, media_decode frames
                stack.enter_context(patch.object(module, "display_size", lambda w, h, sar: (w, h)))
        return detector.analyze(path, name).fake_probability


def _log_odds(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="folders of videos (searched recursively)")
    parser.add_argument("--crf", type=int, nargs="*", default=[23, 30, 36], help="libx264 CRFs, same size")
    parser.add_argument("--height", type=int, nargs="*", default=[480, 360], help="renditions at CRF 23")
    parser.add_argument("--fields", action="store_true", help="add half-rate progressive and woven passes")
    parser.add_argument("--hdr", action="store_true", help="add HEVC SDR and HLG passes (tone-mapped or not)")
    parser.add_argument("--anamorphic", action="store_true", help="add 4:3-pixel copies, read both ways")
    parser.add_argument(
        "--looks", nargs="*", choices=list(LOOKS), help="add these looks' passes (none named: all of them)"
    )
    args = parser.parse_args()
    passes = [(f"CRF {c}", c, None, None) for c in args.crf] + [(f"{h}p", 23, h, None) for h in args.height]
    if args.fields:
        passes += [("half rate", 23, None, "half"), ("woven fields", 23, None, "woven")]
    if args.hdr:
        passes += [("HEVC SDR", 23, None, "sdr"), ("HLG", 23, None, "hlg"), ("HLG unmapped", 23, None, "raw")]
    if args.anamorphic:
        passes += [("anamorphic", 23, None, "sar"), ("anamorphic as stored", 23, None, "raw sar")]
    if args.looks is not None:
        passes += [(name, 23, None, name) for name in args.looks or LOOKS]
    detector = Detector.from_settings(Settings())
    videos = sorted(p for f in args.folders for p in Path(f).rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    print("P(fake): original | " + " | ".join(name for name, *_ in passes), flush=True)
    shifts: dict[str, list[float]] = {name: [] for name, *_ in passes}
    with tempfile.TemporaryDirectory() as tmp:
        for video in videos:
            base = detector.analyze(video, video.name).fake_probability
            cells = [f"{base:.3f}" if base is not None else "no face"]
            for name, crf, height, kind in passes:
                copy = Path(tmp) / "copy.mp4"
                if kind in ("sdr", "hlg", "raw"):
                    hevc(video, copy, crf, hdr=kind != "sdr")
                elif kind in LOOKS:
                    reencode(video, copy, crf, height, look=kind)
                elif kind in ("sar", "raw sar"):
                    reencode(video, copy, crf, height, squeeze=True)
                else:
                    reencode(video, copy, crf, height, fields=kind)
                blind_to = {"raw": "hdr", "raw sar": "sar"}.get(kind or "")
                p = analyze_as_read(detector, copy, video.name, blind_to)
                if p is not None and base is not None:
                    shifts[name].append(_log_odds(p) - _log_odds(base))
                cells.append(f"{p:.3f}" if p is not None else "no face")
            print(f"{video.parent.name}/{video.name[:60]}: " + " | ".join(cells), flush=True)
    for name, values in shifts.items():
        up = np.mean(np.array(values) > 0)
        print(f"{name}: mean log-odds shift {np.mean(values):+.3f} ({up:.0%} of {len(values)} videos up)")


if __name__ == "__main__":
    main()
