"""`training/evaluate.py`: each dataset / method's fakes against every real of the set."""

from __future__ import annotations

import numpy as np

from deepfake_detect.models import default_config
from deepfake_detect.training.evaluate import against_reals
from deepfake_detect.training.scoring import VideoScores
from deepfake_detect.verdict import TrackScore


def _video(origin: str, label: int, logit: float) -> VideoScores:
    return VideoScores(f"{origin}/{logit}", label, origin, [TrackScore(logit, np.full(4, logit, np.float32))])


def test_a_family_with_fakes_of_several_origins_gets_its_own_row_before_them() -> None:
    """`dev/` pools frames and clips whose scores sit at different offsets: "frames" is its frame fakes
    against every real, beside each method's own row and the whole set's."""
    videos = [
        _video("timit/fake", 1, 3.0),
        _video("frames/Real", 0, -1.0),
        _video("talking_heads/real", 0, 1.0),
        _video("talking_heads/fake:Wav2Lip", 1, -2.0),
        _video("talking_heads/fake:SadTalker", 1, -1.5),
        _video("frames/Face_Swap", 1, 0.0),
        _video("frames/Face2Face", 1, 2.0),
    ]
    table = against_reals(videos, default_config("resnet18_lstm"))
    assert list(table) == [
        "all",
        "frames",
        "frames/Face2Face",
        "frames/Face_Swap",
        "talking_heads",
        "talking_heads/fake:SadTalker",
        "talking_heads/fake:Wav2Lip",
        "timit/fake",  # a family of one fake origin: its row would repeat the origin's
    ]
    assert (table["frames"]["n_fake"], table["frames"]["n_real"]) == (2, 2)
    assert table["frames"]["auc"] == 0.75  # 2.0 beats both reals, 0.0 one of the two
    assert table["talking_heads"]["auc"] == 0.0 and table["all"]["n_fake"] == 5
