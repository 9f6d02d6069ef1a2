"""The page's HTML, without a browser: every view renders from the jobs API's data, errors are worded for
people, nothing is fetched from another site, the API key works as a cookie, and the HTML routes stay
out of the OpenAPI schema."""

from __future__ import annotations

import html
import re
from importlib import resources

from web_helpers import finished, submit

from deepfake_detect.jobs.keys import hash_key

HTML = "text/html"


def test_upload_page_and_its_assets_ship_in_the_package(web_client):
    client = web_client()
    page = client.get("/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith(HTML)
    assert 'id="upload"' in page.text and 'type="file"' in page.text and "multiple" in page.text
    assert '<label for="files"' in page.text  # the file input is labelled
    for asset in re.findall(r'(?:src|href)="(/ui/static/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/").json()["status"] == "online"  # the seed's GET / stays JSON


def test_nothing_is_loaded_from_another_site():
    """No CDN: no template or asset names an http(s) URL that a browser would fetch."""
    web = resources.files("deepfake_detect.web")
    files = [*web.joinpath("templates").iterdir(), *web.joinpath("static").iterdir()]
    assert len(files) >= 10
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", text), file.name
        assert "@import" not in text, file.name


def test_html_routes_are_not_in_the_api_schema(web_client):
    paths = web_client().get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]
    assert {"/jobs/{job_id}/faces/{track_id}/crop", "/jobs/{job_id}/faces/{track_id}/explain"} <= set(paths)


def test_result_page_shows_verdict_faces_timeline_and_video(web_client, video_two_faces):
    client = web_client()
    job = finished(client, submit(client, video_two_faces, keep_upload="true"))
    page = client.get(f"/ui/jobs/{job['id']}").text
    assert "verdict-" in page and "P(fake)" in page and "threshold" in page
    assert page.count('<article class="face') == 2 and page.count('/crop"') == 2  # two cards with thumbnails
    assert page.count('class="pt"') == sum(len(f["observations"]) for f in job["result"]["faces"])
    assert f'src="/jobs/{job["id"]}/video"' in page
    assert job["result"]["model_id"] in page and 'href="/ui/model"' in page
    report = client.get(f"/ui/jobs/{job['id']}/report").text
    assert report.count("data:image/png;base64,") == 4  # a thumbnail and a heatmap per face
    assert "Model and settings" in report
    assert f"<code>{job['upload_sha256']}</code>" in report  # the printed report names the exact file


def test_failed_and_unknown_jobs_are_worded_for_people(web_client, text_as_mp4):
    client = web_client()
    job = finished(client, submit(client, text_as_mp4, keep_upload="true"))
    assert job["state"] == "failed"
    page = client.get(f"/ui/jobs/{job['id']}").text
    assert "This file is not a video the service can read" in page and 'role="alert"' in page
    missing = client.get("/ui/jobs/0123456789abcdef")
    assert missing.status_code == 404 and "no longer exists" in missing.text


def test_history_pages_and_filters(web_client, video_short):
    client = web_client(job_workers=0)  # jobs stay queued: the list is what is being tested
    ids = [submit(client, video_short) for _ in range(23)]
    first = client.get("/ui/history").text
    assert first.count("/ui/jobs/") == 20 and ids[-1] in first and ids[2] not in first
    older = re.search(r'href="(/ui/history\?verdict=&amp;cursor=[0-9a-f]+)"', first)
    assert older, "no link to older analyses"
    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert second.count("/ui/jobs/") == 3 and ids[0] in second and "Newest" in second
    fakes = client.get("/ui/history", params={"verdict": "FAKE"}).text
    assert "/ui/jobs/" not in fakes and "No analysis with this verdict" in fakes
    assert client.get("/ui/history", params={"verdict": "MAYBE"}).status_code == 422


def test_model_page(web_client):
    page = web_client().get("/ui/model").text
    assert "resnet18_lstm" in page and "How a video is judged" in page
    assert "The face's P(fake) is the BiLSTM's reading of the whole track" in html.unescape(page)  # "lstm"
    assert "seen in at least 25% as many frames as the longest-seen face" in page


def test_api_key_lives_in_a_cookie_for_the_page(web_client, tmp_path, video_short):
    key = "dfd_page-secret"
    keys = tmp_path / "keys.toml"
    keys.write_text(f'[[keys]]\nname = "desk"\nsha256 = "{hash_key(key)}"\n')
    client = web_client(api_keys_file=keys, job_workers=0)
    to_form = client.get("/ui/history", follow_redirects=False)
    assert to_form.status_code == 303 and to_form.headers["location"] == "/ui/key?next=/ui/history"
    assert client.get("/ui", follow_redirects=False).headers["location"] == "/ui/key?next=/ui"
    wrong = client.post("/ui/key", data={"key": "dfd_guess", "next": "/ui/history"})
    assert wrong.status_code == 401 and "not valid" in wrong.text
    offsite = client.post("/ui/key", data={"key": key, "next": "//evil.example/"}, follow_redirects=False)
    assert offsite.headers["location"] == "/ui"
    cookie = offsite.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/jobs").status_code == 200  # the cookie is a key for the API too
    job_id = submit(client, video_short)
    assert job_id in client.get("/ui/history").text
    assert 'id="upload"' in client.get("/ui").text
    client.post("/ui/key/forget")
    assert client.get("/jobs").status_code == 401


def test_no_face_is_a_verdict_not_an_error(web_client, video_no_face):
    client = web_client()
    job = finished(client, submit(client, video_no_face, keep_upload="true"))
    assert job["result"]["prediction"] == "NO_FACE"
    page = client.get(f"/ui/jobs/{job['id']}").text
    assert "No face found" in page and "says nothing about whether it is genuine" in page
    assert 'class="timeline' not in page and 'role="alert"' not in page
