"""Coverage-guided fuzzing (atheris) of the two places hostile bytes enter: the media probe and the
multipart upload path. Not part of `make test`; run for a bounded time:

    make fuzz FUZZ_TARGET=media FUZZ_SECONDS=1200      # or FUZZ_TARGET=multipart
    python tests/fuzz/harness.py media -max_total_time=1200 [libFuzzer flags...]

Targets (each input is one file / one request body):
- media: the bytes are written to a file and go through `media.probe` and `media.sample_frames` with
  the server's limits. Any exception other than a `MediaError` (415/422/413) is a crash; so is a run
  past libFuzzer's -timeout.
- multipart: the bytes are the body of `POST /predict`, `/predict/batch` and `/jobs` (multipart, fixed
  boundary) sent to the real app with a small real model. Any 5xx, or an error answer that is not
  problem+json, is a crash; so is a file left behind (a job accepted here is cancelled at once: its
  analysis is the media target's).

Seeds are generated (valid clips in every allowed container, images, audio, playlists, multipart
bodies) into `--seeds DIR` (default: a temporary folder); findings go to the current directory as
crash-*/timeout-* files, which `python tests/fuzz/harness.py media crash-...` replays.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["deepfake_detect", "starlette", "multipart", "fastapi"]):
    from deepfake_detect.config import Settings
    from deepfake_detect.errors import MediaError
    from deepfake_detect.media import MediaLimits, probe, sample_frames

BOUNDARY = "fuzzboundary7MA4YWxkTrZu0gW"
_WORK = Path(tempfile.mkdtemp(prefix="deepfake-fuzz-"))
_LIMITS = MediaLimits.from_settings(Settings(max_decode_s=20, max_upload_mb=8))


def fuzz_media(data: bytes) -> None:
    path = _WORK / "input"
    path.write_bytes(data)
    for read in (lambda: probe(path, _LIMITS), lambda: sample_frames(path, 4, _LIMITS)):
        try:
            read()
        except MediaError:
            pass


_client = None


def _app_client():
    global _client
    if _client is None:
        import torch
        from fastapi.testclient import TestClient

        from deepfake_detect.api.app import create_app
        from deepfake_detect.models import create_model, load_checkpoint, save_checkpoint
        from deepfake_detect.pipeline import Detector

        torch.manual_seed(0)
        model, config = create_model("resnet18_lstm", input_size=64)
        ckpt = save_checkpoint(model, config, _WORK / "tiny.safetensors")
        settings = Settings(
            frames_per_video=4,
            max_upload_mb=8,
            runtime="torch",
            warmup=False,
            upload_dir=_WORK / "uploads",
            data_dir=_WORK / "data",
            job_workers=0,
        )
        (_WORK / "uploads").mkdir(exist_ok=True)
        detector = Detector(load_checkpoint(ckpt), settings)
        _client = TestClient(create_app(settings, lambda s: detector), raise_server_exceptions=False)
        _client.__enter__()
    return _client


def fuzz_multipart(data: bytes) -> None:
    client = _app_client()
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    for route in ("/predict", "/predict/batch", "/jobs"):
        response = client.post(route, content=data, headers=headers)
        if response.status_code >= 500:
            raise RuntimeError(f"{route}: {response.status_code} {response.text[:500]}")
        if response.status_code >= 400 and not response.headers["content-type"].startswith(
            "application/problem+json"
        ):
            raise RuntimeError(f"{route}: {response.status_code} without problem+json")
        if route == "/jobs" and response.status_code == 202:
            cancelled = client.delete(f"/jobs/{response.json()['id']}")
            if cancelled.status_code != 200:
                raise RuntimeError(f"cancelling the job: {cancelled.status_code} {cancelled.text[:500]}")
    leftovers = list((_WORK / "uploads").iterdir()) + list((_WORK / "data" / "uploads").iterdir())
    if leftovers:
        raise RuntimeError(f"temporary files left behind: {leftovers}")


def multipart_body(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart/form-data body with BOUNDARY: (field, filename or None, content) per part."""
    out = b""
    for field, filename, content in parts:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        out += b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def write_seeds(folder: Path, target: str) -> None:
    """Small valid and invalid inputs for the fuzzer to mutate (generated, never committed)."""
    from deepfake_detect import synthetic

    folder.mkdir(parents=True, exist_ok=True)
    media = folder / "_media"
    media.mkdir(exist_ok=True)
    clips = []
    for name, codec in [("a.mp4", "libx264"), ("b.mkv", "libx264"), ("c.avi", "mpeg4"), ("d.webm", "libvpx")]:
        clips.append(synthetic.render_video(media / name, width=64, height=48, n_frames=3, codec=codec))
    clips.append(synthetic.write_image_as(media / "e.png", ".png"))
    samples = [p.read_bytes() for p in clips]
    samples += [
        b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/hostname\n#EXT-X-ENDLIST\n",
        b"ffconcat version 1.0\nfile /etc/hostname\n",
        b"this is plain text, not a video\n" * 20,
    ]
    for i, sample in enumerate(samples):
        if target == "media":
            (folder / f"seed{i}").write_bytes(sample)
        else:
            (folder / f"seed{i}").write_bytes(multipart_body([("file", f"v{i}.mp4", sample)]))
            (folder / f"batch{i}").write_bytes(
                multipart_body([("files", "x.mp4", sample), ("files", "y.mp4", samples[0])])
            )


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in ("media", "multipart"):
        sys.exit(__doc__)
    target = argv[1]
    args = argv[2:]
    replay = any(os.path.isfile(a) for a in args if not a.startswith("-"))
    if not replay:
        seeds = Path(tempfile.mkdtemp(prefix=f"deepfake-fuzz-seeds-{target}-"))
        write_seeds(seeds, target)
        args = [*args, str(seeds)]
    if target == "multipart":
        _app_client()  # build the app once, before fuzzing starts
    atheris.Setup([argv[0], *args], fuzz_media if target == "media" else fuzz_multipart)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
