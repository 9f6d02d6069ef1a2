"""Find labelled sources in data folders (the split rules are in `splits.py`).

Six layouts are recognised (``layout="auto"`` picks by what the folder holds):

- ``dfdc``: folders (``dfdc_train_part_N/``, or DATA itself) each with a ``metadata.json`` mapping a
  file name to ``{"label": "REAL"|"FAKE", "original": ..., "split": ...}``.
- ``crops``: a folder of face crops with a ``labels.csv`` (``file,label[,original]``), as the Kaggle
  "deepfake-faces" DFDC set: a fake is grouped with its original, and the training split then groups
  every crop of one person (`splits.identity_groups`): DFDC filmed each actor many times.
- ``named``: images or videos whose names start with ``Real`` / ``Fake`` (``dev/frames/<dataset>/Fake1.png``).
- ``realfake``: ``real/`` and ``fake/`` subfolders holding videos and/or frame-sequence folders
  (one folder of images per clip, as in VidTIMIT / DeepfakeTIMIT ``real/<speaker>/<sentence>/NNN.jpg``).
- ``photos``: any other folder: every photo, video and frame folder (numbered images) in it is a REAL
  source; clips of one person share a group (``person_of``: MEAD actor, HDTF speaker, clip stem).

A source's *group* is what must never straddle the split: a DFDC fake is grouped with its original,
a clip nested under ``real/<person>/`` or ``fake/<person>/`` with that person (TIMIT: the speaker),
a top-level clip with its file stem, and a photo is a group of its own.

>>> sources = discover("data/dfdc")  # doctest: +SKIP
>>> len(sources)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, read_image_rgb

log = logging.getLogger(__name__)

LAYOUTS = ("auto", "dfdc", "crops", "named", "realfake", "photos")


@dataclass(frozen=True)
class Source:
    """One labelled item: a video file, a folder of frames (one clip), or a still photo."""

    path: str  # absolute path
    kind: str  # "video", "frames" or "image"
    label: int  # 1 = FAKE, 0 = REAL
    group: str  # split unit (see module docstring)
    origin: str  # source folder for per-folder metrics, e.g. "dfdc_train_part_0" or "timit/fake"
    split: str | None = None  # from DFDC metadata, if any
    original: str | None = None  # DFDC: the real video a fake was made from
    by_identity: bool = False  # group with every other source of the same person (`identity_groups`)
    # Frames pass through the first (w, h) and back up to the second (`match_frame_sizes`); None: as read.
    frame_sizes: tuple[tuple[int, int], tuple[int, int]] | None = None

    @property
    def key(self) -> str:
        return self.path


def _is_image(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES


def _is_video(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES


def detect_layout(root: Path) -> str:
    if (root / "metadata.json").is_file() or any(root.glob("*/metadata.json")):
        return "dfdc"
    if (root / "labels.csv").is_file() and "file" in (root / "labels.csv").open().readline().strip().split(
        ","
    ):
        return "crops"
    if (root / "real").is_dir() or (root / "fake").is_dir():
        return "realfake"
    if any(_named_label(p) is not None for p in root.rglob("*") if _is_image(p) or _is_video(p)):
        return "named"
    return "photos"


def discover(root: str | Path, layout: str = "auto") -> list[Source]:
    """All labelled sources under `root`, sorted by path. Raises ValueError for an empty/unknown folder."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    layout = detect_layout(root) if layout == "auto" else layout
    if layout == "dfdc":
        sources = _dfdc(root)
    elif layout == "realfake":
        sources = _realfake(root)
    elif layout == "photos":
        sources = _photos(root)
    elif layout == "crops":
        sources = _crops(root)
    elif layout == "named":
        sources = _named(root)
    else:
        raise ValueError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    if not sources:
        raise ValueError(f"no labelled videos, frame folders or photos found in {root} (layout {layout})")
    return sorted(sources, key=lambda s: s.path)


def _label(value: str) -> int:
    value = str(value).upper()
    if value not in ("REAL", "FAKE"):
        raise ValueError(f"label must be REAL or FAKE, not {value!r}")
    return int(value == "FAKE")


def _dfdc(root: Path) -> list[Source]:
    out = []
    for meta_path in sorted([root / "metadata.json", *root.glob("*/metadata.json")]):
        if not meta_path.is_file():
            continue
        folder = meta_path.parent
        origin = folder.name
        for name, entry in json.loads(meta_path.read_text()).items():
            path = folder / name
            if not path.is_file():
                log.warning("%s lists %s, which is missing; skipped", meta_path, name)
                continue
            original = entry.get("original") or None
            # DFDC file names are unique across parts, so the original's stem names the group.
            group = "dfdc:" + Path(original if original and entry["label"] == "FAKE" else name).stem
            out.append(
                Source(
                    str(path), "video", _label(entry["label"]), group, origin, entry.get("split"), original
                )
            )
    return out


def _frame_folders(top: Path) -> list[Path]:
    """Folders below `top` that directly hold images (one clip each)."""
    return sorted(d for d in [top, *top.rglob("*")] if d.is_dir() and any(_is_image(f) for f in d.iterdir()))


def _realfake(root: Path) -> list[Source]:
    out = []
    for name, label in (("real", 0), ("fake", 1)):
        top = root / name
        if not top.is_dir():
            continue
        origin = f"{root.name}/{name}"
        items = [(p, "video") for p in sorted(top.rglob("*")) if _is_video(p)]
        items += [(d, "frames") for d in _frame_folders(top)]
        for path, kind in items:
            rel = path.relative_to(top).parts
            # Nested under a person's folder (TIMIT: real/<speaker>/<sentence>): that person is the group,
            # so every clip of a speaker, real or fake, lands on one side. Top-level clips: the file stem.
            group = rel[0] if len(rel) > 1 else Path(rel[0]).stem if rel else root.name
            out.append(Source(str(path), kind, label, f"{root.name}:{group}", origin))
    return out


