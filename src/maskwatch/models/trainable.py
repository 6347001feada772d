"""Freeze or partly unfreeze a classifier's backbone (keras-io two-phase transfer learning).

Phase "frozen": train only the new head on top of fixed ImageNet features. Phase "finetune":
also train the top `fine_tune_fraction` of the backbone's layers at a low learning rate. In both
phases BatchNormalization layers of the backbone stay non-trainable, which in Keras 3 also means
inference mode (see backbones.py for why ``training=False`` alone is not enough), so their
statistics never move. Recompile the model
after calling `set_trainable`: Keras fixes the trainable weights at compile time.
"""

from __future__ import annotations

from keras import layers

from maskwatch.errors import ConfigError
from maskwatch.models.registry import ClassifierModel

PHASES = ("frozen", "finetune")


#: BatchNorm momentum for backbones trained from scratch. Keras' MobileNetV2/InceptionV3 use 0.999,
#: whose moving statistics need thousands of steps to leave their initial values - more than a
#: CPU training run has - so validation (inference mode) stays near chance. Measured on mask2+voc3:
#: MobileNetV2 from scratch stayed at 0.33-0.63 val accuracy with frozen BN, trained with this.
SCRATCH_BN_MOMENTUM = 0.9


def set_trainable(
    cm: ClassifierModel, phase: str = "frozen", fine_tune_fraction: float = 0.3, pretrained: bool = True
) -> ClassifierModel:
    """Set trainable flags for `phase` and return `cm` (for chaining).

    A from-scratch model (no `base`, i.e. simple_cnn) is fully trainable in both phases. So is a
    backbone built without pretrained weights (`pretrained=False`): there is nothing to protect,
    a random frozen backbone only yields random features, and its BatchNorm statistics must learn.
    """
    if phase not in PHASES:
        raise ConfigError(f"phase must be one of {PHASES}, got {phase!r}")
    if not 0.0 < fine_tune_fraction <= 1.0:
        raise ConfigError(f"fine_tune_fraction must be in (0, 1], got {fine_tune_fraction}")
    cm.model.trainable = True
    cm.features.trainable = True
    cm.head.trainable = True
    base = cm.base
    if base is None:
        return cm
    if not pretrained:
        base.trainable = True
        for layer in base.layers:
            layer.trainable = True
            if isinstance(layer, layers.BatchNormalization):
                layer.momentum = SCRATCH_BN_MOMENTUM
        return cm
    if phase == "frozen":
        base.trainable = False
        return cm

    base.trainable = True
    children = base.layers
    first_trainable = len(children) - max(1, round(len(children) * fine_tune_fraction))
    for index, layer in enumerate(children):
        bn = isinstance(layer, layers.BatchNormalization)
        layer.trainable = index >= first_trainable and not bn
    return cm
