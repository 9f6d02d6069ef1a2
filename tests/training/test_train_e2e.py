"""End to end on a DFDC-layout folder of synthetic clips: train a tiny model, serve it, evaluate it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_detect import Detector, Settings, load_checkpoint
from deepfake_detect.cli import main
from deepfake_detect.models import create_model, save_checkpoint
from deepfake_detect.training.evaluate import evaluate, read_predictions
from deepfake_detect.training.recipe import TrainConfig, setup_run
from deepfake_detect.training.train import train

TINY = ["--arch", "mobilenetv3_lstm", "--input-size", "64", "--frames", "6", "--batch-size", "4"]
FAST = ["--workers", "1", "--threads", "1", "--bf16", "off", "--no-progress", "--val-fraction", "0.34"]
pytestmark = pytest.mark.slow  # trains tiny models

METRIC_KEYS = {"video_auc", "frame_auc", "log_loss", "accuracy", "precision", "recall", "f1", "eer", "ap"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, dfdc_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("run")
    assert main(["train", str(dfdc_dir), "--out", str(out), "--epochs", "1", *TINY, *FAST]) == 0
    return out


def test_train_writes_checkpoints_logs_and_plots(run_dir: Path) -> None:
    for name in ("epoch_1.safetensors", "best.safetensors", "last.pt", "training_curves.png", "summary.json"):
        assert (run_dir / name).is_file(), name
    (row,) = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert row["epoch"] == 1 and row["train_loss"] > 0 and "val_auc" in row and "threshold" in row
    assert row["family_auc"] == {"dfdc_train_part_0": row["val_auc"]}  # one family: its AUC is the pooled one
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["data"]["train"]["sources"] == 4 and summary["data"]["val_set"] == {
        "sources": 2,
        "fake": 1,
        "real": 1,
        "groups": 1,
        "kinds": ["video"],
    }
    assert summary["recipe"]["arch"] == "mobilenetv3_lstm" and summary["threshold_rule"] == "eer"


def test_checkpoint_is_calibrated_and_the_server_runs_it(run_dir: Path, dfdc_dir: Path) -> None:
    loaded = load_checkpoint(run_dir / "best.safetensors")
    summary = json.loads((run_dir / "summary.json").read_text())
    config = loaded.config
    assert (config.arch, config.input_size, config.frames, config.crop_scale) == (
        "mobilenetv3_lstm",
        64,
        6,
        1.3,
    )
    assert config.threshold == summary["threshold"] and config.temperature == summary["temperature"]
    assert config.aggregation == summary["aggregation"]
    assert config.extra["calibration"]["threshold_rule"] == "eer"
    assert config.extra["training"]["best_epoch"] == 1  # the summary travels in the checkpoint (/info)
    report = Detector(loaded, Settings()).analyze(dfdc_dir / "dfdc_train_part_0" / "fake0.mp4")
    assert report.prediction in ("REAL", "FAKE") and 0 <= report.fake_probability <= 1
    assert report.threshold == config.threshold and report.aggregation == config.aggregation


def test_evaluate_writes_metrics_and_plots(run_dir: Path, dfdc_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    assert (
        main(["evaluate", str(dfdc_dir), "--model", str(run_dir / "best.safetensors"), "--out", str(out)])
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert METRIC_KEYS <= metrics.keys()
    assert metrics["n_videos"] == 6 and metrics["no_verdict"] == []
    assert set(metrics["per_source"]) == {"dfdc_train_part_0"}
    assert metrics["per_family"]["dfdc_train_part_0"]["auc"] == metrics["video_auc"]
    assert set(metrics["aggregations"]) == {"lstm", "mean_frame", "confident_frames"}
    for png in ("roc.png", "scores.png", "confusion_matrix.png", "frame_roc.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert not (out / "cache").exists()  # the training cache was reused
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 6
    labels, probs = read_predictions(out)  # what the benchmarks compare runs with
    assert labels.shape == probs.shape == (6,)
    assert labels.sum() == sum(metrics["confusion_matrix"][1]) and ((probs >= 0) & (probs <= 1)).all()


def test_evaluate_sbi_copies_pair_each_real_with_its_blend(run_dir: Path, dfdc_dir: Path, tmp_path) -> None:
    ckpt = run_dir / "best.safetensors"
    plain = evaluate([str(dfdc_dir)], ckpt, tmp_path / "a", workers=1, progress=False)
    metrics = evaluate([str(dfdc_dir)], ckpt, tmp_path / "b", workers=1, progress=False, with_sbi_copies=True)
    for key in ("video_auc", "log_loss", "n_videos"):  # the headline stays on the data as given
        assert metrics[key] == plain[key]
    sbi = metrics["sbi_copies"]
    assert sbi["n_real"] == plain["n_real"] and sbi["n_fake"] == plain["n_real"]  # one blend per real
    assert sbi["auc"] is not None


def test_evaluate_scores_videos_as_the_server_does(tmp_path: Path, dfdc_dir: Path, run_dir: Path) -> None:
    """An untrained model: evaluate's video logit (from the crop cache) is the server's raw_score."""
    model, config = create_model("resnet18_lstm", input_size=64, frames=6, aggregation="mean_frame")
    ckpt = save_checkpoint(model, config, tmp_path / "m.safetensors")
    evaluate([str(dfdc_dir)], ckpt, tmp_path / "eval", cache_dir=run_dir / "cache", workers=1, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "eval" / "predictions.jsonl").read_text().splitlines()]
    detector = Detector(load_checkpoint(ckpt), Settings())
    ours = np.array([r["logit"] for r in rows])
    server = np.array([detector.analyze(r["path"]).raw_score for r in rows])
    # Same frames, boxes and crops (byte-identical: tests/test_pipeline.py); what is left is ONNX Runtime
    # fp32 (serving) against eager PyTorch fp32 (evaluate) and the report's 4 decimals.
    assert np.abs(ours - server).max() < 1e-3


def test_evaluate_split_val_is_the_runs_validation_set(run_dir: Path, dfdc_dir: Path, tmp_path) -> None:
    val = json.loads((run_dir / "summary.json").read_text())["data"]["val_set"]["sources"]
    for name in ("epoch_1", "best"):  # every epoch's checkpoint records the split it was trained with
        kw = dict(split="val", workers=1, progress=False)
        metrics = evaluate([str(dfdc_dir)], run_dir / f"{name}.safetensors", tmp_path / name, **kw)
        assert metrics["n_videos"] == val == 2
    model, config = create_model("resnet18_lstm", input_size=64, frames=6)
    untrained = save_checkpoint(model, config, tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="does not record how it was trained"):
        evaluate([str(dfdc_dir)], untrained, tmp_path / "u", split="val", workers=1, progress=False)


def test_evaluate_counts_faceless_videos_as_half(tmp_path: Path, mixed_dir: Path, run_dir: Path) -> None:
    metrics = evaluate([str(mixed_dir)], run_dir / "best.safetensors", tmp_path, workers=1, progress=False)
    assert metrics["n_videos"] == 4 and metrics["n_no_verdict"] == 2
    assert sorted(Path(p).name for p in metrics["no_verdict"]) == ["broken.mp4", "noface.mp4"]


def test_resume_continues_the_run(run_dir: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(run_dir, tmp_path / "run")
    assert (
        main(["train", "--resume", str(copy / "last.pt"), "--epochs", "2", "--threads", "1", "--no-progress"])
        == 0
    )
    rows = [json.loads(line) for line in (copy / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and (copy / "epoch_2.safetensors").is_file()
    assert json.loads((copy / "summary.json").read_text())["epochs_run"] == 2


def test_resume_without_epochs_keeps_the_runs_schedule(run_dir: Path, dfdc_dir: Path, tmp_path: Path) -> None:
    """An interrupted run goes on with its own epoch count (the cosine schedule's length); a given count
    replaces it, and a new run without one trains 10."""
    copy = shutil.copytree(run_dir, tmp_path / "run")
    resumed = setup_run(TrainConfig(data=[], out="", resume=str(copy), progress=False))
    assert resumed.cfg.epochs == 1  # the fixture's run: --epochs 1
    longer = setup_run(TrainConfig(data=[], out="", resume=str(copy), epochs=4, progress=False))
    assert longer.cfg.epochs == 4
    step = resumed.scheduler.last_epoch + 1  # the next step: the cosine is laid out for the count
    assert longer.scheduler.lr_lambdas[0](step) > resumed.scheduler.lr_lambdas[0](step)
    assert setup_run(TrainConfig(**_tiny_config(run_dir, dfdc_dir, tmp_path / "new"))).cfg.epochs == 10


def _tiny_config(run_dir: Path, dfdc_dir: Path, out: Path) -> dict:
    """TrainConfig fields of a tiny run on the module's data and cache (for `setup_run` checks)."""
    common = dict(data=[str(dfdc_dir)], out=str(out), cache=str(run_dir / "cache"), progress=False)
    return common | dict(arch="mobilenetv3_lstm", input_size=64, val_fraction=0.34, prepare_workers=1)


def test_init_starts_from_a_checkpoints_weights(run_dir: Path, dfdc_dir: Path, tmp_path: Path) -> None:
    common = _tiny_config(run_dir, dfdc_dir, tmp_path)
    best = run_dir / "best.safetensors"
    run = setup_run(TrainConfig(**common, init=str(best)))
    trained = load_checkpoint(best).model.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in run.model.state_dict().items())
    assert run.recipe["init"] == str(best) and run.state["epoch"] == 0  # a new run, not a resume
    with pytest.raises(ValueError, match="is a mobilenetv3_lstm"):
        setup_run(TrainConfig(**(common | {"arch": "resnet18_lstm"}), init=str(best)))


