"""Model registry: every backbone builds, predicts probabilities, survives a .keras round trip,
and freezes/unfreezes as the two-phase transfer-learning recipe needs. No network, no downloads."""

from __future__ import annotations

import urllib.error

import h5py
import keras
import numpy as np
import pytest

from maskwatch.errors import ConfigError, MaskwatchError
from maskwatch.models import ClassifierModel, available_models, build_classifier, set_trainable

# Smallest sizes each backbone accepts, to keep the suite fast on 2 CPU cores.
SMALL_SIZES = {"simple_cnn": 32, "mobilenet_v2": 32, "inception_v3": 75, "efficientnet_lite0": 32}


def _pixels(size: int, n: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


def test_registry_lists_the_four_backbones():
    assert available_models() == ["simple_cnn", "mobilenet_v2", "inception_v3", "efficientnet_lite0"]


@pytest.mark.parametrize("name", list(SMALL_SIZES))
def test_build_predict_and_keras_round_trip(name, tmp_path):
    size = SMALL_SIZES[name]
    cm = build_classifier(name, num_classes=3, input_size=size, weights=None)
    assert isinstance(cm, ClassifierModel)
    assert cm.name == name and cm.input_size == (size, size)
    assert cm.model.input_shape == (None, size, size, 3)
    assert (cm.base is None) == (name == "simple_cnn")
    assert any(isinstance(layer, keras.layers.Rescaling) for layer in cm.features.layers)

    x = _pixels(size)
    # Direct calls, not predict(): tracing a tf.function per model costs seconds on 2 cores.
    probs = np.asarray(cm.model(x, training=False))
    assert probs.shape == (3, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()
    # model = head(features(x)): the parts compose to the whole.
    feats = np.asarray(cm.features(x, training=False))
    assert feats.ndim == 2 and feats.shape[0] == 3
    np.testing.assert_allclose(cm.head(feats, training=False), probs, atol=1e-5)

    path = tmp_path / f"{name}.keras"
    cm.model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded(x, training=False), probs, atol=1e-5)
    again = ClassifierModel.from_keras(loaded)
    assert again.name == name and again.input_size == (size, size)
    assert (again.base is None) == (name == "simple_cnn")


def test_options_and_sizes_are_validated():
    with pytest.raises(ConfigError, match="unknown model 'resnet'.*mobilenet_v2"):
        build_classifier("resnet", 3)
    with pytest.raises(ConfigError, match="alpha"):
        build_classifier("inception_v3", 3, alpha=0.5)
    with pytest.raises(ConfigError, match=">= 75"):
        build_classifier("inception_v3", 3, input_size=64)
    with pytest.raises(ConfigError, match="num_classes"):
        build_classifier("simple_cnn", 1)
    with pytest.raises(ConfigError, match="from scratch"):
        build_classifier("simple_cnn", 3, weights="imagenet")
    with pytest.raises(ConfigError, match="weights"):
        build_classifier("mobilenet_v2", 3, weights="/some/file.h5")


def test_mobilenet_alpha_and_rectangular_input():
    narrow = build_classifier("mobilenet_v2", 2, input_size=(48, 32), alpha=0.35)
    wide = build_classifier("mobilenet_v2", 2, input_size=(48, 32), alpha=1.0)
    assert narrow.model.output_shape == (None, 2)
    assert narrow.model.count_params() < wide.model.count_params() / 3


def _trainable_count(cm: ClassifierModel) -> int:
    return len(cm.model.trainable_weights)


def test_set_trainable_phases_on_a_pretrained_style_base():
    cm = build_classifier("mobilenet_v2", 3, input_size=32)
    head_weights = len(cm.head.weights)  # Dense kernel + bias
    base_bn = [layer for layer in cm.base.layers if isinstance(layer, keras.layers.BatchNormalization)]

    set_trainable(cm, "frozen")
    assert _trainable_count(cm) == head_weights
    assert not cm.base.trainable

    set_trainable(cm, "finetune", fine_tune_fraction=0.3)
    layers_ = cm.base.layers
    top = layers_[len(layers_) - round(0.3 * len(layers_)) :]
    expected = sum(len(layer.weights) for layer in top if not isinstance(layer, keras.layers.BatchNormalization))
    assert _trainable_count(cm) == head_weights + expected
    assert all(not layer.trainable for layer in base_bn)
    assert all(not layer.trainable for layer in layers_[: len(layers_) - len(top)])
    few = _trainable_count(cm)

    set_trainable(cm, "finetune", fine_tune_fraction=1.0)
    everything_but_bn = sum(
        len(layer.trainable_weights)
        for layer in cm.base.layers
        if not isinstance(layer, keras.layers.BatchNormalization)
    )
    assert _trainable_count(cm) == head_weights + everything_but_bn > few
    assert all(not layer.trainable for layer in base_bn)

    set_trainable(cm, "frozen")  # and back
    assert _trainable_count(cm) == head_weights

    with pytest.raises(ConfigError, match="phase"):
        set_trainable(cm, "all")
    with pytest.raises(ConfigError, match="fine_tune_fraction"):
        set_trainable(cm, "finetune", fine_tune_fraction=0)


def test_set_trainable_from_scratch_model_trains_everything():
    cm = build_classifier("simple_cnn", 2, input_size=32)
    all_trainable = len(cm.model.trainable_weights)
    for phase in ("frozen", "finetune"):
        set_trainable(cm, phase)
        assert len(cm.model.trainable_weights) == all_trainable
    # conv kernels + BN gamma/beta of 3 blocks + head kernel/bias
    assert all_trainable == 3 + 6 + 2


@pytest.mark.parametrize(("name", "size", "file_name"), [
    ("mobilenet_v2", 96, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"),
    ("inception_v3", 75, "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"),
])  # fmt: skip
def test_imagenet_weights_offline_is_a_clear_error(name, size, file_name, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("MASKWATCH_OFFLINE", "1")
    with pytest.raises(MaskwatchError) as info:
        build_classifier(name, 3, input_size=size, weights="imagenet")
    message = str(info.value)
    assert file_name in message and str(tmp_path / "models") in message and "weights=None" in message

    # Network allowed but unreachable: Keras' download failure becomes the same kind of error.
    monkeypatch.delenv("MASKWATCH_OFFLINE")

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr("keras.src.utils.file_utils.urlretrieve", no_network)
    with pytest.raises(MaskwatchError, match="could not be downloaded.*no route to host") as info:
        build_classifier(name, 3, input_size=size, weights="imagenet")
    assert file_name in str(info.value)
    assert not (tmp_path / "models" / file_name).exists()


def test_imagenet_weights_from_the_keras_cache_are_used(tmp_path, monkeypatch):
    """A cached file is loaded without any network: write one from a random model, then build."""
    from maskwatch.models.imagenet_weights import mobilenet_v2_file

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("MASKWATCH_OFFLINE", "1")
    file_name = mobilenet_v2_file(0.35, (96, 96))[0]
    donor = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None)
    (tmp_path / "models").mkdir()
    # keras.applications files are legacy Keras-2 HDF5 weight files; write one the same way.
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    with h5py.File(tmp_path / "models" / file_name, "w") as handle:
        save_weights_to_hdf5_group(handle, donor)

    cm = build_classifier("mobilenet_v2", 3, input_size=96, alpha=0.35, weights="imagenet")
    for got, want in zip(cm.base.weights, donor.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    # Pretrained BatchNorm is pinned to inference mode from the start.
    assert all(not layer.trainable for layer in cm.base.layers if isinstance(layer, keras.layers.BatchNormalization))
