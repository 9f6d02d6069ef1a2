"""Find labelled sources in data folders, and split them into train/val without leaks.

Four layouts are recognised (``layout="auto"`` picks by what the folder holds):

- ``dfdc``: folders (``dfdc_train_part_N/``, or DATA itself) each with a ``metadata.json`` mapping a
  file name to ``{"label": "REAL"|"FAKE", "original": ..., "split": ...}``.
- ``realfake``: ``real/`` and ``fake/`` subfolders holding videos and/or frame-sequence folders
  (one folder of images per clip, as in VidTIMIT / DeepfakeTIMIT ``real/<speaker>/<sentence>/NNN.jpg``).
- ``photos``: any other folder of still images: every photo is a REAL source.

A source's *group* is what must never straddle the split: a DFDC fake is grouped with its original,
a clip nested under ``real/<person>/`` or ``fake/<person>/`` with that person (TIMIT: the speaker),
a top-level clip with its file stem, and a photo is a group of its own.

>>> sources = discover("data/dfdc")  # doctest: +SKIP
>>> train, val = split_sources(sources, val_fraction=0.2, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

log = logging.getLogger(__name__)

LAYOUTS = ("auto", "dfdc", "realfake", "photos")
VAL_SPLITS = {"val", "valid", "validation", "dev", "test"}  # metadata "split" values that pin a group to val


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
    if (root / "real").is_dir() or (root / "fake").is_dir():
        return "realfake"
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


def _photos(root: Path) -> list[Source]:
    out = []
    for path in sorted(root.rglob("*")):
        if _is_image(path):
            rel = path.relative_to(root).parts
            origin = f"{root.name}/{rel[0]}" if len(rel) > 1 else root.name
            out.append(Source(str(path), "image", 0, f"photo:{path}", origin))
    return out


def discover_all(roots: Sequence[str | Path], layout: str = "auto") -> list[Source]:
    sources: dict[str, Source] = {}
    for root in roots:
        for s in discover(root, layout):
            sources[s.key] = s
    return sorted(sources.values(), key=lambda s: s.path)


def _rank(group: str, seed: int) -> str:
    return hashlib.sha1(f"{seed}:{group}".encode()).hexdigest()


def split_sources(
    sources: list[Source],
    val_fraction: float = 0.2,
    seed: int = 0,
    val_sources: list[Source] | None = None,
    val_match: list[str] | None = None,
) -> tuple[list[Source], list[Source]]:
    """(train, val) with no group on both sides.

    - `val_sources` given (``--val DATA``): that is the validation set; training drops any source whose
      group also occurs in it (a fake whose original is a val video, a val speaker) and says so.
    - else groups pinned by DFDC metadata (``"split": "val"``/``"test"`` on any member) or holding a source
      whose path matches a `val_match` glob (``--val-match '*/clip.mp4'``) go to val, and of the rest
      a deterministic, seed-dependent choice of groups (by hash) does, taken separately
      from real-only, fake-only and mixed groups so both classes reach val when the data allows.
    """
    if val_sources is not None:
        val_keys = {s.key for s in val_sources}
        val_groups = {s.group for s in val_sources}
        train = [s for s in sources if s.key not in val_keys and s.group not in val_groups]
        dropped = len(sources) - len(train)
        if dropped:
            log.warning("dropped %d training sources that share a group with the --val set", dropped)
        return train, list(val_sources)
    groups: dict[str, list[Source]] = {}
    for s in sources:
        groups.setdefault(s.group, []).append(s)
    pinned = {
        g for g, members in groups.items() if any((m.split or "").lower() in VAL_SPLITS for m in members)
    }
    matched = {
        g
        for g, members in groups.items()
        if any(fnmatch.fnmatch(m.path, pattern) for m in members for pattern in val_match or ())
    }
    val_groups = pinned | matched
    if not pinned and val_fraction > 0:
        by_kind: dict[frozenset, list[str]] = {}
        for g, members in groups.items():
            by_kind.setdefault(frozenset(m.label for m in members), []).append(g)
        for names in by_kind.values():
            names = [g for g in names if g not in matched]
            names.sort(key=lambda g: _rank(g, seed))
            n_val = round(val_fraction * len(names))
            if len(names) >= 2:
                n_val = min(max(n_val, 1), len(names) - 1)  # both sides keep at least one group
            val_groups.update(names[:n_val])
    train = [s for s in sources if s.group not in val_groups]
    val = [s for s in sources if s.group in val_groups]
    return train, val


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
