"""The page in a real browser: Debian's Chromium (/usr/bin/chromium, never a downloaded one) driven by
Playwright, against a real `deepfake-detect serve` on a free loopback port, with the tiny model.

A generated two-face clip is dropped on the page: its result shows the verdict, a card per face, the
timeline and a heatmap; a text file gets the human error; the history lists the job and reopens it; the
JSON report downloads; no request leaves the server. A screenshot of the result page is written to the
test's tmp_path. Skipped when Chromium is missing, unless REQUIRE_BROWSER is set (.ci/run sets it).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow  # a server and a browser: ~40-60 s here; `make test` runs it, test-fast not
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WAIT_MS = 120_000  # bounds against hangs, not speed checks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_checkpoint) -> str:
    """`deepfake-detect serve` with the tiny model (8 frames, eager torch) on a free port; its URL."""
    port = free_port()
    folder = tmp_path_factory.mktemp("ui_server")
    env = dict(
        os.environ,
        PORT=str(port),
        HOST="127.0.0.1",
        MODEL_PATH=str(tiny_checkpoint),
        DATA_DIR=str(folder / "data"),
        FRAMES_PER_VIDEO="8",
        RUNTIME="torch",
        WARMUP="false",
        JOB_POLL_S="0.1",
        MAX_UPLOAD_MB="5",
    )
    log = folder / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "deepfake_detect.cli", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Tab:
    """A page that records what a person would not see: script errors, requests to other sites."""

    def __init__(self, browser, base: str, width: int = 1100):
        self.context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
        self.errors: list[str] = []
        self.elsewhere: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.base = base

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith("data:"):
            route.continue_()
        else:
            self.elsewhere.append(url)
            route.abort()

    def close(self) -> None:
        assert not self.errors, self.errors
        assert not self.elsewhere, f"requests to other sites: {self.elsewhere}"
        self.context.close()


@pytest.fixture
def tab(browser, server):
    opened = Tab(browser, server)
    yield opened
    opened.close()


def drop(page, path: Path) -> None:
    """Drop a file on the drop zone, as a person dragging it from their desktop would."""
    data = base64.b64encode(path.read_bytes()).decode()
    transfer = page.evaluate_handle(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: "video/mp4"}));
            return transfer;
        }""",
        [data, path.name],
    )
    page.dispatch_event("#upload", "drop", {"dataTransfer": transfer})


def loaded(page, selector: str) -> None:
    page.wait_for_function(
        "s => { const all = Array.from(document.querySelectorAll(s));"
        " return all.length > 0 && all.every(i => i.complete && i.naturalWidth > 0); }",
        arg=selector,
    )


@pytest.fixture(scope="module")
def analysed(browser, server, video_two_faces) -> dict:
    """The two-face clip dropped on the page once for the module: its job, as the API returns it."""
    tab = Tab(browser, server)
    tab.page.goto(f"{server}/ui")
    drop(tab.page, video_two_faces)
    tab.page.wait_for_url("**/ui/jobs/*")
    tab.page.wait_for_selector(".verdict h2")
    job_id = tab.page.url.rsplit("/", 1)[-1]
    tab.close()
    return httpx.get(f"{server}/jobs/{job_id}").json()


def test_dropped_clip_shows_verdict_faces_timeline_and_heatmap(tab, analysed, tmp_path):
    page, report = tab.page, analysed["result"]
    page.goto(f"{tab.base}/ui/jobs/{analysed['id']}")
    assert report["prediction"] in page.inner_text(".verdict h2")
    assert f"P(fake) = {report['fake_probability']:.2f}" in page.inner_text(".verdict .sentence")
    assert page.locator("article.face").count() == len(report["faces"]) == 2
    points = sum(len(face["observations"]) for face in report["faces"])
    assert page.locator(".timeline .pt").count() == points
    loaded(page, "img.thumb")
    loaded(page, ".explanation .heat img")  # the deciding face's heatmaps load by themselves
    page.locator(".timeline .series").last.locator(".pt").first.click()
    loaded(page, "#frame-crop")
    assert "P(fake)" in page.inner_text("#frame-caption")
    page.wait_for_function("document.querySelector('#video').readyState >= 1")
    page.wait_for_function("document.querySelectorAll('#boxes rect').length > 0")  # boxes over the video
    shot = tmp_path / "result.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_explanations_on_demand_and_keyboard(tab, analysed):
    page = tab.page
    page.goto(f"{tab.base}/ui/jobs/{analysed['id']}")
    other = page.locator("button.explain:not([data-auto])").first
    other.click()
    assert other.get_attribute("aria-expanded") == "true"
    loaded(page, f"#{other.get_attribute('aria-controls')} .heat img")
    page.focus(".timeline .pt[tabindex='0']")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    loaded(page, "#frame-crop")
    assert "frame" in page.inner_text("#frame-caption")


def test_a_text_file_gets_an_error_in_words(tab, text_as_mp4):
    page = tab.page
    page.goto(f"{tab.base}/ui")
    page.set_input_files("#files", str(text_as_mp4))
    alert = page.locator("[role=alert]", has_text="not a video the service can read")
    alert.wait_for()
    assert "Try an MP4" in alert.inner_text()


def test_several_files_each_become_a_job_with_progress(tab, video_short, text_as_mp4):
    page = tab.page
    page.goto(f"{tab.base}/ui")
    page.set_input_files("#files", [str(video_short), str(text_as_mp4)])
    rows = page.locator("#queue li")
    rows.first.wait_for()
    assert rows.count() == 2 and page.url.endswith("/ui")  # several files: the page stays
    done = page.locator("#queue li", has_text="short.mp4").locator("a", has_text="Done:")
    done.wait_for()
    page.locator("#queue li", has_text="text.mp4").locator("[role=alert]", has_text="not a video").wait_for()
    done.click()
    page.wait_for_selector(".verdict h2")


def test_history_lists_the_job_and_reopens_it(tab, analysed):
    page = tab.page
    page.goto(f"{tab.base}/ui/history")
    link = page.locator(f"a[href='/ui/jobs/{analysed['id']}']")
    assert link.inner_text() == "two_faces.mp4"
    page.select_option("#verdict", analysed["prediction"])
    page.click("button[type=submit]")
    link.click()
    page.wait_for_selector(".verdict h2")
    assert page.url.endswith(f"/ui/jobs/{analysed['id']}")


def test_report_downloads_and_prints(tab, analysed, tmp_path):
    page = tab.page
    page.goto(f"{tab.base}/ui/jobs/{analysed['id']}")
    with page.expect_download() as download:
        page.click("text=Download the report (JSON)")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    body = json.loads(saved.read_text())
    assert body["job"]["id"] == analysed["id"] and body["job"]["result"] == analysed["result"]
    page.click("text=Printable report")
    page.wait_for_selector("h1:has-text('Deepfake analysis report')")
    loaded(page, ".report img")
    assert page.locator(".report img").count() == 4  # thumbnail + heatmap per face


def test_api_docs_render_without_other_sites(tab):
    """/docs draws the API from files the service serves: nothing from a CDN (Tab fails on it)."""
    page = tab.page
    page.goto(f"{tab.base}/docs")
    page.wait_for_selector(".opblock-summary-path:has-text('/predict/batch')")
    assert page.locator(".opblock").count() >= 10


def test_phone_width(browser, server, analysed):
    tab = Tab(browser, server, width=390)
    for path in ("/ui", f"/ui/jobs/{analysed['id']}", "/ui/history"):
        tab.page.goto(server + path)
        overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
    tab.close()
