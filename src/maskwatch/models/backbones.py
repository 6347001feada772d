"""The four backbones: each turns scaled pixels into a feature map (before pooling).

Every builder takes the Keras tensor *after* its Rescaling layer and returns
``(feature_map, base)``: `base` is the pretrained sub-model `set_trainable` freezes and unfreezes
(None for the from-scratch `simple_cnn`).

BatchNorm of a pretrained base must stay in inference mode, even when the base is unfrozen for
fine-tuning: updating ImageNet statistics on a few hundred faces would wreck them (keras-io
"Transfer learning & fine-tuning"). The base is called with ``training=False`` as keras-io does,
but in Keras 3 a Functional model passes the *outer* ``training`` flag down to every layer
(keras/src/models/functional.py ``operation_fn``), overriding that ``False`` during ``fit``. What
does hold is that a Keras 3 BatchNormalization with ``trainable=False`` always uses its moving
statistics, and ``trainable`` is saved in ``.keras`` files: so `freeze_batch_norm` pins them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
from keras import layers

from maskwatch.errors import ConfigError
from maskwatch.models import efficientnet_lite, imagenet_weights


@dataclass(frozen=True)
class Backbone:
    """What the registry needs to know about one backbone."""

    name: str
    default_size: int
    min_size: int
    preprocessing: str  # human-readable, written to the model's metadata
    scale: float
    offset: float
    build: Callable  # (scaled tensor, (h, w), weights, **options) -> (feature map, base or None)
    options: tuple[str, ...] = ()
    pretrained: bool = True

    def rescaling(self) -> layers.Rescaling:
        return layers.Rescaling(self.scale, offset=self.offset, name="rescaling")


def freeze_batch_norm(model: keras.Model) -> int:
    """Make every BatchNormalization inside `model` non-trainable (= inference mode); return how many."""
    count = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            count += freeze_batch_norm(layer)
        elif isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
            count += 1
    return count


def simple_cnn(x, size, weights, filters: tuple[int, ...] = (32, 64, 128)):
    """Three conv-BN-ReLU-maxpool blocks: the from-scratch baseline every pretrained model must beat."""
    if weights is not None:
        raise ConfigError("simple_cnn is trained from scratch: use weights=None")
    for i, width in enumerate(filters, start=1):
        x = layers.Conv2D(int(width), 3, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        x = layers.BatchNormalization(name=f"block{i}_bn")(x)
        x = layers.ReLU(name=f"block{i}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    return x, None


def mobilenet_v2(x, size, weights, alpha: float = 1.0):
    path = None
    if weights == "imagenet":
        path = imagenet_weights.imagenet_weights_path("mobilenet_v2", *imagenet_weights.mobilenet_v2_file(alpha, size))
    base = keras.applications.MobileNetV2(
        input_shape=(*size, 3), alpha=alpha, include_top=False, weights=None, name="mobilenet_v2"
    )
    if path is not None:
        base.load_weights(path)
    return base(x, training=False), base


def inception_v3(x, size, weights):
    path = None
    if weights == "imagenet":
        path = imagenet_weights.imagenet_weights_path("inception_v3", *imagenet_weights.inception_v3_file())
    base = keras.applications.InceptionV3(input_shape=(*size, 3), include_top=False, weights=None, name="inception_v3")
    if path is not None:
        base.load_weights(path)
    return base(x, training=False), base


def efficientnet_lite0(x, size, weights):
    base = efficientnet_lite.build_efficientnet_lite0(size, weights=weights, include_top=False)
    return base(x, training=False), base


BACKBONES: dict[str, Backbone] = {
    b.name: b
    for b in (
        Backbone("simple_cnn", 96, 8, "x / 255 (Rescaling inside the model)", 1 / 255.0, 0.0, simple_cnn,
                 options=("filters",), pretrained=False),
        Backbone("mobilenet_v2", 224, 32, "x / 127.5 - 1 (Rescaling inside the model)", 1 / 127.5, -1.0,
                 mobilenet_v2, options=("alpha",)),
        Backbone("inception_v3", 299, 75, "x / 127.5 - 1 (Rescaling inside the model)", 1 / 127.5, -1.0,
                 inception_v3),
        Backbone("efficientnet_lite0", efficientnet_lite.DEFAULT_SIZE, 32, efficientnet_lite.PREPROCESSING,
                 1 / efficientnet_lite.PIXEL_STD, -efficientnet_lite.PIXEL_MEAN / efficientnet_lite.PIXEL_STD,
                 efficientnet_lite0),
    )
}  # fmt: skip
