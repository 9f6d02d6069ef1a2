import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deepfake_detect import Settings
from deepfake_detect.api.app import create_app
from deepfake_detect.pipeline import Detector

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client(tiny_detector):
    app = create_app(Settings(frames_per_video=8, max_upload_mb=2), detector_factory=lambda s: tiny_detector)
    with TestClient(app) as c:
        yield c


def upload(client, path: Path, name: str | None = None):
    with open(path, "rb") as f:
        return client.post("/predict", files={"file": (name or path.name, f, "video/mp4")})


def assert_problem(response, status: int):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["detail"] and body["type"].startswith("urn:deepfake-detect:")
    return body


def test_root_and_health_keep_the_seed_fields(client):
    assert client.get("/").json() == {"status": "online", "model_loaded": True, "device": "cpu"}
    health = client.get("/health").json()
    assert health["status"] == "healthy" and health["model_loaded"] and health["reason"] is None
    assert health["model_id"].startswith("resnet18_lstm-")


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize("accept", ["*/*", "application/json", None])
def test_api_clients_get_json_at_the_root(client, accept):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/", headers=headers, follow_redirects=False)
    assert response.status_code == 200 and response.json()["status"] == "online"
    assert "accept" in response.headers["vary"].lower()


def test_a_browser_at_the_root_is_sent_to_the_web_page(client):
    response = client.get("/", headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui"
    assert "accept" in response.headers["vary"].lower()
    assert client.get("/", headers={"Accept": BROWSER_ACCEPT}).headers["content-type"].startswith("text/html")
    behind_a_proxy = TestClient(client.app, root_path="/detect")  # mounted under a path prefix
    response = behind_a_proxy.get("/", headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False)
    assert response.headers["location"] == "/detect/ui"


def test_info_shows_model_and_effective_settings(client):
    info = client.get("/info").json()
    assert info["model"]["architecture"] == "resnet18_lstm" and info["model"]["input_size"] == 64
    assert info["settings"]["frames_per_video"] == 8 and info["settings"]["max_upload_mb"] == 2
    model = info["model"]
    assert (model["patch_size"], model["patch_scale"], model["frames_per_video"]) == (224, 1.3, 8)
    assert model["runtime"]["backend"] in ("onnx", "torch") and model["runtime"]["requested"] == "auto"
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/predict/batch" in schema["paths"]
    typed = {"InfoResponse", "ModelInfo", "RuntimeInfo", "HealthResponse", "LoadState"}
    assert typed <= schema["components"]["schemas"].keys()


def test_predict_returns_seed_fields_and_per_face_evidence(client, video_two_faces):
    r = upload(client, video_two_faces)
    assert r.status_code == 200, r.text
    body = r.json()
    for key in ("video_name", "prediction", "confidence", "is_fake", "frames_analyzed", "raw_score"):
        assert key in body
    assert body["video_name"] == "two_faces.mp4" and body["frames_analyzed"] == 8
    assert body["prediction"] in ("REAL", "FAKE") and len(body["faces"]) == 2
    p = body["fake_probability"]
    assert p == max(f["fake_probability"] for f in body["faces"])
    expected_conf = p if body["prediction"] == "FAKE" else 1 - p
    assert body["confidence"] == pytest.approx(expected_conf, abs=1e-4)
    obs = body["faces"][0]["observations"]
    assert len(obs) == 8 and len(obs[0]["box"]) == 4 and 0 <= obs[0]["fake_probability"] <= 1
    assert body["timings"]["total_s"] > 0


def test_no_face_is_said_explicitly(client, video_no_face):
    body = upload(client, video_no_face).json()
    assert body["prediction"] == "NO_FACE" and body["is_fake"] is None and body["fake_probability"] is None
    assert "no face" in body["message"]


@pytest.mark.parametrize("name", ["../../etc/passwd.mp4", "..\\..\\windows\\passwd.mp4"])
def test_client_filename_is_never_a_path(client, video_mp4, name):
    r = upload(client, video_mp4, name=name)
    assert r.status_code == 200 and r.json()["video_name"] == "passwd.mp4"


def test_display_name_strips_control_characters():
    from deepfake_detect.api.uploads import display_name

    assert display_name("a\x00b\nc.mp4") == "abc.mp4" and display_name(None) == "upload"


@pytest.mark.parametrize(
    "fixture, status",
    [
        ("text_as_mp4", 415),
        ("image_as_mp4", 415),
        ("audio_only", 415),
        ("empty_file", 422),
        ("video_truncated", 422),
    ],
)
def test_bad_uploads_get_problem_json(client, fixture, status, request):
    response = upload(client, request.getfixturevalue(fixture))
    assert_problem(response, status)
    assert "deepfake-upload" not in response.json()["detail"]  # no server-side temporary file names
    assert client.get("/health").json()["status"] == "healthy"


def test_too_large_upload_is_413(client, tmp_path):
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (3 * 1024 * 1024))  # limit is 2 MiB
    assert_problem(upload(client, big), 413)