def test_sbi_only_and_imbalance_options(run_dir: Path, dfdc_dir: Path, tmp_path: Path) -> None:
    common = _tiny_config(run_dir, dfdc_dir, tmp_path)
    run = setup_run(TrainConfig(**common, sbi_only=True))
    assert run.recipe["sbi"] and run.data_summary["train"]["fake"] == 0 and run.dataset.p_sbi == 0.5
    assert {s.label for s in run.val_sources} == {0, 1}  # val keeps the real fakes
    assert run.pos_weight is not None and float(run.pos_weight) == pytest.approx(1.0)
    run = setup_run(TrainConfig(**common, sbi_only=True, sbi_pairs=True, p_sbi=0.3))
    assert run.dataset.pairs and float(run.pos_weight) == pytest.approx(1.0)  # a real + its copy per draw
    with pytest.raises(ValueError, match="add --sbi-only"):
        setup_run(TrainConfig(**common, sbi_pairs=True))
    run = setup_run(TrainConfig(**common, oversample=False, pos_weight="none"))
    assert run.pos_weight is None and not run.recipe["sbi"] and not run.recipe["oversample"]
    run = setup_run(TrainConfig(**common, pos_weight="3"))
    assert float(run.pos_weight) == 3.0
    assert run.dataset.augment is not None and run.dataset.augment.downscale == (0.4, 0.9)
    run = setup_run(TrainConfig(**common, downscale=(0.2, 0.9)))  # --downscale 0.2 0.9
    assert run.dataset.augment is not None and run.dataset.augment.downscale == (0.2, 0.9)
    run = setup_run(TrainConfig(**common, p_jpeg=1.0, p_sharpen=0.5))  # --p-jpeg 1.0 --p-sharpen 0.5
    assert run.dataset.augment is not None and run.dataset.augment.p_jpeg == 1.0
    assert run.dataset.augment.p_sharpen == 0.5 and run.recipe["p_sharpen"] == 0.5