def _is_clip_folder(d: Path) -> bool:
    """A folder of >= 8 images named by zero-padded frame numbers (``000324.jpg``) is one clip's frames
    (VoxCeleb-style), not a folder of photos (``1.jpg``, ``2.jpg``: the Ultra-Light detector's samples)."""
    images = [f for f in d.iterdir() if _is_image(f)]
    widths = {len(f.stem) for f in images}
    return (
        len(images) >= 8 and all(f.stem.isdigit() for f in images) and len(widths) == 1 and widths.pop() >= 3
    )


def person_of(path: Path) -> str:
    """Who a real clip shows, from its name: MEAD actors (``M030_front_angry_...``), HDTF speakers
    (``WDA_KatieHill_000``), else the stem without a trailing take number."""
    stem = path.stem
    if re.match(r"^[MW]\d{3}_", stem):
        return stem[:4]
    return re.sub(r"_\d+$", "", stem)


def _photos(root: Path) -> list[Source]:
    out = []
    clip_folders = [d for d in _frame_folders(root) if _is_clip_folder(d)]
    for path in sorted(root.rglob("*")):
        in_clip = any(d in path.parents for d in clip_folders)
        rel = path.relative_to(root).parts
        origin = f"{root.name}/{rel[0]}" if len(rel) > 1 else root.name
        if _is_image(path) and not in_clip:
            out.append(Source(str(path), "image", 0, f"photo:{path}", origin))
        elif _is_video(path) or path in clip_folders:
            kind = "video" if _is_video(path) else "frames"
            group = f"{root.name}:{origin}:{person_of(path)}"
            out.append(Source(str(path), kind, 0, group, origin))
    return out


def _crops(root: Path) -> list[Source]:
    out = []
    with open(root / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            path = root / row["file"]
            if not path.is_file():
                log.warning("%s lists %s, which is missing; skipped", root / "labels.csv", row["file"])
                continue
            original = row.get("original") or path.stem
            origin = f"{root.name}/{path.parent.name}"
            out.append(
                Source(
                    str(path),
                    "image",
                    _label(row["label"]),
                    f"{root.name}:{original}",
                    origin,
                    original=original,
                    by_identity=True,
                )
            )
    return out


def _named_label(path: Path) -> int | None:
    name = path.name.lower()
    return 0 if name.startswith("real") else 1 if name.startswith("fake") else None


def _named(root: Path) -> list[Source]:
    out = []
    for path in sorted(root.rglob("*")):
        label = _named_label(path)
        if label is None or not (_is_image(path) or _is_video(path)):
            continue
        parent = path.parent.relative_to(root)
        origin = f"{root.name}/{parent}" if parent.parts else root.name
        kind = "video" if _is_video(path) else "image"
        out.append(Source(str(path), kind, label, f"named:{path}", origin))
    return out


def _first_frame_size(side: Path) -> tuple[int, int] | None:
    """(w, h) of the first image of the first frame folder under `side`, or None without one."""
    folders = _frame_folders(side) if side.is_dir() else []
    if not folders:
        return None
    first = min(f for f in folders[0].iterdir() if _is_image(f))
    h, w = read_image_rgb(first).shape[:2]
    return w, h


def match_frame_sizes(sources: list[Source]) -> list[Source]:
    """`sources`, with `frame_sizes` set on the frame folders of every ``real/`` + ``fake/`` folder whose two
    sides hold frames of different sizes (`prepare --match-frame-sizes`).

    Why: DeepfakeTIMIT's fakes are its 512x384 frames squeezed to 299x299, VidTIMIT's reals are not, so a
    face cut from a fake is 0.58x as wide and 0.78x as tall in pixels as the same speaker's real face, and
    softer: a model can read the label off the resolution. `cache.load_frames` sends every frame of both
    sides through the smaller size and back up to the larger one, so both have the same aspect, pixel size
    and resampling history. What is left between them is the generator's own (its 64 px faces)."""
    plans: dict[Path, tuple[tuple[int, int], tuple[int, int]] | None] = {}
    out = []
    for s in sources:
        path = Path(s.path)
        top, _, side = s.origin.partition("/")
        root = next((p.parent for p in path.parents if p.name == side and p.parent.name == top), None)
        if s.kind != "frames" or side not in ("real", "fake") or root is None:
            out.append(s)
            continue
        if root not in plans:
            real, fake = (_first_frame_size(root / name) for name in ("real", "fake"))
            plans[root] = None
            if real and fake and real != fake:
                small, large = sorted((real, fake), key=lambda wh: wh[0] * wh[1])
                plans[root] = (small, large)
            log.info("%s: real frames %s, fake frames %s: through %s", root, real, fake, plans[root])
        out.append(dataclasses.replace(s, frame_sizes=plans[root]) if plans[root] else s)
    return out


def discover_all(roots: Sequence[str | Path], layout: str = "auto") -> list[Source]:
    sources: dict[str, Source] = {}
    for root in roots:
        for s in discover(root, layout):
            sources[s.key] = s
    return sorted(sources.values(), key=lambda s: s.path)


def describe(sources: list[Source]) -> dict:
    """Counts for logs and the training summary."""
    n_fake = sum(s.label for s in sources)
    return {
        "sources": len(sources),
        "fake": n_fake,
        "real": len(sources) - n_fake,
        "groups": len({s.group for s in sources}),
        "kinds": sorted({s.kind for s in sources}),
    }