def test_an_upload_dir_that_is_not_there_yet_is_made_at_start(tiny_detector, video_mp4, tmp_path):
    """UPLOAD_DIR named but missing answered every upload with a 500 (mkstemp in a missing folder)."""
    uploads = tmp_path / "not" / "yet"
    settings = Settings(upload_dir=uploads, data_dir=tmp_path / "data", warmup=False)
    with TestClient(create_app(settings, lambda s: tiny_detector)) as c:
        assert upload(c, video_mp4).status_code == 200
    assert uploads.is_dir() and list(uploads.iterdir()) == []


def test_missing_field_is_422_with_a_hint(client, video_mp4):
    with open(video_mp4, "rb") as f:
        r = client.post("/predict", files={"video": ("a.mp4", f)})
    assert "'file'" in assert_problem(r, 422)["detail"]


def test_batch_answers_every_file(client, video_mp4, text_as_mp4):
    with open(video_mp4, "rb") as a, open(text_as_mp4, "rb") as b:
        r = client.post("/predict/batch", files=[("files", ("good.mp4", a)), ("files", ("bad.mp4", b))])
    assert r.status_code == 200
    good, bad = r.json()["predictions"]
    assert (
        good["video_name"] == "good.mp4" and good["prediction"] in ("REAL", "FAKE") and good["error"] is None
    )
    assert (
        bad["video_name"] == "bad.mp4" and bad["status"] == 415 and bad["error"] and bad["prediction"] is None
    )


def test_batch_over_the_count_limit_is_refused(client, video_short):
    files = [("files", (f"{i}.mp4", video_short.read_bytes())) for i in range(11)]
    body = assert_problem(client.post("/predict/batch", files=files), 400)
    assert body["type"].endswith(":too-many-files") and "at most 10" in body["detail"]


def test_unknown_route_is_problem_json(client):
    assert_problem(client.get("/nope"), 404)


def test_without_model_server_starts_and_explains(video_mp4, tmp_path):
    settings = Settings(model_path=tmp_path / "missing.pth")
    with TestClient(create_app(settings)) as c:
        health = c.get("/health").json()
        assert health["status"] == "unhealthy" and not health["model_loaded"]
        assert "missing.pth" in health["reason"]
        body = assert_problem(upload(c, video_mp4), 503)
        assert "not found" in body["detail"]


def test_overload_answers_503_with_retry_after(tiny_detector, video_short):
    release, entered = threading.Event(), threading.Event()

    class SlowDetector:
        def __getattr__(self, name):
            return getattr(tiny_detector, name)

        def analyze(self, path, name=None):
            entered.set()
            release.wait(10)
            return tiny_detector.analyze(path, name)

    settings = Settings(frames_per_video=4, inference_workers=1, max_queue=0)
    app = create_app(settings, detector_factory=lambda s: SlowDetector())
    with TestClient(app) as c:
        results = {}
        worker = threading.Thread(target=lambda: results.update(first=upload(c, video_short)))
        worker.start()
        assert entered.wait(10)
        busy = upload(c, video_short)
        release.set()
        worker.join(20)
    assert_problem(busy, 503)
    assert busy.headers["retry-after"] == "5"
    assert results["first"].status_code == 200


@pytest.mark.slow  # a ResNet50 exported to ONNX
def test_seed_checkpoint_via_model_path(video_mp4, tmp_path):
    import torch

    from deepfake_detect.models import create_model

    model, _ = create_model("resnet50_lstm")
    torch.save({"model_state_dict": model.state_dict()}, tmp_path / "model_epoch_30.pth")
    settings = Settings(model_path=tmp_path / "model_epoch_30.pth", frames_per_video=4)
    with TestClient(create_app(settings, detector_factory=Detector.from_settings)) as c:
        body = upload(c, video_mp4).json()
        assert body["model_id"].startswith("resnet50_lstm-") and len(body["faces"]) == 1
        assert c.get("/info").json()["model"]["format"] == "seed-pth"
