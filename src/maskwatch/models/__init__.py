"""Keras model registry: build, freeze and fine-tune maskwatch classifiers.

    from maskwatch.models import build_classifier, set_trainable
    cm = build_classifier("mobilenet_v2", num_classes=3, input_size=128, weights="imagenet")
    set_trainable(cm, "frozen")      # phase 1: train the head
    set_trainable(cm, "finetune")    # phase 2: also the top 30 % of the backbone

Needs the ``train`` extra (TensorFlow + Keras).
"""

from __future__ import annotations

try:
    import keras  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    from maskwatch.errors import MaskwatchError

    raise MaskwatchError(f"maskwatch.models needs Keras/TensorFlow ({exc}): pip install maskwatch[train]") from None

from maskwatch.models.efficientnet_lite import build_efficientnet_lite0
from maskwatch.models.ensemble import average_classifiers, member_count
from maskwatch.models.registry import ClassifierModel, available_models, build_classifier, resolve_input_size
from maskwatch.models.trainable import set_trainable

__all__ = [
    "ClassifierModel",
    "available_models",
    "average_classifiers",
    "build_classifier",
    "build_efficientnet_lite0",
    "member_count",
    "resolve_input_size",
    "set_trainable",
]
