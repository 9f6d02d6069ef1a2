"""Evidence of a finished job (api/routes/evidence.py): face crops cut again from the kept upload are the
pipeline's crops, Grad-CAM explanations on demand, the downloadable JSON report, and clear errors."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from jobs_helpers import submit, wait_for

from deepfake_detect import Detector, Settings, load_checkpoint
from deepfake_detect.api.app import create_app
from deepfake_detect.faces import build_tracks, crop_face, crop_track
from deepfake_detect.media import sample_frames
from deepfake_detect.models import create_model, save_checkpoint
from deepfake_detect.types import Detection

PROBLEM = "application/problem+json"


@pytest.fixture
def client(tmp_path, tiny_detector, app_settings_factory):
    settings = app_settings_factory(tmp_path / "data", max_upload_mb=2)
    with TestClient(create_app(settings, detector_factory=lambda s: tiny_detector)) as c:
        yield c


@pytest.fixture
def two_faces_job(client, video_two_faces) -> dict:
    job = wait_for(client, submit(client, video_two_faces, keep_upload="true")["id"])
    assert job["state"] == "succeeded" and len(job["result"]["faces"]) == 2, job
    return job


def decode_png(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image[..., ::-1]  # RGB


def decode_data_url(url: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return decode_png(base64.b64decode(url[len(prefix) :]))


def test_crops_are_the_pipelines_crops(client, two_faces_job, tiny_detector, video_two_faces):
    """Each observation's crop, cut again from the kept upload, is the pipeline's crop of the very frame
    it analysed, from the report's box (whole pixels: within a pixel of the box the model's crop came
    from)."""
    detector: Detector = tiny_detector
    video = sample_frames(video_two_faces, detector.face_spec.frames)
    images = {f.index: f.image for f in video.frames}
    tracks = build_tracks(detector.faces.detect(video.frames))
    scored = {t.track_id: crop_track(video.frames, t, detector.crop_spec) for t in tracks}  # [T, S, S, 3]
    size = detector.crop_spec.size
    for face in two_faces_job["result"]["faces"]:
        base = f"/jobs/{two_faces_job['id']}/faces/{face['track_id']}/crop"
        thumb = client.get(base)
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
        assert decode_png(thumb.content).shape == (size, size, 3)
        for position, obs in enumerate(face["observations"]):
            r = client.get(base, params={"frame": obs["frame_index"]})
            assert r.status_code == 200, r.text
            crop = decode_png(r.content)
            box = Detection(np.asarray(obs["box"], np.float32), np.zeros((5, 2), np.float32), 1.0)
            assert np.array_equal(crop, crop_face(images[obs["frame_index"]], box, detector.crop_spec))
            model_saw = scored[face["track_id"]][position].astype(np.float32)
            assert np.abs(crop.astype(np.float32) - model_saw).mean() < 20  # the box within a pixel


def test_explain_shows_the_most_suspicious_frames(client, two_faces_job):
    job_id, face = two_faces_job["id"], two_faces_job["result"]["faces"][0]
    r = client.get(f"/jobs/{job_id}/faces/{face['track_id']}/explain", params={"top": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "grad-cam" and body["layer"].startswith("cnn")
    assert body["model_id"] == two_faces_job["result"]["model_id"]
    by_suspicion = sorted(face["observations"], key=lambda o: (-o["fake_probability"], o["frame_index"]))
    assert [f["frame_index"] for f in body["frames"]] == [o["frame_index"] for o in by_suspicion[:2]]
    for frame in body["frames"]:
        crop, heat = decode_data_url(frame["crop"]), decode_data_url(frame["heatmap"])
        assert crop.shape == heat.shape == (64, 64, 3)
    one = face["observations"][-1]["frame_index"]
    single = client.get(f"/jobs/{job_id}/faces/{face['track_id']}/explain", params={"frame": one}).json()
    assert [f["frame_index"] for f in single["frames"]] == [one]


def test_report_json_is_a_download_with_model_and_settings(client, two_faces_job):
    r = client.get(f"/jobs/{two_faces_job['id']}/report")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith('attachment; filename="two_faces-')
    body = r.json()
    assert body["job"]["result"] == two_faces_job["result"]
    assert body["model"]["id"] == two_faces_job["result"]["model_id"]
    assert body["settings"]["frames_per_video"] == 32  # the app's settings (the tiny detector samples 8)


def test_evidence_errors_say_what_is_missing(client, two_faces_job, video_short, text_as_mp4):
    job_id = two_faces_job["id"]
    cases = {
        "/jobs/0123abcd/faces/0/crop": (404, "job-not-found"),
        f"/jobs/{job_id}/faces/7/crop": (404, "evidence-not-found"),
        f"/jobs/{job_id}/faces/0/crop?frame=99999": (404, "evidence-not-found"),
        f"/jobs/{job_id}/faces/0/explain?frame=99999": (404, "evidence-not-found"),
        f"/jobs/{job_id}/faces/0/explain?top=0": (422, "invalid-request"),
        f"/jobs/{job_id}/faces/-1/crop": (422, "invalid-request"),
    }
    not_kept = wait_for(client, submit(client, video_short)["id"])  # no keep_upload
    cases[f"/jobs/{not_kept['id']}/faces/0/crop"] = (404, "evidence-not-found")
    failed = wait_for(client, submit(client, text_as_mp4, keep_upload="true")["id"])
    assert failed["state"] == "failed"
    cases[f"/jobs/{failed['id']}/faces/0/explain"] = (409, "evidence-conflict")
    cases[f"/jobs/{failed['id']}/report"] = (409, "evidence-conflict")
    for path, (status, slug) in cases.items():
        r = client.get(path)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"].startswith(PROBLEM) and r.json()["type"].endswith(slug), path
    assert "keep_upload=true" in client.get(f"/jobs/{not_kept['id']}/faces/0/crop").json()["detail"]
    frames = ", ".join(str(o["frame_index"]) for o in two_faces_job["result"]["faces"][0]["observations"])
    for route in ("crop", "explain"):  # the 404 lists the frames there are, to pick from
        detail = client.get(f"/jobs/{job_id}/faces/0/{route}?frame=99999").json()["detail"]
        assert detail.endswith(f"(its frames: {frames})"), detail


def test_explanations_need_the_model_that_made_the_result(tmp_path, two_faces_job, app_settings_factory):
    """A server that now serves another model still shows crops, but will not explain with the wrong
    weights (409), and the report says which model it was without describing another."""
    torch.manual_seed(1)
    model, config = create_model("resnet18_lstm", input_size=64)
    other = Detector(
        load_checkpoint(save_checkpoint(model, config, tmp_path / "other.safetensors")),
        Settings(frames_per_video=8),
    )
    settings = app_settings_factory(tmp_path / "data", max_upload_mb=2, job_workers=0)  # the same database
    app = create_app(settings, detector_factory=lambda s: other)
    with TestClient(app) as second:
        job_id = two_faces_job["id"]
        assert second.get(f"/jobs/{job_id}/faces/0/crop").status_code == 200
        r = second.get(f"/jobs/{job_id}/faces/0/explain")
        assert r.status_code == 409 and two_faces_job["result"]["model_id"] in r.json()["detail"]
        assert second.get(f"/jobs/{job_id}/report").json()["model"] is None


def test_deleting_a_job_forgets_its_evidence(client, two_faces_job):
    job_id = two_faces_job["id"]
    assert client.get(f"/jobs/{job_id}/faces/0/explain", params={"top": 1}).status_code == 200
    evidence = client.app.state.evidence
    assert len(evidence.crops_cache) == 1 and len(evidence.explanations) == 1
    assert client.delete(f"/jobs/{job_id}").status_code == 204
    assert len(evidence.crops_cache) == 0 and len(evidence.explanations) == 0
    assert client.get(f"/jobs/{job_id}/faces/0/crop").status_code == 404
