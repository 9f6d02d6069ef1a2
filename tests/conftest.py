"""Shared pytest fixtures: synthetic media rendered once per session into a temp dir (never committed).

Videos come from :mod:`deepfake_detect.synthetic` (the scikit-image astronaut's face on a plain
background); see ``tests/test_synthetic.py`` for what each one is checked to contain.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import av
import pytest

from deepfake_detect import synthetic


@pytest.fixture(scope="session", autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory):
    """Every app the tests build keeps its jobs database and uploads in a temporary DATA_DIR."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATA_DIR", str(tmp_path_factory.mktemp("data")))
        yield


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One temp folder for every generated file of the session."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def video_mp4(media_dir: Path) -> Path:
    """H.264 in MP4, 1 face, 320x240, 25 fps, 20 frames."""
    return synthetic.render_video(media_dir / "one_face.mp4")


@pytest.fixture(scope="session")
def video_avi(media_dir: Path) -> Path:
    """MPEG-4 Part 2 in AVI, 1 face, 320x240, 20 frames."""
    return synthetic.render_video(media_dir / "one_face.avi", codec="mpeg4")


@pytest.fixture(scope="session")
def video_mjpeg(media_dir: Path) -> Path:
    """Motion JPEG in AVI (full-range yuvj420p), 1 face, 320x240, 20 frames."""
    return synthetic.render_video(media_dir / "one_face_mjpeg.avi", codec="mjpeg")


@pytest.fixture(scope="session")
def video_mkv(media_dir: Path) -> Path:
    """H.264 in Matroska, 1 face, 320x240, 20 frames."""
    return synthetic.render_video(media_dir / "one_face.mkv")


@pytest.fixture(scope="session")
def video_mov(media_dir: Path) -> Path:
    """H.264 in QuickTime MOV, 1 face, 320x240, 20 frames."""
    return synthetic.render_video(media_dir / "one_face.mov")


@pytest.fixture(scope="session")
def video_webm(media_dir: Path) -> Path:
    """VP9 in WebM, 1 face, 320x240, 20 frames (WebM has no frame count in its header)."""
    return synthetic.render_video(media_dir / "one_face.webm", codec="libvpx-vp9")


@pytest.fixture(scope="session")
def video_two_faces(media_dir: Path) -> Path:
    """H.264 MP4, two faces side by side (left and right halves), 480x270, 20 frames."""
    return synthetic.render_video(media_dir / "two_faces.mp4", width=480, height=270, faces=2)


@pytest.fixture(scope="session")
def video_no_face(media_dir: Path) -> Path:
    """H.264 MP4, background and moving shapes only, 320x240, 20 frames."""
    return synthetic.render_video(media_dir / "no_face.mp4", faces=0)


@pytest.fixture(scope="session")
def video_rotated(media_dir: Path) -> Path:
    """Phone-style portrait clip: stored 320x240 with the face sideways plus a display matrix saying
    "turn 90 degrees clockwise" (legacy ``rotate=90``). PyAV reads ``frame.rotation == -90``; turned
    upright it is 240x320 with one upright face."""
    return synthetic.render_video(media_dir / "rotated.mp4", rotation=90)


@pytest.fixture(scope="session")
def video_short(media_dir: Path) -> Path:
    """H.264 MP4, 1 face, only 3 frames."""
    return synthetic.render_video(media_dir / "short.mp4", n_frames=3)


@pytest.fixture(scope="session")
def video_truncated(media_dir: Path, video_mp4: Path) -> Path:
    """``video_mp4`` cut to its first 30% of bytes: the index (moov, at the end) is gone, so it
    does not even open (``av.error.InvalidDataError``, "moov atom not found")."""
    return synthetic.write_truncated(video_mp4, media_dir / "truncated.mp4", keep_fraction=0.3)


@pytest.fixture(scope="session")
def video_truncated_partial(media_dir: Path) -> Path:
    """A 60-frame faststart MP4 cut inside the packet at 70% of its bytes: it opens, the header still
    claims 60 frames, some frames decode and then decoding raises ``av.error.InvalidDataError``."""
    src = synthetic.render_video(media_dir / "faststart60.mp4", n_frames=60, faststart=True)
    return synthetic.write_truncated(
        src, media_dir / "truncated_partial.mp4", keep_fraction=0.7, mid_packet=True
    )


@pytest.fixture(scope="session")
def empty_file(media_dir: Path) -> Path:
    """A zero-byte file named ``.mp4``."""
    path = media_dir / "empty.mp4"
    path.write_bytes(b"")
    return path


@pytest.fixture(scope="session")
def text_as_mp4(media_dir: Path) -> Path:
    """A plain-text file named ``.mp4``."""
    path = media_dir / "text.mp4"
    path.write_text("This is not a video, just some notes.\n" * 20, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def image_as_mp4(media_dir: Path) -> Path:
    """A PNG of the face named ``.mp4`` (FFmpeg opens it as a one-frame png_pipe/image2 input)."""
    return synthetic.write_image_as(media_dir / "image.mp4", ".png")


@pytest.fixture(scope="session")
def audio_only(media_dir: Path) -> Path:
    """An AAC sine tone in an MP4 (``.m4a``) container: 1 s, no video stream."""
    try:
        return synthetic.write_tone(media_dir / "tone.m4a")
    except av.FFmpegError as e:  # pragma: no cover - only with an FFmpeg build lacking AAC
        pytest.skip(f"PyAV cannot write AAC audio: {e}")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repository (real clips, weights); skips the test when absent."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture(scope="session")
def mtcnn():
    """facenet-pytorch's MTCNN on CPU (keep_all, min_face_size=20); skips when not installed."""
    facenet = pytest.importorskip("facenet_pytorch")
    return facenet.MTCNN(keep_all=True, device="cpu", min_face_size=20)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised resnet18_lstm at 64 px saved in our safetensors format (fast to run).

    Random weights are fine here: these tests check plumbing, never accuracy."""
    import torch

    from deepfake_detect.models import create_model, save_checkpoint

    torch.manual_seed(0)
    model, config = create_model("resnet18_lstm", input_size=64)
    return save_checkpoint(model, config, tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


@pytest.fixture(scope="session")
def app_settings_factory():
    """`make(data_dir, **overrides)`: the Settings every test app starts from: no warm-up, fast job
    polling, the jobs database (SQLite unless `database_url=`) and uploads under `data_dir`."""
    from deepfake_detect import Settings

    def make(data_dir: Path, **overrides) -> Settings:
        return Settings(**({"warmup": False, "job_poll_s": 0.05, "data_dir": data_dir} | overrides))

    return make


@pytest.fixture(scope="session")
def tiny_detector(tiny_checkpoint: Path):
    from deepfake_detect import Detector, Settings, load_checkpoint

    return Detector(load_checkpoint(tiny_checkpoint), Settings(frames_per_video=8))


# --- the jobs database: every job test runs on SQLite and on PostgreSQL ---

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def postgres_database():
    """A fresh PostgreSQL database for this session (dropped afterwards). Skips when no server answers,
    unless REQUIRE_POSTGRES is set (.ci/run sets it: CI must not skip PostgreSQL silently)."""
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import OperationalError

    name = f"dfd_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as e:
        admin.dispose()
        if os.environ.get("REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {e.orig}")
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def jobs_db_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A jobs database URL: a new SQLite file, or the session's PostgreSQL database emptied afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}"
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    with engine.begin() as conn:
        if inspect(conn).has_table("jobs"):
            conn.execute(text("TRUNCATE jobs, webhook_attempts, api_keys"))
    engine.dispose()
