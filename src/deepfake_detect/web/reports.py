"""The printable report's pictures and the model card page's text."""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt

from ..api.deps import EvidenceDep, JobsDep, ServiceDep
from ..evidence import AnalysedVideo
from ..evidence.images import data_url
from ..evidence.service import representative
from ..evidence.views import FrameExplanation
from ..inference.bundled import bundled_model_path
from ..jobs.schema import Job
from ..pipeline import Detector
from ..report import VideoReport


@dataclass(frozen=True)
class FaceImages:
    thumbnail: str  # PNG data URL
    explanation: FrameExplanation | None  # the most suspicious frame's heatmap, when the model matches


async def report_images(
    jobs: JobsDep, service: ServiceDep, evidence: EvidenceDep, job: Job, report: VideoReport
) -> tuple[dict[int, FaceImages], str | None]:
    """{track_id: FaceImages} for the printable report, and a note when some could not be made."""
    path = jobs.uploads.path(job.id)
    if not report.faces:
        return {}, None
    if not job.keep_upload or not path.is_file():
        return {}, "The video was not kept with this analysis, so the report has no face pictures."
    if service.detector is None:
        return {}, "No model is loaded, so the report has no face pictures."
    video = AnalysedVideo(job.id, report, path)
    explain = service.detector.model_id == report.model_id

    def build(detector: Detector) -> dict[int, FaceImages]:
        images = {}
        for face in report.faces:
            thumb = evidence.crop(video, detector, face.track_id, representative(face).frame_index)
            heat = evidence.explain(video, detector, face.track_id, top=1).frames[0] if explain else None
            images[face.track_id] = FaceImages(data_url(thumb), heat)
        return images

    note = None if explain else f"The heatmaps need {report.model_id}, which this server no longer serves."
    return await service.run(build), note


_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


def _card_text(detector: Detector) -> str | None:
    """The bundled model's MODEL_CARD.md, when that model is the one served."""
    bundled = bundled_model_path()
    if bundled is None or detector.loaded.path.resolve() != bundled.resolve():
        return None
    card = bundled.with_name("MODEL_CARD.md")
    return card.read_text(encoding="utf-8") if card.is_file() else None


def model_card_html(detector: Detector) -> str | None:
    """The model card as HTML (raw HTML in it is escaped)."""
    text = _card_text(detector)
    return _markdown.render(text) if text else None


def known_limits_html(detector: Detector | None) -> str | None:
    """The card's "Known limits" paragraph and its list, as HTML, for the printable report."""
    text = _card_text(detector) if detector else None
    if not text or "**Known limits" not in text:
        return None
    lines = text[text.index("**Known limits") :].splitlines()
    section = [lines[0]]
    for line in lines[1:]:
        if line and not line.startswith(("- ", "  ")):
            break
        section.append(line)
    return _markdown.render("\n".join(section))
