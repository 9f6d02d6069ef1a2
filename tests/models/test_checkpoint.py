import pickle

import pytest
import torch
from torch import nn
from torchvision import models as tvm

from deepfake_detect.errors import CheckpointError
from deepfake_detect.models import create_model, list_models, load_checkpoint, save_checkpoint


class SeedResNet50BiLSTM(nn.Module):
    """The seed's architecture as its users wrote it (ResNet50 children minus fc, last BiLSTM step)."""

    def __init__(self, hidden=256):
        super().__init__()
        self.cnn = nn.Sequential(*list(tvm.resnet50(weights=None).children())[:-1])
        self.lstm = nn.LSTM(2048, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(
            nn.Linear(hidden * 2, 128), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(128, 1)
        )

    def forward(self, x):
        b, t, c, h, w = x.shape
        feats = self.cnn(x.view(b * t, c, h, w)).view(b, t, -1)
        out, _ = self.lstm(feats)
        return self.head(out[:, -1, :])


@pytest.fixture(scope="module")
def seed_model():
    torch.manual_seed(1)
    model = SeedResNet50BiLSTM().eval()
    with torch.no_grad():  # move BN statistics off their defaults so they matter
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.mark.slow  # four ResNet50s
@pytest.mark.parametrize("wrap", ["plain", "model_state_dict", "state_dict", "dataparallel"])
def test_seed_checkpoints_load_and_match_the_seed_outputs(seed_model, wrap, tmp_path):
    state = seed_model.state_dict()
    obj = {
        "plain": state,
        "model_state_dict": {"model_state_dict": state, "epoch": 30},
        "state_dict": {"state_dict": state},
        "dataparallel": {f"module.{k}": v for k, v in state.items()},
    }[wrap]
    path = tmp_path / "model_epoch_30.pth"
    torch.save(obj, path)
    loaded = load_checkpoint(path)
    assert loaded.config.arch == "resnet50_lstm" and loaded.source_format == "seed-pth"
    x = torch.randn(2, 3, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), seed_model(x), atol=1e-5)


@pytest.mark.parametrize("arch", list_models())
def test_every_registered_model_round_trips_through_safetensors(arch, tmp_path):
    torch.manual_seed(0)
    model, config = create_model(arch, input_size=64, threshold=0.42, temperature=1.7)
    model.eval()
    path = save_checkpoint(model, config, tmp_path / f"{arch}.safetensors")
    loaded = load_checkpoint(path)
    assert loaded.config == config and loaded.model_id.startswith(arch)
    x = torch.randn(1, 2, 3, 64, 64)
    with torch.no_grad():
        logits, frame_logits = loaded.model.temporal(loaded.model.features(x[0]).unsqueeze(0))
        assert torch.allclose(loaded.model(x), model(x), atol=1e-5)
    assert frame_logits.shape == (1, 2)


def test_half_precision_storage_halves_the_file(tmp_path):
    model, config = create_model("resnet18_lstm")
    full = save_checkpoint(model, config, tmp_path / "a.safetensors")
    half = save_checkpoint(model, config, tmp_path / "b.safetensors", half=True)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    assert next(load_checkpoint(half).model.parameters()).dtype == torch.float32


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),
        (b"not a checkpoint at all", "not a loadable"),
        (pickle.dumps(Evil()), "not a loadable"),
    ],
)
def test_bad_model_paths_are_refused_with_a_reason(tmp_path, content, message):
    path = tmp_path / "model.pth"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_wrong_shapes_are_refused(tmp_path):
    state = create_model("resnet18_lstm")[0].state_dict()
    state["head.3.weight"] = torch.zeros(2, 128)
    torch.save(state, tmp_path / "x.pth")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(tmp_path / "x.pth")


def test_create_model_hands_out_its_own_config():
    _, config = create_model("resnet18_lstm")
    config.extra["training"] = {"recipe": {}}  # a caller filling in its config ...
    assert "training" not in create_model("resnet18_lstm")[1].extra  # ... leaves the defaults alone
