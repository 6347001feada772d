"""A backbone built without pretrained weights must train whole, BatchNorm statistics included."""

from __future__ import annotations

from keras import layers

from maskwatch.models import build_classifier, set_trainable


def _batchnorms(cm):
    return [layer for layer in cm.base.layers if isinstance(layer, layers.BatchNormalization)]


def test_scratch_backbone_trains_whole_in_both_phases():
    cm = build_classifier("mobilenet_v2", num_classes=3, input_size=32, weights=None, alpha=0.35)
    for phase in ("frozen", "finetune"):
        set_trainable(cm, phase, pretrained=False)
        assert all(layer.trainable for layer in cm.base.layers)
        assert all(bn.trainable and bn.momentum <= 0.9 for bn in _batchnorms(cm))
        assert len(cm.model.trainable_weights) == len(cm.model.weights) - 2 * len(_batchnorms(cm))


def test_pretrained_backbone_keeps_batchnorm_frozen():
    cm = build_classifier("mobilenet_v2", num_classes=3, input_size=32, weights=None, alpha=0.35)
    set_trainable(cm, "frozen")
    assert not cm.base.trainable_weights
    set_trainable(cm, "finetune", fine_tune_fraction=0.3)
    assert cm.base.trainable_weights and not any(bn.trainable for bn in _batchnorms(cm))
