"""The ONNX export the fast backends are derived from, and its int8 quantization."""

from __future__ import annotations

import numpy as np
import onnx
import torch

from deepfake_detect.inference.backends import OnnxFeatures, export_onnx, quantize_int8
from deepfake_detect.models import create_model

SIZE = 96  # small crops keep the export fast; the pads depend on the size, which the export fixes


def _pad_amount_sources(path) -> list[str]:
    """For every Pad of the graph: 'constant' when its amounts follow from stored values alone (folded or
    not), else 'from the input's shape'."""
    graph = onnx.load(str(path)).graph
    stored = {i.name for i in graph.initializer}
    made_by = {out: node for node in graph.node for out in node.output}

    def constant(name: str) -> bool:
        node = made_by.get(name)
        if name in stored or name == "":
            return True
        return node is not None and all(constant(i) for i in node.input)  # a Constant has no inputs

    pads = [n.input[1] for n in graph.node if n.op_type == "Pad"]
    return ["constant" if constant(p) else "from the input's shape" for p in pads]


def test_tf_same_padding_is_exported_as_constant_pads(tmp_path) -> None:
    """timm's `Conv2dSame` computes its pads from the traced shape; exported as is, those amounts were float
    tensors that int8 quantization quantized like activations, shifting the feature maps."""
    model, config = create_model("efficientnet_lite0_lstm")
    model.eval()
    path = export_onnx(model, SIZE, tmp_path / "cnn.onnx")
    assert _pad_amount_sources(path) == ["constant"] * 5  # the stem and four stride-2 depthwise convs
    x = config.normalize(torch.randint(0, 256, (3, SIZE, SIZE, 3), dtype=torch.uint8))
    with torch.no_grad():
        expected = model.features(x)
    torch.testing.assert_close(OnnxFeatures(path, threads=1)(x), expected, atol=1e-4, rtol=1e-4)
    assert type(model.cnn.conv_stem).__name__ == "Conv2dSame"  # the served model itself is left as it was


def test_int8_quantizes_activations_not_padding_amounts(tmp_path) -> None:
    model, config = create_model("efficientnet_lite0_lstm")
    model.eval()
    fp32 = export_onnx(model, SIZE, tmp_path / "cnn.onnx")
    seeded = torch.Generator().manual_seed(0)
    crops = torch.randint(0, 256, (8, SIZE, SIZE, 3), dtype=torch.uint8, generator=seeded)
    int8 = quantize_int8(fp32, config.normalize(crops).numpy(), tmp_path / "int8.onnx")
    assert _pad_amount_sources(int8) == ["constant"] * 5
    ops = {n.op_type for n in onnx.load(str(int8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert np.isfinite(OnnxFeatures(int8, threads=1)(config.normalize(crops)).numpy()).all()
