"""`deepfake-detect bench`: how fast the pipeline is on this machine, against a seed-style naive pipeline.

One run, four parts, all on the same videos and the same model weights:

1. per-stage time of our pipeline (decode, detect, crop, classify, aggregate; medians over `--reps`),
   for the serving runtime and each `--compare` runtime, and |P - P_fp32| of each against eager fp32;
2. the seed-style naive pipeline (`naive_analyze`: OpenCV seek per frame, MTCNN on each full-resolution
   frame, torchvision transforms, eager fp32 CNN+BiLSTM) and the speed-up ratio;
3. the real server (`deepfake-detect serve` in a subprocess) under `--clients` concurrent uploads of the
   720p clip: videos per minute, latency, peak RSS (VmHWM), and cold start (process start -> healthy)
   with a warm and (`--cold`) an empty runtime cache;
4. with `--accuracy DATA` (labelled videos or the TIMIT frame folders) and a trained `--model`: video AUC
   of each approximate backend against fp32, recorded so `RUNTIME=auto` may use it (inference/runtime.py).

The clips are generated (10 s, 1080p and 720p, one face) into `--workdir`; `../shared/data/videos/real`
is added when present. Without `--model` (or MODEL_PATH) the model is a seeded random-init
ResNet50+BiLSTM: speed does not depend on the weights. `--quick` shrinks everything to run in seconds.

    deepfake-detect bench                       # the full run (several minutes), table on stdout
    deepfake-detect bench --quick               # a smoke run on tiny clips
    deepfake-detect bench --json out.json --markdown out.md
"""

from __future__ import annotations

from .cli import cmd_bench, register, run_bench
from .ours import probability_diffs
from .records import STAGES, Clip, Run
from .report import markdown

__all__ = ["STAGES", "Clip", "Run", "cmd_bench", "markdown", "probability_diffs", "register", "run_bench"]
