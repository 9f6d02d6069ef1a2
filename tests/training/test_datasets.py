"""Dataset readers for the four layouts, and the split rules that keep train and val apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepfake_detect.training.datasets import detect_layout, discover, discover_all
from deepfake_detect.training.splits import split_sources


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")  # discovery never opens files
    return path


def _dfdc(root: Path, n_real: int = 6, fakes_per_real: int = 2) -> Path:
    """Two parts; each original's fakes sit in the *other* part, as can happen in DFDC."""
    metas: dict[str, dict] = {"part_0": {}, "part_1": {}}
    for i in range(n_real):
        part = f"part_{i % 2}"
        metas[part][f"r{i}.mp4"] = {"label": "REAL", "original": None, "split": "train"}
        for k in range(fakes_per_real):
            other = f"part_{(i + 1) % 2}"
            metas[other][f"f{i}_{k}.mp4"] = {"label": "FAKE", "original": f"r{i}.mp4", "split": "train"}
    for part, meta in metas.items():
        for name in meta:
            _touch(root / part / name)
        (root / part / "metadata.json").write_text(json.dumps(meta))
    return root


def _timit(root: Path, speakers: int = 6, sentences: int = 2) -> Path:
    for label in ("real", "fake"):
        for s in range(speakers):
            for k in range(sentences):
                for f in range(3):
                    _touch(root / label / f"spk{s}" / f"sent{k}" / f"{f:03d}.jpg")
    return root


def test_dfdc_layout_reads_labels_originals_and_groups(tmp_path: Path) -> None:
    root = _dfdc(tmp_path / "dfdc")
    assert detect_layout(root) == "dfdc"
    sources = discover(root)
    assert len(sources) == 18 and sum(s.label for s in sources) == 12
    fake = next(s for s in sources if Path(s.path).name == "f3_0.mp4")
    assert fake.kind == "video" and fake.original == "r3.mp4" and fake.origin == "part_0"
    real = next(s for s in sources if Path(s.path).name == "r3.mp4")
    assert fake.group == real.group


def test_dfdc_missing_file_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "d"
    _touch(root / "a.mp4")
    meta = {"a.mp4": {"label": "REAL"}, "gone.mp4": {"label": "FAKE"}}
    (root / "metadata.json").write_text(json.dumps(meta))
    assert [Path(s.path).name for s in discover(root)] == ["a.mp4"]


@pytest.mark.parametrize("seed", range(8))
def test_fake_goes_where_its_original_goes(tmp_path: Path, seed: int) -> None:
    sources = discover(_dfdc(tmp_path / "dfdc"))
    train, val = split_sources(sources, val_fraction=0.3, seed=seed)
    assert train and val and len(train) + len(val) == len(sources)
    side = {Path(s.path).name: "val" if s in val else "train" for s in sources}
    for s in sources:
        if s.original:
            assert side[Path(s.path).name] == side[s.original]
    assert {s.group for s in train}.isdisjoint({s.group for s in val})
    assert {s.label for s in val} == {0, 1}  # both classes reach val


def test_split_is_deterministic_and_seed_dependent(tmp_path: Path) -> None:
    sources = discover(_dfdc(tmp_path / "dfdc", n_real=12))
    a = split_sources(sources, 0.25, seed=1)[1]
    assert a == split_sources(sources, 0.25, seed=1)[1]
    assert any(split_sources(sources, 0.25, seed=s)[1] != a for s in range(2, 6))


def test_metadata_val_split_pins_the_whole_group(tmp_path: Path) -> None:
    root = _dfdc(tmp_path / "dfdc")
    meta_path = root / "part_1" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["r1.mp4"]["split"] = "val"  # its fakes (in part_0) still say "train"
    meta_path.write_text(json.dumps(meta))
    train, val = split_sources(discover(root), val_fraction=0.5, seed=0)
    assert sorted(Path(s.path).name for s in val) == ["f1_0.mp4", "f1_1.mp4", "r1.mp4"]
    assert len(train) == 15


def test_frame_sequences_split_by_speaker(tmp_path: Path) -> None:
    root = _timit(tmp_path / "timit")
    assert detect_layout(root) == "realfake"
    sources = discover(root)
    assert len(sources) == 24 and {s.kind for s in sources} == {"frames"}
    assert {s.origin for s in sources} == {"timit/real", "timit/fake"}
    for seed in range(5):
        train, val = split_sources(sources, 0.3, seed)
        speakers = [{Path(s.path).parent.name for s in side} for side in (train, val)]
        assert speakers[0] and speakers[1] and speakers[0].isdisjoint(speakers[1])


def test_plain_real_fake_videos(tmp_path: Path) -> None:
    root = tmp_path / "rf"
    for name in ("real/a.mp4", "real/b.MOV", "fake/c.mp4", "fake/notes.txt"):
        _touch(root / name)
    sources = discover(root)
    assert [(Path(s.path).name, s.label, s.kind) for s in sources] == [
        ("c.mp4", 1, "video"),
        ("a.mp4", 0, "video"),
        ("b.MOV", 0, "video"),
    ]
    assert len({s.group for s in sources}) == 3  # top-level clips: one group per file stem


