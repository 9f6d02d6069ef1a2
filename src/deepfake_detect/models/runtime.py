"""Inference runtime: preprocessing and batched forward passes for a loaded model.

Every crop of a video goes through the CNN in one batched pass (chunked to bound memory);
the BiLSTM then runs once per face track on its slice of the features. The fast paths of the
performance issue plug in here, behind `TrackClassifier.features`.
"""

from __future__ import annotations

import numpy as np
import torch

from .checkpoint import LoadedModel


class TrackClassifier:
    """Scores face tracks with a loaded CNN+BiLSTM.

    >>> clf = TrackClassifier(load_checkpoint("model.safetensors"))  # doctest: +SKIP
    >>> track_logits, frame_logits = clf.score_tracks([crops_a, crops_b])  # doctest: +SKIP
    """

    def __init__(self, loaded: LoadedModel, chunk_size: int = 32):
        self.loaded = loaded
        self.model = loaded.model.eval()
        self.config = loaded.config
        self.chunk_size = chunk_size
        self._mean = torch.tensor(self.config.mean).view(1, 3, 1, 1) * 255.0
        self._std = torch.tensor(self.config.std).view(1, 3, 1, 1) * 255.0

    def preprocess(self, crops: np.ndarray) -> torch.Tensor:
        """[N, H, W, 3] uint8 RGB at the model's input size -> [N, 3, H, W] float32 normalised."""
        x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
        return (x - self._mean) / self._std

    @torch.inference_mode()
    def features(self, crops: np.ndarray) -> torch.Tensor:
        """[N, H, W, 3] uint8 -> [N, C] CNN features, in chunks."""
        parts = [
            self.model.features(self.preprocess(crops[i : i + self.chunk_size]))
            for i in range(0, len(crops), self.chunk_size)
        ]
        return torch.cat(parts).float()

    @torch.inference_mode()
    def score_tracks(self, tracks: list[np.ndarray]) -> list[tuple[float, np.ndarray]]:
        """Crops per track ([T_i, H, W, 3] uint8) -> (track logit, per-frame logits [T_i]) per track."""
        if not tracks:
            return []
        feats = self.features(np.concatenate(tracks))  # [sum T_i, C]
        results = []
        for part in torch.split(feats, [len(t) for t in tracks]):
            track_logit, frame_logits = self.model.temporal(part.unsqueeze(0))  # [1], [1, T]
            results.append((float(track_logit[0]), frame_logits[0].numpy().astype(np.float32)))
        return results
