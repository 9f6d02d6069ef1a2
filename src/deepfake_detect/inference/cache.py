"""Where the derived files of a checkpoint (ONNX graphs, int8 model, `meta.json` with checks and
validations) live: next to the checkpoint in `.deepfake_detect_cache/<sha256>/`, else the user cache."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..models.checkpoint import LoadedModel

CACHE_FOLDER = ".deepfake_detect_cache"
CACHE_VERSION = 3  # bump when the derived files change; old caches are then re-derived (3: pads in the convs)


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
        return True
    except OSError:
        return False


def user_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "deepfake_detect"


def cache_dir_for(loaded: LoadedModel, root: str | os.PathLike | None = None) -> Path:
    """Where derived files for this checkpoint live: `root` if given, else next to the checkpoint, else
    the user cache. One sub-folder per checkpoint sha256, so a changed file is never served stale."""
    candidates = [Path(root)] if root else [loaded.path.parent / CACHE_FOLDER, user_cache_root()]
    for base in candidates:
        folder = base / loaded.sha256
        if _writable(folder):
            return folder
    raise OSError(f"no writable cache folder among {', '.join(str(c) for c in candidates)}")


class RuntimeCache:
    """Derived files and `meta.json` (checks and validations) of one checkpoint."""

    def __init__(self, folder: Path, loaded: LoadedModel):
        self.folder = folder
        self.loaded = loaded

    @property
    def meta_path(self) -> Path:
        return self.folder / "meta.json"

    def meta(self) -> dict:
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            meta = {}
        if meta.get("version") != CACHE_VERSION or meta.get("sha256") != self.loaded.sha256:
            meta = {"version": CACHE_VERSION, "sha256": self.loaded.sha256, "arch": self.loaded.config.arch}
        meta.setdefault("derived", {})
        meta.setdefault("validated", {})
        return meta

    def update(self, section: str, key: str, value: dict) -> None:
        meta = self.meta()
        meta[section][key] = value
        atomic_write(self.meta_path, json.dumps(meta, indent=2).encode())

    def path(self, backend: str) -> Path:
        return self.folder / {"onnx": "cnn-fp32.onnx", "onnx-int8": "cnn-int8.onnx"}[backend]


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
