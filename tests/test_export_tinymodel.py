"""A tiny CNN trained for a few epochs on real mask2 face crops, shared by the evaluate, export
and classify tests (built once per session through `functools.cache`).

A model with random weights gives flat ~0.5 outputs, where any export looks "in agreement";
this one is trained until it separates the classes on held-out groups, so parity and metric
tests compare real, confident predictions.
"""

from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskwatch.images import load_image, resize_face

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MASKWATCH_SHARED", ROOT.parent / "shared")) / "data"
LABELS = ["with_mask", "without_mask"]
INPUT = (64, 64)
TRAIN_PER_CLASS = 200
TEST_PER_CLASS = 40


@dataclass
class TinyBundle:
    model: object  # keras.Model
    keras_path: Path  # the model saved as .keras (+ sidecar json)
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_paths: list[str]
    labels: list[str]
    train_paths: list[str]
    history: dict[str, list[float]]  # Keras History.history of the 12 epochs


def _split_files(data_dir: Path) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Train and test files per class from MANIFEST.csv, with no group in both."""
    with open(data_dir / "MANIFEST.csv", newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["file"].startswith("mask2/")]
    groups = sorted({r["group"] for r in rows})
    rng = np.random.default_rng(0)
    test_groups = set(rng.choice(groups, size=len(groups) // 5, replace=False).tolist())
    train, test = [], []
    for index, label in enumerate(LABELS):
        files = sorted(r["file"] for r in rows if r["class"] == label and r["group"] not in test_groups)
        held = sorted(r["file"] for r in rows if r["class"] == label and r["group"] in test_groups)
        train += [(f, index) for f in rng.choice(files, TRAIN_PER_CLASS, replace=False)]
        test += [(f, index) for f in rng.choice(held, TEST_PER_CLASS, replace=False)]
    return train, test


def _load(data_dir: Path, items: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    paths = [str(data_dir / f) for f, _ in items]
    x = np.stack([resize_face(load_image(p), INPUT) for p in paths])
    return x, np.array([y for _, y in items], dtype=np.int64), paths


def build_tiny_model():
    import keras

    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((*INPUT, 3)),
            layers.Rescaling(1 / 127.5, offset=-1),  # the contract: 0..255 in, scaling inside
            layers.Conv2D(16, 3, strides=2, activation="relu"),
            layers.Conv2D(32, 3, strides=2, activation="relu"),
            layers.Conv2D(64, 3, strides=2, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dropout(0.1),
            layers.Dense(len(LABELS), activation="softmax"),
        ],
        name="tiny_cnn",
    )


@functools.cache
def tiny_bundle(workdir: Path, data_dir: Path = DATA) -> TinyBundle:
    """Train (once per session) and save the tiny model under workdir."""
    import keras

    from maskwatch.classifier import ModelInfo, write_model_info

    keras.utils.set_random_seed(0)
    train, test = _split_files(data_dir)
    x_train, y_train, train_paths = _load(data_dir, train)
    x_test, y_test, test_paths = _load(data_dir, test)
    model = build_tiny_model()
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    fit = model.fit(
        x_train.astype(np.float32),
        y_train,
        epochs=12,
        batch_size=32,
        verbose=0,
        shuffle=True,
        validation_data=(x_test.astype(np.float32), y_test),
    )
    workdir.mkdir(parents=True, exist_ok=True)
    keras_path = workdir / "tiny.keras"
    model.save(keras_path)
    write_model_info(keras_path, ModelInfo(labels=LABELS, input_size=INPUT, backbone="tiny_cnn"))
    return TinyBundle(
        model, keras_path, x_train, y_train, x_test, y_test, test_paths, list(LABELS), train_paths, fit.history
    )


@functools.cache
def tiny_exports(workdir: Path) -> dict[str, Path]:
    """Every export format of the tiny model (once per session)."""
    from maskwatch.export import export_model

    bundle = tiny_bundle(workdir)
    return export_model(
        bundle.model,
        workdir / "exported",
        labels=bundle.labels,
        backbone="tiny_cnn",
        representative=bundle.x_train,
        source=bundle.keras_path,
    )


def test_tiny_model_learned_the_task(tmp_path_factory):
    """The shared model must beat chance clearly on held-out groups, or parity tests prove nothing."""
    bundle = tiny_bundle(tmp_path_factory.getbasetemp() / "tiny")
    probs = np.asarray(bundle.model(bundle.x_test.astype(np.float32), training=False))
    accuracy = float((probs.argmax(1) == bundle.y_test).mean())
    assert accuracy >= 0.75, accuracy
    # confident outputs, not a flat 0.5: many held-out faces get > 0.8 for some class
    assert float((probs.max(1) > 0.8).mean()) >= 0.4