def test_time_budget_stops_gracefully(run_dir: Path, dfdc_dir: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(
        data=[str(dfdc_dir)],
        out=str(tmp_path),
        cache=str(run_dir / "cache"),
        arch="mobilenetv3_lstm",
        input_size=64,
        frames=6,
        batch_size=2,
        epochs=5,
        max_minutes=1e-4,
        val_fraction=0.34,
        bf16="off",
        progress=False,
        threads=1,
    )
    summary = train(cfg)
    assert summary["epochs_run"] == 1 and summary["stopped"].startswith("time budget")
    row = json.loads((tmp_path / "metrics.jsonl").read_text())
    assert row["batches"] == 1 and (tmp_path / "best.safetensors").is_file()  # a partial epoch, saved


def test_data_that_is_all_held_out_says_so(tmp_path: Path, dfdc_dir: Path, run_dir: Path) -> None:
    part = tmp_path / "all_test" / "dfdc_train_part_0"
    part.mkdir(parents=True)
    meta = json.loads((dfdc_dir / "dfdc_train_part_0" / "metadata.json").read_text())
    for name in meta:
        (part / name).symlink_to(dfdc_dir / "dfdc_train_part_0" / name)
    (part / "metadata.json").write_text(json.dumps({k: v | {"split": "test"} for k, v in meta.items()}))
    cfg = TrainConfig(data=[str(part.parent)], out=str(tmp_path / "out"), cache=str(run_dir / "cache"))
    with pytest.raises(ValueError, match='"split": "test"'):
        setup_run(dataclasses.replace(cfg, progress=False, prepare_workers=1))


def test_loader_workers_start_after_opencv_ran_threads(run_dir, dfdc_dir, tmp_path, monkeypatch) -> None:
    """Validation runs OpenCV's thread pool in the trainer; a loader worker forked after that hung for good
    (runs J and K of docs/training.md, after epoch 1). The timeout makes a hang fail here, not stall."""
    import cv2

    from deepfake_detect.training import run as run_module

    monkeypatch.setattr(run_module, "LOADER_TIMEOUT_S", 60.0)
    run = setup_run(TrainConfig(**_tiny_config(run_dir, dfdc_dir, tmp_path), loader_workers=1))
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        big = np.random.default_rng(0).integers(0, 255, (3000, 3000, 3), dtype=np.uint8)
        cv2.resize(cv2.GaussianBlur(big, (31, 31), 5), (1000, 1000))  # the trainer's pool now has threads
        x, steps, y, _, _ = next(iter(run.loader(2)))
    finally:
        cv2.setNumThreads(before)
    assert x.dtype == torch.uint8 and len(y) == len(steps) > 0


def test_ema_saves_a_calibrated_average_and_leaves_the_raw_run_alone(
    run_dir: Path, dfdc_dir: Path, tmp_path: Path
) -> None:
    """`--ema`: a moving average of the weights, validated, calibrated and saved beside each epoch; the raw
    weights train step for step as without it, and a resumed run goes on averaging from where it was."""
    common = _tiny_config(run_dir, dfdc_dir, tmp_path / "ema")
    common |= dict(frames=6, batch_size=2, epochs=1, bf16="off", threads=1)  # 2 steps: the first copies
    train(TrainConfig(**common, ema=0.9))
    train(TrainConfig(**(common | {"out": str(tmp_path / "plain")})))
    out = tmp_path / "ema"
    row = json.loads((out / "metrics.jsonl").read_text())
    assert {"val_auc", "val_loss", "threshold", "temperature"} <= set(row["ema"])
    raw = load_checkpoint(out / "epoch_1.safetensors")
    average = load_checkpoint(out / "epoch_1_ema.safetensors")
    assert average.config.extra["weights"] == "moving average, decay 0.9"
    pairs = list(zip(raw.model.cnn.parameters(), average.model.cnn.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in pairs)
    plain = load_checkpoint(tmp_path / "plain" / "epoch_1.safetensors")
    for a, b in zip(raw.model.parameters(), plain.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    resumed = setup_run(TrainConfig(data=[], out="", resume=str(out), epochs=2, progress=False))
    assert resumed.averaged is not None and int(resumed.averaged.n_averaged) == row["batches"] == 2


def test_split_seed_replicates_a_run_on_another_seeds_people_split(
    run_dir: Path, dfdc_dir: Path, tmp_path: Path
) -> None:
    from deepfake_detect.training.datasets import discover_all
    from deepfake_detect.training.scoring import recipe_split

    common = _tiny_config(run_dir, dfdc_dir, tmp_path)

    def paths(sources) -> list[str]:
        return sorted(s.path for s in sources)

    def val_paths(seed: int) -> list[str]:
        return paths(setup_run(TrainConfig(**common, seed=seed)).val_sources)

    reference = val_paths(0)
    other = next(s for s in range(1, 20) if val_paths(s) != reference)
    replicate = setup_run(TrainConfig(**common, seed=other, split_seed=0))
    assert paths(replicate.val_sources) == reference and replicate.recipe["seed"] == other
    # evaluate / calibrate --split val rebuild that split from the checkpoint's recipe, not from its seed
    config = dataclasses.replace(replicate.config, extra={"training": {"recipe": replicate.recipe}})
    assert paths(recipe_split(discover_all([str(dfdc_dir)]), config, "val")) == reference


def test_sam_trains_and_is_recorded_in_the_recipe(run_dir: Path, dfdc_dir: Path, tmp_path: Path) -> None:
    """`--sam`: a run takes sharpness-aware steps end to end and its checkpoint says so; the weights differ
    from a plain run's (the same seed and draws otherwise)."""
    common = _tiny_config(run_dir, dfdc_dir, tmp_path / "sam")
    common |= dict(frames=6, batch_size=2, epochs=1, bf16="off", threads=1)
    train(TrainConfig(**common, sam=0.05))
    train(TrainConfig(**(common | {"out": str(tmp_path / "plain")})))
    sam = load_checkpoint(tmp_path / "sam" / "epoch_1.safetensors")
    plain = load_checkpoint(tmp_path / "plain" / "epoch_1.safetensors")
    assert sam.config.extra["training"]["recipe"]["sam"] == 0.05
    pairs = zip(sam.model.parameters(), plain.model.parameters(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)
