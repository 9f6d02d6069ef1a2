"""Drop a video on the web page (/ui) of a running server and time it to the verdict; write the page's
screenshots (docs/ui.md). Drives Debian's Chromium through Playwright, with every request to another
site aborted and counted (the page must need none).

    make serve                     # or: deepfake-detect serve, in another terminal
    nice -n 10 .venv/bin/python benchmarks/ui_drop_to_verdict.py http://localhost:8000 \\
        ../shared/data/videos/real/facenet_pytorch_video_1080p.mp4 --shots docs/ui --repeat 3

Times are from the drop event to: the job accepted (upload done, result page opened), the verdict on
the page, and the first heatmap loaded. Screenshots are reduced to 256 colours to keep them small.
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def drop(page, path: Path) -> None:
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


def shoot(page, path: Path, full_page: bool = True) -> None:
    page.screenshot(path=str(path), full_page=full_page)
    Image.open(path).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"  {path} ({path.stat().st_size / 1024:.0f} kB)")


def run(base: str, video: Path, shots: Path | None, repeat: int) -> list[dict]:
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for attempt in range(repeat):
            context = browser.new_context(viewport={"width": 1100, "height": 900})
            elsewhere: list[str] = []

            def route(r, elsewhere=elsewhere):
                url = r.request.url
                if url.startswith(base) or url.startswith("data:"):
                    r.continue_()
                else:
                    elsewhere.append(url)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.set_default_timeout(600_000)
            page.goto(f"{base}/ui")
            first = shots is not None and attempt == 0
            if first:
                shoot(page, shots / "upload.png", full_page=False)
            t0 = time.perf_counter()
            drop(page, video)
            page.wait_for_url("**/ui/jobs/*")
            accepted = time.perf_counter() - t0
            if first:
                page.wait_for_selector("#progress-section")
                page.wait_for_timeout(1500)
                shoot(page, shots / "progress.png", full_page=False)
            page.wait_for_selector(".verdict h2")
            verdict = time.perf_counter() - t0
            page.wait_for_function(
                "Array.from(document.querySelectorAll('.explanation .heat img'))"
                ".some(i => i.complete && i.naturalWidth > 0)"
            )
            heatmap = time.perf_counter() - t0
            job_id = page.url.rsplit("/", 1)[-1]
            job = json.loads(page.evaluate(f"fetch('/jobs/{job_id}').then(r => r.text())"))
            row = {
                "accepted_s": round(accepted, 2),
                "verdict_s": round(verdict, 2),
                "heatmap_s": round(heatmap, 2),
                "analysis_s": job["result"]["timings"]["total_s"],
                "verdict": page.inner_text(".verdict h2").replace("\n", " "),
                "face_cards": page.locator("article.face").count(),
                "timeline_points": page.locator(".timeline .pt").count(),
                "requests_elsewhere": len(elsewhere),
            }
            print(json.dumps(row))
            results.append(row)
            if first:
                thumbs = "Array.from(document.querySelectorAll('img.thumb'))"
                page.wait_for_function(f"{thumbs}.every(i => i.complete && i.naturalWidth > 0)")
                page.locator(".timeline .series").last.locator(".pt").nth(8).click()
                page.wait_for_timeout(1000)
                shoot(page, shots / "result.png")
                page.set_viewport_size({"width": 390, "height": 844})
                page.evaluate("window.scrollTo(0, 0)")
                page.wait_for_timeout(300)
                shoot(page, shots / "result-phone.png", full_page=False)
                page.set_viewport_size({"width": 1100, "height": 900})
                page.goto(f"{base}/ui/history")
                shoot(page, shots / "history.png", full_page=False)
                page.goto(f"{base}/ui/jobs/{job_id}/report")
                shoot(page, shots / "report.png")
            context.close()
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("base", help="the server, e.g. http://localhost:8000")
    parser.add_argument("video", type=Path)
    parser.add_argument("--shots", type=Path, help="write the screenshots here")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    rows = run(args.base.rstrip("/"), args.video, args.shots, args.repeat)
    verdicts = sorted(r["verdict_s"] for r in rows)
    print(f"drop to verdict: median {verdicts[len(verdicts) // 2]:.1f} s over {len(rows)} run(s)")


if __name__ == "__main__":
    main()
