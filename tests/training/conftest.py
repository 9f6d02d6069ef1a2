"""Tiny synthetic data sets for the training tests (rendered once per session, never committed)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
import torch

from deepfake_detect import synthetic

SIZE = dict(width=128, height=96)  # the face is ~43 px tall: MTCNN (min 32 px) still finds it
N_FRAMES = 6


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny tensors on a shared machine: a second OpenMP thread only spins waiting for a busy core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def dfdc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DFDC layout, one part: 3 REAL clips and a FAKE of each (different background and face size)."""
    part = tmp_path_factory.mktemp("dfdc") / "dfdc_train_part_0"
    part.mkdir()
    meta = {}
    for i in range(3):
        synthetic.render_video(part / f"real{i}.mp4", **SIZE, n_frames=N_FRAMES, seed=i)
        synthetic.render_video(part / f"fake{i}.mp4", **SIZE, n_frames=N_FRAMES, seed=50 + i, face_scale=0.6)
        meta[f"real{i}.mp4"] = {"label": "REAL", "original": None, "split": "train"}
        meta[f"fake{i}.mp4"] = {"label": "FAKE", "original": f"real{i}.mp4", "split": "train"}
    (part / "metadata.json").write_text(json.dumps(meta))
    return part.parent


@pytest.fixture(scope="session")
def mixed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """real/ + fake/ layout with a video, a frame-sequence folder, a clip without a face and a broken file."""
    root = tmp_path_factory.mktemp("mixed")
    (root / "real" / "spk1" / "sent1").mkdir(parents=True)
    (root / "fake").mkdir()
    synthetic.render_video(root / "real" / "clip.mp4", **SIZE, n_frames=N_FRAMES, seed=3)
    synthetic.render_video(root / "fake" / "noface.mp4", **SIZE, n_frames=N_FRAMES, faces=0)
    (root / "fake" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    for i, frame in enumerate(synthetic.render_frames(**SIZE, n_frames=5, seed=4)):
        cv2.imwrite(str(root / "real" / "spk1" / "sent1" / f"{10 + i:03d}.png"), frame[..., ::-1])
    return root


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    frame = synthetic.render_frames(width=160, height=120, n_frames=1, seed=7)[0]
    cv2.imwrite(str(root / "person.jpg"), frame[..., ::-1])
    return root
