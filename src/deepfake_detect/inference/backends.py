"""CNN feature backends and how they are derived from a PyTorch model: eager (fp32 / bf16 autocast),
ONNX Runtime sessions, the ONNX export and static int8 quantization. `runtime.TrackClassifier` picks one.

>>> from deepfake_detect.models import create_model
>>> model, _ = create_model("mobilenetv3_lstm")
>>> path = export_onnx(model, 64, Path(tempfile.mkdtemp()) / "cnn.onnx")
>>> OnnxFeatures(path, threads=1)(torch.zeros(4, 3, 64, 64)).shape  # [4, C]
torch.Size([4, 960])
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.cnn_lstm import CnnLstm
from .cache import atomic_write

_OPSET = 17


class _FeatureNet(nn.Module):
    """What the fast backends compute: [N, 3, S, S] normalised crops -> [N, C] features."""

    def __init__(self, model: CnnLstm):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.features(x)


class ReleasedCNN(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("the PyTorch CNN was released: this classifier serves its ONNX Runtime backend")


class TorchFeatures:
    """Eager PyTorch on `device`; `bf16` runs the convolutions under bf16 autocast. On the CPU the weights
    are made channels-last (oneDNN's fast layout: ~1.4x on ResNet50 here) unless `channels_last` is False,
    which leaves a model that is still being trained exactly as it is."""

    def __init__(self, model: CnnLstm, bf16: bool = False, device: str = "cpu", channels_last: bool = True):
        self.bf16 = bf16
        self.device = torch.device(device)
        self.channels_last = channels_last and self.device.type == "cpu"
        self.net = _FeatureNet(model).eval()  # shares the weights: autocast casts per call, no bf16 copy
        if self.channels_last:
            self.net.to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            return self.net(x).float()


class OnnxFeatures:
    """ONNX Runtime session on an exported (fp32 or int8) feature graph; safe for concurrent runs."""

    def __init__(self, path: Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Busy-waiting threads steal the core that decode, MTCNN or another request needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        crops = x.float().contiguous().numpy()  # torch's NCHW copy of a channels-last view: 1.3x numpy's
        return torch.from_numpy(self.session.run(None, {self.input_name: crops})[0])


class _SameConv(torch.autograd.Function):
    """A convolution with asymmetric zero padding. PyTorch runs pad + conv; the ONNX export is a single
    `Conv` with asymmetric `pads`, which torch's exporter cannot otherwise write: as separate `Pad`s
    (ONNX Runtime fuses neither) they cost Lite0 37 % of its time (16 crops at 224 px: 136 ms, of which
    28 ms in the five Pads and 23 ms in the layout reorders around them)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, dilation, groups, pads):
        return F.conv2d(F.pad(x, pads), weight, bias, stride, 0, dilation, groups)

    @staticmethod
    def symbolic(g, x, weight, bias, stride, dilation, groups, pads):
        left, right, top, bottom = pads
        inputs = [x, weight] if bias is None or bias.node().mustBeNone() else [x, weight, bias]
        return g.op(
            "Conv",
            *inputs,
            strides_i=list(stride),
            dilations_i=list(dilation),
            group_i=groups,
            pads_i=[top, left, bottom, right],  # ONNX order: all begins, then all ends
        )


class _PaddedConv(nn.Module):
    """A TF-"same" convolution with its padding fixed for one input size: a constant-padded `Conv` when
    exported."""

    def __init__(self, conv: nn.Conv2d, pads: tuple[int, int, int, int]):
        super().__init__()
        self.conv = conv
        self.pads = pads  # (left, right, top, bottom), as F.pad takes them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        return _SameConv.apply(x, c.weight, c.bias, c.stride, c.dilation, c.groups, self.pads)


def static_same_padding(model: CnnLstm, input_size: int) -> CnnLstm:
    """`model`, or a copy whose timm `Conv2dSame` layers (the stride-2 convs of the TF EfficientNet-Lites)
    pad by constants for `input_size` crops. Why: traced as they are, their pads are computed from the
    tensor's shape in float arithmetic, and static int8 quantization then quantizes those pad amounts
    like activations (the stride-2 layers' pads came out wrong), shifting feature maps: the bundled
    Lite0's int8 features moved by 76 % of their norm that way, by 30 % with constant pads. Exported, each
    is one `Conv` with asymmetric pads (`_SameConv`)."""
    try:
        from timm.layers import Conv2dSame
        from timm.layers.padding import get_same_padding
    except ImportError:  # no timm: no such layers
        return model
    names = [name for name, m in model.named_modules() if isinstance(m, Conv2dSame)]
    if not names:
        return model
    model = copy.deepcopy(model).eval()
    shapes: dict[str, torch.Size] = {}

    def remember(name: str):
        def hook(module: nn.Module, args: tuple) -> None:
            shapes[name] = args[0].shape

        return hook

    hooks = [model.get_submodule(n).register_forward_pre_hook(remember(n)) for n in names]
    with torch.no_grad():
        model.features(torch.zeros(1, 3, input_size, input_size))
    for hook in hooks:
        hook.remove()
    for name in names:
        conv = model.get_submodule(name)
        assert isinstance(conv, nn.Conv2d)
        h, w = (int(v) for v in shapes[name][-2:])
        ph = get_same_padding(h, conv.kernel_size[0], conv.stride[0], conv.dilation[0])
        pw = get_same_padding(w, conv.kernel_size[1], conv.stride[1], conv.dilation[1])
        parent, _, child = name.rpartition(".")
        pads = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
        setattr(model.get_submodule(parent), child, _PaddedConv(conv, pads))
    return model


def export_onnx(model: CnnLstm, input_size: int, path: Path) -> Path:
    """Export the feature extractor ([N, 3, S, S] -> [N, C], dynamic N, fixed S) to `path`, atomically."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.onnx")
    example = torch.zeros(2, 3, input_size, input_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(
            _FeatureNet(static_same_padding(model, input_size)).eval(),
            (example,),
            str(tmp),
            input_names=["crops"],
            output_names=["features"],
            dynamic_axes={"crops": {0: "n"}, "features": {0: "n"}},
            opset_version=_OPSET,
            dynamo=False,  # the torch.export-based exporter needs onnxscript, which we do not ship
        )
    tmp.replace(path)
    return path


def quantize_int8(
    fp32_path: Path,
    calibration: np.ndarray,
    path: Path,
    batch: int = 8,
    method: str = "MinMax",
    exclude: Sequence[str] = (),
    extra: dict | None = None,
) -> Path:
    """Static int8 quantization (QDQ, per-channel int8 weights, uint8 activations) of an exported
    feature graph, activation ranges calibrated on `calibration` ([N, 3, S, S] float32 normalised)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(
                {"crops": calibration[i : i + batch]} for i in range(0, len(calibration), batch)
            )

        def get_next(self):
            return next(self.batches, None)

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))  # ORT logs an INFO line per conv, on the root logger
    try:
        with tempfile.TemporaryDirectory(prefix="dfd-quant-") as work, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pre = Path(work) / "pre.onnx"
            quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=False)
            tmp = Path(work) / "int8.onnx"
            quantize_static(
                str(pre),
                str(tmp),
                Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=getattr(CalibrationMethod, method),
                nodes_to_exclude=list(exclude),
                extra_options={"CalibTensorRangeSymmetric": False, **(extra or {})},
            )
            atomic_write(path, tmp.read_bytes())
    finally:
        root.setLevel(level)
    return path
