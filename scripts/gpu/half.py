"""fp16 copies of checkpoints, named <stem>.fp16.safetensors in OUT (half the bytes: a lent machine
returns files of at most 16 MiB, a Lite0+BiLSTM checkpoint is 26 MB in fp32).

    python scripts/gpu/half.py OUT CHECKPOINT...
"""

import sys
from pathlib import Path

from deepfake_detect.models.checkpoint import load_checkpoint, save_checkpoint

out = Path(sys.argv[1])
for path in map(Path, sys.argv[2:]):
    loaded = load_checkpoint(path)
    target = save_checkpoint(loaded.model, loaded.config, out / f"{path.stem}.fp16.safetensors", half=True)
    print("fp16:", path, "->", target)
