"""The ONNX export the fast backends are derived from, and its int8 quantization."""

from __future__ import annotations

import numpy as np
import onnx
import torch

from deepfake_detect.inference.backends import OnnxFeatures, export_onnx, quantize_int8
from deepfake_detect.models import create_model

SIZE = 96  # small crops keep the export fast; the pads depend on the size, which the export fixes


def _same_pads(path) -> tuple[list[str], list[list[int]]]:
    """The graph's `Pad` nodes, and the `pads` of every Conv that pads asymmetrically (TF "same")."""
    graph = onnx.load(str(path)).graph
    pad_nodes = [n.name for n in graph.node if n.op_type == "Pad"]
    asymmetric = []
    for node in graph.node:
        pads = [list(a.ints) for a in node.attribute if node.op_type == "Conv" and a.name == "pads"]
        if pads and pads[0][:2] != pads[0][2:]:
            asymmetric.append(pads[0])
    return pad_nodes, asymmetric


def test_tf_same_padding_is_exported_as_conv_pads(tmp_path) -> None:
    """timm's `Conv2dSame` computes its pads from the traced shape; exported as is, those amounts were float
    tensors that int8 quantization quantized like activations, shifting the feature maps; as constant
    `Pad` nodes they cost a third of the run time. The export folds them into the convolutions."""
    model, config = create_model("efficientnet_lite0_lstm")
    model.eval()
    path = export_onnx(model, SIZE, tmp_path / "cnn.onnx")
    pad_nodes, asymmetric = _same_pads(path)
    assert pad_nodes == []
    k3, k5 = [0, 0, 1, 1], [1, 1, 2, 2]  # stride 2 on an even side: one more row/column after than before
    assert asymmetric == [k3, k3, k5, k3, k5]  # the stem and four stride-2 depthwise convs, in graph order
    x = config.normalize(torch.randint(0, 256, (3, SIZE, SIZE, 3), dtype=torch.uint8))
    with torch.no_grad():
        expected = model.features(x)
    torch.testing.assert_close(OnnxFeatures(path, threads=1)(x), expected, atol=1e-4, rtol=1e-4)
    assert type(model.cnn.conv_stem).__name__ == "Conv2dSame"  # the served model itself is left as it was


def test_int8_keeps_the_padding_exact(tmp_path) -> None:
    model, config = create_model("efficientnet_lite0_lstm")
    model.eval()
    fp32 = export_onnx(model, SIZE, tmp_path / "cnn.onnx")
    seeded = torch.Generator().manual_seed(0)
    crops = torch.randint(0, 256, (8, SIZE, SIZE, 3), dtype=torch.uint8, generator=seeded)
    int8 = quantize_int8(fp32, config.normalize(crops).numpy(), tmp_path / "int8.onnx")
    assert _same_pads(int8) == _same_pads(fp32)  # pads stay attributes: nothing there to quantize
    ops = {n.op_type for n in onnx.load(str(int8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert np.isfinite(OnnxFeatures(int8, threads=1)(config.normalize(crops)).numpy()).all()
