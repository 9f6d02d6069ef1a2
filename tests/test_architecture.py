"""The layering the code relies on: checked here so that it stays so (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "deepfake_detect"
MAX_LINES = 300


def _imports(path: Path) -> set[str]:
    """Absolute names of everything a module imports (relative imports resolved inside the package)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names |= {prefix} | {f"{prefix}.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "models").glob("*.py")), ids=lambda p: p.name)
def test_models_import_no_pipeline_stage(path: Path) -> None:
    """models/ holds the registry, architectures and checkpoint I/O: it knows no faces, media or API."""
    forbidden = ("faces", "media", "synthetic", "api", "inference", "pipeline", "training")
    bad = {n for n in _imports(path) for f in forbidden if n.startswith(f"deepfake_detect.{f}")}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_serving_does_not_need_test_media() -> None:
    """Warm-up and int8 calibration use the packaged sample face; scikit-image is a test dependency."""
    for path in PACKAGE.rglob("*.py"):
        if path.name == "synthetic.py" or "bench" in path.parts:
            continue
        names = _imports(path)
        assert not any(n.startswith(("skimage", "deepfake_detect.synthetic")) for n in names), path


def test_no_module_is_over_300_lines() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}


def test_ray_stays_optional() -> None:
    """Only scale/ imports Ray, and only the CLI imports scale/ (inside the `--ray` commands): the
    server, `scan` and training run where Ray is not installed (tests/scale/test_optional.py)."""
    for path in PACKAGE.rglob("*.py"):
        if "scale" in path.relative_to(PACKAGE).parts:
            continue
        names = _imports(path)
        assert not any(n == "ray" or n.startswith("ray.") for n in names), path
        if path.name != "cli.py":
            assert not any(n.startswith("deepfake_detect.scale") for n in names), path
