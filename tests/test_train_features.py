"""The phase-1 shortcuts must not change the model: cached features and the augmentation pipeline."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def faces(data_dir):
    """24 real mask2 faces (both classes) at 32 px, loaded the way training loads them."""
    from maskwatch.data import load_faces, load_folder_dataset, sample_per_class

    ds = load_folder_dataset(data_dir / "mask2", manifest=data_dir / "MANIFEST.csv")
    x, y, skipped = load_faces(sample_per_class(ds, 12, seed=1), (32, 32), progress=False)
    assert len(x) == 24 and not skipped
    return x, y


def test_head_on_cached_features_equals_the_full_model(tmp_path, faces):
    from maskwatch.models import build_classifier, set_trainable
    from maskwatch.train.features import cache_key, cached_features

    x, y = faces
    cm = build_classifier("efficientnet_lite0", num_classes=2, input_size=32, weights="imagenet")
    set_trainable(cm, "frozen")
    assert not cm.features.trainable_weights  # frozen: the features cannot change while the head trains

    feats, path, hit = cached_features(cm.features, x, tmp_path, "train", batch_size=10)
    assert not hit and path.is_file() and feats.shape == (24, cm.features.output_shape[-1])
    again, path2, hit2 = cached_features(cm.features, x, tmp_path, "train", batch_size=7)
    assert hit2 and path2 == path
    np.testing.assert_array_equal(again, feats)

    # Train only the head on the cached vectors, then plug it back: the full model agrees.
    cm.head.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    cm.head.fit(feats, y, epochs=2, batch_size=8, verbose=0)
    from_cache = np.asarray(cm.head(feats, training=False))
    full = np.asarray(cm.model(x.astype(np.float32), training=False))
    np.testing.assert_allclose(from_cache, full, atol=1e-5)
    assert np.abs(full - 0.5).max() > 1e-3  # the head really learned something (not a constant 0.5)

    # Other pixels or other backbone weights never reuse the file.
    other = x.copy()
    other[0, 0, 0, 0] ^= 1
    assert cache_key(other, cm.features) != cache_key(x, cm.features)
    base_weights = cm.base.get_weights()
    base_weights[0] = base_weights[0] + 1e-3
    cm.base.set_weights(base_weights)
    assert cache_key(x, cm.features) != path.stem.split("-", 1)[1]


def test_augmentation_is_train_only_and_stays_in_pixel_range(faces):
    from maskwatch.train.augment import build_augmenter
    from maskwatch.train.config import AugmentConfig, load_config
    from maskwatch.train.fitting import make_dataset

    x, y = faces
    cfg = load_config({"train": {"batch_size": 8}, "augment": {"rotation": 0.1, "shear": 0.2, "brightness": 0.3}})
    names = [layer.__class__.__name__ for layer in build_augmenter(cfg.augment).layers]
    assert names == [
        "RandomFlip", "RandomRotation", "RandomTranslation", "RandomShear", "RandomZoom", "RandomBrightness",
        "RandomContrast",
    ]  # fmt: skip
    assert (
        build_augmenter(AugmentConfig(rotation=0, shift=0, shear=0, zoom=0, flip=False, brightness=0, contrast=0))
        is None
    )

    plain = np.concatenate([b.numpy() for b, _ in make_dataset(x, y, cfg, augment=False, shuffle=False)])
    np.testing.assert_array_equal(plain, x.astype(np.float32))  # validation data: untouched

    augmented = [(b.numpy(), t.numpy()) for b, t in make_dataset(x, y, cfg, augment=True, shuffle=False)]
    images = np.concatenate([b for b, _ in augmented])
    assert images.shape == plain.shape and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 255.0
    assert np.abs(images - plain).mean() > 1.0  # pixels really changed
    np.testing.assert_array_equal(np.concatenate([t for _, t in augmented]), y)  # labels follow their images
    # Same face, same geometry budget: still strongly correlated with the original (not noise).
    corr = np.corrcoef(images.reshape(len(x), -1).mean(axis=1), plain.reshape(len(x), -1).mean(axis=1))[0, 1]
    assert corr > 0.5
