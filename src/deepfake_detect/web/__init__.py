"""The web page for people (/ui): upload, progress, verdict, evidence, history, printable report.

Server-rendered Jinja2 templates and a little plain JavaScript, all shipped in the package (no CDN, no
build step); it runs on the jobs API (`api/routes/jobs.py`) and the evidence routes
(`api/routes/evidence.py`) like any other client."""

from .routes import mount

__all__ = ["mount"]
