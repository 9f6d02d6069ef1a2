"""`train`: fit a registered CNN+BiLSTM on cached face tracks; checkpoint, calibrate and log every epoch.

Per epoch: one pass of `len(train tracks)` samples (class-balanced draws when oversampling), AdamW with
linear warm-up then cosine decay per step (with `--sam`, sharpness-aware: sam.py), loss = BCE(track
logit) + w * BCE(per-frame logits) (the frame term trains the per-frame head that "mean_frame" /
"confident_frames" aggregate and the server's timeline shows), both with `pos_weight`. Then the
validation videos are scored the way the server scores them (`scoring.py`: the server's crops and
classifier code), calibrated (calibrate.py) and the epoch's checkpoint is written with its calibration,
so any `epoch_N.safetensors` can be served as is.
`best.safetensors` is the epoch with the best val video AUC.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
import shutil
import sys
import time
from pathlib import Path
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F

from ..inference.runtime import TrackClassifier
from ..models.checkpoint import LoadedModel, load_checkpoint, save_checkpoint
from ..models.cnn_lstm import CnnLstm
from ..models.registry import ModelConfig
from .calibrate import apply_calibration, calibrate, logit_bias, shift
from .evaluate import against_reals, compute_metrics
from .recipe import TrainConfig, setup_run
from .run import Run, train_mode
from .sam import sam_gradient

log = logging.getLogger(__name__)


def validate(run: Run, model: CnnLstm) -> tuple[dict, ModelConfig, float]:
    """Score the val videos as the server would (same crops, same classifier code, on the run's device),
    calibrate; returns (metrics row, calibrated config, logit bias to fold in)."""
    loaded = LoadedModel.in_memory(model, run.config)
    classifier = TrackClassifier(loaded, chunk_size=64, device=run.device, faces=run.face, keep_layout=True)
    videos = run.data.val.score(classifier.score_tracks)
    labels = np.array([v.label for v in videos])
    calib = calibrate(labels, [v.tracks for v in videos], run.cfg.threshold_rule, run.cfg.aggregation)
    config = apply_calibration(run.config, calib)
    for v, tracks in zip(videos, shift([v.tracks for v in videos], calib.bias), strict=True):
        v.tracks = tracks  # as the checkpoint with the bias folded in scores them
    m = compute_metrics(videos, config)
    row = {k: m[k] for k in ("video_auc", "frame_auc", "log_loss", "accuracy", "f1", "eer", "ap")}
    row["agg_auc"] = {r: v["auc"] for r, v in m["aggregations"].items()}
    row |= {"threshold": config.threshold, "temperature": config.temperature, "logit_bias": calib.bias}
    row["aggregation"] = config.aggregation
    row["per_source_auc"] = {k: v["auc"] for k, v in m["per_source"].items()}
    row["family_auc"] = {k: v["auc"] for k, v in m["per_family"].items() if v["auc"] is not None}
    row |= _monitored(run, classifier, [v for v in videos if v.label == 0], config, calib.bias)
    train_mode(model, run.cfg.freeze_bn)
    return row, config, calib.bias


def _monitored(
    run: Run, classifier: TrackClassifier, val_reals: list, config: ModelConfig, bias: float
) -> dict:
    """Figures logged each epoch and never fitted on: the val reals against their own SBI copies (does
    the model see blending on unseen faces?), and the `--report` data (other datasets and generators)."""
    row: dict = {}
    for name, scoring in (("sbi_copies", run.data.sbi_copies), ("report", run.data.report)):
        if scoring is None:
            continue
        scored = scoring.score(classifier.score_tracks)
        for v, tracks in zip(scored, shift([v.tracks for v in scored], bias), strict=True):
            v.tracks = tracks
        if name == "sbi_copies":
            scored += val_reals  # already shifted
        table = against_reals(scored, config)
        row[f"{name}_auc"] = table.get("all", {}).get("auc")
        if name == "report":
            row["report"] = {k: v["auc"] for k, v in table.items() if k != "all"}
            row["report_log_loss"] = compute_metrics(scored, config)["log_loss"]
    return row


def smoothed_targets(y: torch.Tensor, eps: float) -> torch.Tensor:
    """[B] 0/1 labels -> [B] targets eps/2 and 1 - eps/2. With eps > 0 the loss has its minimum at a finite
    logit (+-2.94 for 0.1), so a blend the model already tells apart stops pulling the weights towards it.
    Measured with 0.1 (run AG, docs/training.md): SBI copies 0.66 and `dev/` 0.56, against 0.76 and 0.65."""
    return y * (1 - eps) + eps / 2 if eps else y


def _loss(model, x, steps, y, pos_weight, frame_weight: float, bf16: bool, device: str, xray=None):
    """x [N, 3, S, S] float (every crop once), steps [B, T] (which crop each sequence step reads), y [B]
    -> scalar loss. `xray`: the batch's `XrayTerm` (`Run.xray`), added as weight x `XrayHead.loss`."""
    b, t = steps.shape
    with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
        if xray is None:
            feats = model.features(x)  # [N, C]
        else:
            maps, feats = model.feature_maps(x)  # [N, C, h, w], [N, C]
            boundary_loss = xray.head.loss(maps, xray.boundary, xray.known)
        track_logits, frame_logits = model.temporal(feats[steps])  # [B, T, C] -> [B], [B, T]
    loss = F.binary_cross_entropy_with_logits(track_logits.float(), y, pos_weight=pos_weight)
    if xray is not None:
        loss = loss + xray.weight * boundary_loss
    if frame_weight > 0:
        yf = y[:, None].expand(b, t)  # [B, T]: every frame of a fake track is a fake frame
        loss = loss + frame_weight * F.binary_cross_entropy_with_logits(
            frame_logits.float(), yf, pos_weight=pos_weight
        )
    return loss


def _pick_bf16(run: Run, model, batch) -> bool:
    """--bf16 auto: bf16 autocast when the CPU runs bf16 natively (AMX / AVX512-BF16) and a timed
    forward+backward on a real batch is faster than fp32 (it is for ResNets, not for MobileNetV3)."""
    choice = run.cfg.bf16
    if run.device != "cpu":
        return choice == "on" or (choice == "auto" and run.device.startswith("cuda"))
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    if choice == "on" and not native:  # measured: 33 s vs fp32's 4.5 s per batch on an AVX2-only EPYC
        log.warning("bf16 autocast forced on a CPU without native bf16: expect ~7x slower steps than fp32")
    if choice in ("on", "off"):
        return choice == "on"
    if not native:  # emulated bf16 is no faster; said in the log because epoch times differ ~1.5x by CPU
        log.info("bf16 autocast: off, this CPU has no native bf16 (no AVX512-BF16 / AMX)")
        return False
    x, steps, y = run.prep(batch)
    times = {}
    for bf16 in (False, True, False, True):  # second round counts: the first pays one-off set-up
        t0 = time.perf_counter()
        _loss(model, x, steps, y, None, 0.0, bf16, "cpu").backward()
        times[bf16] = time.perf_counter() - t0
    model.zero_grad(set_to_none=True)
    log.info("bf16 autocast: fp32 %.2f s vs bf16 %.2f s per batch", times[False], times[True])
    return times[True] < 0.9 * times[False]


def train(cfg: TrainConfig) -> dict:
    """Run (or resume) training; returns the summary also written to `out/summary.json`."""
    from tqdm import tqdm

    from .plots import plot_training_curves

    t_start = time.perf_counter()
    run = setup_run(cfg)
    cfg = run.cfg  # when resuming: the stored recipe, with this call's epochs / time budget
    model, opt, sched, state = run.model, run.optimizer, run.scheduler, run.state
    out = Path(cfg.out)
    # The budget is for training: a first `prepare` of a large data set is not counted against it.
    deadline = time.perf_counter() + cfg.max_minutes * 60 if cfg.max_minutes else math.inf
    stopped = "epochs done"
    bf16 = None
    while state["epoch"] < cfg.epochs:
        epoch = state["epoch"] + 1
        torch.manual_seed(cfg.seed + epoch)  # dropout; resuming at epoch N replays the same draws
        loader = run.loader(epoch)
        train_mode(model, cfg.freeze_bn)
        losses, t0 = [], time.perf_counter()
        bar = tqdm(
            loader,
            desc=f"epoch {epoch}/{cfg.epochs}",
            unit="batch",
            disable=not cfg.progress,
            file=sys.stderr,
        )
        for batch in bar:
            if bf16 is None:
                if "bf16" not in state:  # measured once per run, kept when resuming
                    state["bf16"] = _pick_bf16(run, model, batch)
                bf16 = state["bf16"]
            x, steps, y = run.prep(batch)
            y = smoothed_targets(y, cfg.label_smoothing)
            xray = run.xray(batch)
            args = (model, x, steps, y, run.pos_weight, cfg.frame_loss_weight, bf16, run.device, xray)
            loss = _loss(*args)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.sam:
                sam_gradient(model, cfg.sam, functools.partial(_loss, *args))  # 2nd pass, perturbed weights
                if xray is not None:  # the log keeps this step's boundary loss, not the perturbed pass's
                    xray.head.losses.pop()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)  # LSTMs from scratch spike early
            opt.step()
            sched.step()
            if run.averaged is not None:
                run.averaged.update_parameters(model)
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", lr=f"{sched.get_last_lr()[0]:.2e}")
            if time.perf_counter() > deadline:
                stopped = f"time budget of {cfg.max_minutes} min"
                break
        bar.close()
        row = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)) if losses else None,
            "batches": len(losses),
        }
        if run.xray_head is not None:  # logged apart: train_loss holds it too, weighted
            row["train_xray_loss"] = run.xray_head.epoch_loss()
        row["lr"] = sched.get_last_lr()[0]
        row["train_s"] = round(time.perf_counter() - t0, 1)
        extra = {"epoch": epoch, "training": {"data": run.data_summary, "recipe": run.recipe}}
        path = out / f"epoch_{epoch}.safetensors"
        row |= _validate_and_save(run, model, path, extra)
        if run.averaged is not None:
            average = cast(CnnLstm, run.averaged.module)  # validated and saved like the epoch's own weights
            extra_ema = extra | {"weights": f"moving average, decay {cfg.ema}"}
            row["ema"] = _validate_and_save(run, average, out / f"epoch_{epoch}_ema.safetensors", extra_ema)
        # Best: highest val video AUC; among equal AUCs (say 1.0), the lowest calibrated val log loss.
        auc, loss = row.get("val_auc"), row.get("val_loss")
        crit = [-1.0 if auc is None else round(auc, 6), -(loss or 0.0)]
        improved = state["best"] is None or crit > state["best"] or not run.val_sources  # no val: last
        if improved:
            state |= {"best": crit, "best_epoch": epoch, "bad_epochs": 0}
            shutil.copyfile(path, out / "best.safetensors")
        else:
            state["bad_epochs"] += 1
        row |= {"best_epoch": state["best_epoch"], "seconds": round(time.perf_counter() - t_start, 1)}
        state["history"].append(row)
        state["epoch"] = epoch
        with open(out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        run.save_state()
        log.info("epoch %d: %s", epoch, {k: v for k, v in row.items() if not isinstance(v, dict)})
        if stopped != "epochs done":
            break
        if cfg.patience and state["bad_epochs"] >= cfg.patience:
            stopped = f"early stop: no val improvement in {cfg.patience} epochs"
            break
        if time.perf_counter() > deadline:
            stopped = f"time budget of {cfg.max_minutes} min"
            break
    plot_training_curves(state["history"], out / "training_curves.png", cfg.arch)
    return _finish(run, stopped, time.perf_counter() - t_start)


def _validate_and_save(run: Run, model: CnnLstm, path: Path, extra: dict) -> dict:
    """Validate and calibrate `model` on the run's val set (when it has one) and write it to `path`,
    calibrated and servable as it is, with `extra` in its config (the training summary, so `evaluate
    --split` works on any epoch). Returns the val figures for the epoch's log row."""
    config, bias, row = run.config, 0.0, {}
    if run.val_sources:
        val_row, config, bias = validate(run, model)
        row = {"val_auc": val_row.pop("video_auc"), "val_loss": val_row.pop("log_loss")} | val_row
    config = dataclasses.replace(config, extra=config.extra | extra)
    with logit_bias(model, bias):
        save_checkpoint(model, config, path)
    return row


def _finish(run: Run, stopped: str, seconds: float) -> dict:
    """Write summary.json and put the summary into best.safetensors' config (so /info shows it)."""
    out = Path(run.cfg.out)
    state = run.state
    best_row: dict = next((r for r in state["history"] if r["epoch"] == state["best_epoch"]), {})
    best = load_checkpoint(out / "best.safetensors")
    summary = {
        "data": run.data_summary,
        "recipe": run.recipe | {"bf16": state.get("bf16")},
        "epochs_run": state["epoch"],
        "best_epoch": state["best_epoch"],
        "stopped": stopped,
        "val": {k: v for k, v in best_row.items() if k not in ("epoch", "best_epoch", "lr", "batches")},
        "threshold_rule": run.cfg.threshold_rule,
        "threshold": best.config.threshold,
        "temperature": best.config.temperature,
        "aggregation": best.config.aggregation,
        "wall_s": round(seconds, 1),
        "torch": torch.__version__,
    }
    extra = best.config.extra | {"training": summary}
    save_checkpoint(best.model, dataclasses.replace(best.config, extra=extra), out / "best.safetensors")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    log.info(
        "best epoch %s (val AUC %s); model: %s",
        state["best_epoch"],
        best_row.get("val_auc"),
        out / "best.safetensors",
    )
    return summary
