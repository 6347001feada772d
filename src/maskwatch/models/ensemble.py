"""An ensemble of classifiers as one Keras model: the members' softmax outputs, averaged.

Why: on the 557 real validation faces one fine-tuned network's answers move by about 0.02 macro-F1
from one training seed (or one epoch) to the next, and per-class decision weights tuned on those
faces did not carry over to held-out faces (MODEL_CARD). Averaging the probabilities of a few
networks trained the same way with other seeds removes much of that variance, which a single
network cannot. Built as one graph, the ensemble saves, loads and exports (TFLite, ONNX) like any
single classifier: one input, one softmax output, so no runtime needs to know it is an ensemble.
Its price is one backbone pass per member.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from maskwatch.errors import ConfigError


def average_classifiers(members: Sequence[keras.Model], name: str = "maskwatch_ensemble") -> keras.Model:
    """One model whose output is the mean of the members' outputs (same input size and labels)."""
    if not members:
        raise ConfigError("an ensemble needs at least one member model")
    shapes = {(tuple(m.input_shape[1:]), tuple(m.output_shape[1:])) for m in members}
    if len(shapes) != 1:
        raise ConfigError(f"ensemble members differ in input or output shape: {sorted(shapes)}")
    if len(members) == 1:
        return members[0]
    image = keras.Input(members[0].input_shape[1:], name="image")
    # Each member gets its own name so the saved file keeps their weights apart.
    outputs = [keras.Model(m.inputs[0], m.outputs[0], name=f"member_{i}")(image) for i, m in enumerate(members)]
    return keras.Model(image, layers.Average(name="probabilities")(outputs), name=name)


def member_count(model: keras.Model) -> int:
    """How many member networks a model averages (1 for a plain classifier)."""
    return sum(1 for layer in model.layers if isinstance(layer, keras.Model) and layer.name.startswith("member_")) or 1
