"""Image augmentation for training, as Keras preprocessing layers.

Why layers in the tf.data pipeline (and not inside the model): the exported model must not
carry random layers, and augmenting in tf.data runs on the input threads while the model trains.
Pixels stay in 0..255 float32 all the way (the model's contract), so the brightness and contrast
layers get `value_range=(0, 255)` and the result is clipped back to that range.
"""

from __future__ import annotations

from maskwatch.train.config import AugmentConfig, DegradeConfig


def build_augmenter(cfg: AugmentConfig, seed: int | None = None):
    """A `keras.Sequential` of random layers; strengths of 0 leave a layer out.

    Returns None when every strength is 0 (nothing to do).
    """
    import keras

    layers = []
    if cfg.flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if cfg.rotation > 0:
        layers.append(keras.layers.RandomRotation(cfg.rotation, fill_mode="reflect", seed=seed))
    if cfg.shift > 0:
        layers.append(keras.layers.RandomTranslation(cfg.shift, cfg.shift, fill_mode="reflect", seed=seed))
    if cfg.shear > 0:
        layers.append(keras.layers.RandomShear(cfg.shear, cfg.shear, fill_mode="reflect", seed=seed))
    if cfg.zoom > 0:
        layers.append(keras.layers.RandomZoom(cfg.zoom, fill_mode="reflect", seed=seed))
    if cfg.brightness > 0:
        layers.append(keras.layers.RandomBrightness(cfg.brightness, value_range=(0, 255), seed=seed))
    if cfg.contrast > 0:
        layers.append(keras.layers.RandomContrast(cfg.contrast, value_range=(0, 255), seed=seed))
    if not layers:
        return None
    return keras.Sequential(layers, name="augment")


def augment_batch_fn(augmenter):
    """A tf.data map function `(images, labels) -> (augmented images, labels)` for batched data."""
    import tensorflow as tf

    def apply(images, labels):
        images = tf.cast(images, tf.float32)
        images = augmenter(images, training=True)
        return tf.clip_by_value(images, 0.0, 255.0), labels

    return apply


def degrade_batch_fn(cfg: DegradeConfig, seed: int):
    """A tf.data map function that degrades each face of a batch with probability `cfg.finetune`.

    The degradation is OpenCV code (maskwatch.data.degrade), so it runs through
    `tf.numpy_function`; one generator seeded once makes a run repeat when batches arrive in order.
    """
    import numpy as np
    import tensorflow as tf

    from maskwatch.data.degrade import DegradeProbabilities, degrade

    probabilities = DegradeProbabilities.from_config(cfg)
    rng = np.random.default_rng(seed + 7)

    def degrade_some(images: np.ndarray) -> np.ndarray:
        out = images.copy()
        for i in np.flatnonzero(rng.random(len(images)) < cfg.finetune):
            out[i] = degrade(images[i], rng, probabilities)
        return out

    def apply(images, labels):
        degraded = tf.numpy_function(degrade_some, [images], tf.uint8, stateful=True)
        degraded.set_shape(images.shape)
        return degraded, labels

    return apply