def test_photos_are_real_and_each_its_own_group(tmp_path: Path) -> None:
    root = tmp_path / "faces"
    for name in ("set_a/1.jpg", "set_a/2.png", "set_b/x/3.jpeg", "readme.md"):
        _touch(root / name)
    sources = discover(root)
    assert detect_layout(root) == "photos" and len(sources) == 3
    assert {s.label for s in sources} == {0} and {s.kind for s in sources} == {"image"}
    assert len({s.group for s in sources}) == 3
    assert {s.origin for s in sources} == {"faces/set_a", "faces/set_b"}


def test_given_val_set_is_respected_and_leaks_removed(tmp_path: Path) -> None:
    train_root = _timit(tmp_path / "a", speakers=4)
    val_root = _timit(tmp_path / "b" / "a", speakers=2)  # same root name: speakers spk0/spk1 overlap
    val = discover(val_root)
    train, got_val = split_sources(discover(train_root), val_sources=val)
    assert got_val == val
    assert {s.group for s in train}.isdisjoint({s.group for s in val})
    assert {Path(s.path).parent.name for s in train} == {"spk2", "spk3"}


def test_discover_all_merges_and_rejects_empty(tmp_path: Path) -> None:
    a = _timit(tmp_path / "a", speakers=1, sentences=1)
    b = _dfdc(tmp_path / "b", n_real=2, fakes_per_real=1)
    assert len(discover_all([a, b, a])) == 2 + 4
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no labelled"):
        discover(tmp_path / "empty")


def test_val_match_holds_out_the_matching_group_with_its_fakes(tmp_path: Path) -> None:
    sources = discover(_dfdc(tmp_path / "dfdc", n_real=12))
    original = next(s for s in sources if s.label == 0)
    train, val = split_sources(sources, 0.25, seed=0, val_match=[f"*/{Path(original.path).name}"])
    held = [s for s in sources if s.group == original.group]
    assert len(held) >= 2 and all(s in val for s in held)  # the original and every fake made from it
    assert {s.group for s in train}.isdisjoint({s.group for s in val})
    assert len(val) > len(held)  # the fraction still applies to the rest


def test_crops_layout_reads_labels_csv_and_keeps_fakes_with_originals(tmp_path: Path) -> None:
    root = tmp_path / "dfdc_faces"
    rows = ["file,label,original,face_box", "real/a.jpg,REAL,a,100x100", "fake/b.jpg,FAKE,a,100x100"]
    rows += ["real/c.jpg,REAL,c,90x90", "fake/missing.jpg,FAKE,c,90x90"]
    for row in rows[1:4]:
        _touch(root / row.split(",")[0])
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    sources = discover(root)
    assert detect_layout(root) == "crops" and len(sources) == 3  # the missing file is skipped
    by_name = {Path(s.path).name: s for s in sources}
    assert by_name["a.jpg"].group == by_name["b.jpg"].group != by_name["c.jpg"].group
    assert by_name["b.jpg"].label == 1 and by_name["b.jpg"].origin == "dfdc_faces/fake"
    assert all(s.by_identity for s in sources)


def test_named_layout_takes_labels_from_file_names(tmp_path: Path) -> None:
    root = tmp_path / "frames"
    for name in ("DFDC/Real1.png", "DFDC/Fake1.png", "Face2Face/Fake1.png", "notes.txt"):
        _touch(root / name)
    sources = discover(root)
    assert detect_layout(root) == "named"
    assert sorted((s.origin, s.label) for s in sources) == [
        ("frames/DFDC", 0),
        ("frames/DFDC", 1),
        ("frames/Face2Face", 1),
    ]


def test_real_clips_and_frame_folders_group_by_person(tmp_path: Path) -> None:
    root = tmp_path / "talking_heads"
    for name in (
        "mead/M030_front_angry_001.mp4",
        "mead/M030_front_sad_001.mp4",
        "hdtf/WDA_KatieHill_000.mp4",
    ):
        _touch(root / name)
    for f in range(8):
        _touch(root / "vox" / "id1" / f"{f:06d}.jpg")  # a clip as numbered frames
    for f in range(1, 10):
        _touch(root / "photos" / f"{f}.jpg")  # numbered photos, not a clip
    sources = discover(root)
    kinds = sorted(s.kind for s in sources)
    assert kinds == ["frames"] + ["image"] * 9 + ["video"] * 3
    mead = {s.group for s in sources if "M030" in s.path}
    assert len(mead) == 1 and mead.pop().endswith(":M030")


def test_identity_groups_merge_every_source_of_one_person(tmp_path: Path) -> None:
    import numpy as np

    from deepfake_detect.training.datasets import Source
    from deepfake_detect.training.splits import identity_groups

    def src(name: str, label: int, group: str) -> Source:
        return Source(name, "image", label, group, "dfdc_faces/x", by_identity=True)

    sources = [src("r1", 0, "g1"), src("f1", 1, "g1"), src("r2", 0, "g2"), src("r3", 0, "g3")]
    same, other = np.ones(128, np.float32) * 0.1, np.zeros(128, np.float32)
    grouped = {
        s.path: s.group for s in identity_groups(sources, {"r1": same, "r2": same + 0.001, "r3": other})
    }
    assert grouped["r1"] == grouped["f1"] == grouped["r2"] != grouped["r3"]  # the fake follows its original
    train, val = split_sources(identity_groups(sources, {"r1": same, "r2": same, "r3": other}), 0.5, 0)
    assert {s.group for s in train}.isdisjoint({s.group for s in val})
