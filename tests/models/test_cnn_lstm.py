import pytest
import torch

from deepfake_detect.models import create_model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return create_model("resnet18_lstm", pretrained=False)[0].eval()


@torch.no_grad()
def test_windows_read_each_step_in_the_context_it_was_trained_on(model):
    feats = torch.randn(2, 7, model.feature_dim)  # [B, T, C]
    track, frames = model.temporal(feats, window=2)  # windows at 0, 2, 4 and 5 (the last ends on step 7)
    alone = {s: model.temporal(feats[:, s : s + 2]) for s in (0, 2, 4, 5)}
    torch.testing.assert_close(frames[:, 0:2], alone[0][1])
    torch.testing.assert_close(frames[:, 2:4], alone[2][1])
    torch.testing.assert_close(frames[:, 4], alone[4][1][:, 0])
    torch.testing.assert_close(frames[:, 5:7], alone[5][1])  # the last window wins where two overlap
    torch.testing.assert_close(track, torch.stack([a[0] for a in alone.values()], 1).mean(1))
    whole = model.temporal(feats)[1]
    assert not torch.allclose(frames, whole)  # the windows change what a step reads


@pytest.mark.parametrize("window", [None, 7, 9])
@torch.no_grad()
def test_a_window_as_long_as_the_track_reads_it_whole(model, window):
    feats = torch.randn(1, 7, model.feature_dim)
    torch.testing.assert_close(model.temporal(feats, window), model.temporal(feats))
