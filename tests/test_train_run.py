"""Real (tiny) training runs on slices of ../shared/data: run folder, bad files, interrupt + resume.

Models are small on purpose (simple_cnn / EfficientNet-Lite0 at 32 px, a few dozen faces) so each
run takes seconds on 2 CPU cores; what is checked is the bookkeeping, not the accuracy.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

pytestmark = pytest.mark.slow

keras = pytest.importorskip("keras")


def history_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "history.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class InterruptAt(keras.callbacks.Callback):
    """Raise KeyboardInterrupt (as Ctrl-C would) in the middle of epoch `epoch` (0-based, global)."""

    def __init__(self, epoch: int, batch: int = 0) -> None:
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise KeyboardInterrupt


@pytest.fixture
def folder_with_bad_files(tmp_path, data_dir) -> Path:
    """20 real faces per class copied from mask2, plus a truncated JPEG and an empty file."""
    root = tmp_path / "faces"
    for label in ("with_mask", "without_mask"):
        (root / label).mkdir(parents=True)
        for src in sorted((data_dir / "mask2" / label).glob("cdeb_*.jpg"))[:20]:
            shutil.copy(src, root / label / src.name)
    good = next((root / "with_mask").iterdir()).read_bytes()
    (root / "with_mask" / "truncated.jpg").write_bytes(good[:200])
    (root / "without_mask" / "empty.jpg").write_bytes(b"")
    return root


def test_cli_run_writes_the_run_folder_and_counts_bad_files(tmp_path, folder_with_bad_files):
    from typer.testing import CliRunner

    from maskwatch.classifier import Classifier
    from maskwatch.cli import app
    from maskwatch.train.config import load_config

    config = tmp_path / "tiny.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data": {"sources": [{"type": "folder", "path": str(folder_with_bad_files)}], "val": 0.3, "test": 0.1},
                "model": {"name": "simple_cnn", "weights": None, "options": {"filters": [8, 16]}},
                "train": {"batch_size": 8, "lr": 0.003},
            }
        )
    )
    args = ["train", "-c", str(config), "--name", "cli", "--root", str(tmp_path / "runs"), "--epochs", "2"]
    args += ["--set", "model.input_size=32", "--no-progress", "--no-evaluate"]
    result = CliRunner().invoke(app, args)
    # Two bad files were skipped: the run finishes, and its exit code says so (1, not 0).
    assert result.exit_code == 1, result.output + repr(result.exception)
    assert "2 training input(s) skipped, 40 faces used" in result.stderr
    run = tmp_path / "runs" / "cli"
    assert result.stdout.strip().endswith(str(run / "checkpoints" / "best.keras"))

    for name in ("config.yaml", "train.log", "history.csv", "split.csv", "summary.json"):
        assert (run / name).is_file(), name
    for name in ("best.keras", "best.keras.json", "last.keras", "last.keras.json", "state.json"):
        assert (run / "checkpoints" / name).is_file(), name

    # The resolved config records the CLI overrides and reads back as a valid config.
    saved = load_config(run / "config.yaml")
    assert (saved.train.epochs, saved.model.input_size, saved.run.name) == (2, 32, "cli")

    rows = history_rows(run)
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert {r["phase"] for r in rows} == {"frozen"}  # simple_cnn has no backbone: no phase 2

    summary = json.loads((run / "summary.json").read_text())
    assert summary["labels"] == ["with_mask", "without_mask"]
    assert summary["data"]["skipped"]["count"] >= 2
    skipped_text = " ".join(f"{f['path']}: {f['reason']}" for f in summary["data"]["skipped"]["files"])
    assert "truncated.jpg" in skipped_text and "empty.jpg" in skipped_text
    counted = sum(sum(c.values()) for c in summary["data"]["counts"].values())
    assert counted == 40  # the two bad files are in no split
    val_losses = [float(r["val_loss"]) for r in rows]
    assert summary["best_val_loss"] == pytest.approx(min(val_losses), rel=1e-6)
    assert summary["best_epoch"] == int(np.argmin(val_losses)) + 1

    # The checkpoint carries its labels: the runtime classifier loads it and agrees with Keras.
    clf = Classifier.load(run / "checkpoints" / "best.keras")
    assert clf.labels == ["with_mask", "without_mask"] and clf.input_size == (32, 32)
    faces = [np.asarray(np.random.default_rng(0).integers(0, 255, (50, 40, 3)), dtype=np.uint8)]
    model = keras.saving.load_model(run / "checkpoints" / "best.keras", compile=False)
    expected = np.asarray(model(clf.prepare(faces), training=False))
    np.testing.assert_allclose(clf.predict(faces), expected, atol=1e-6)

    again = CliRunner().invoke(app, args)  # an existing run is never overwritten by accident
    assert again.exit_code != 0 and "--resume" in str(again.exception)
    (run / ".lock").write_text(f"{os.getppid()}\n")  # a live process "holds" the run folder
    busy = CliRunner().invoke(app, ["train", "--resume", "--name", "cli", "--root", str(tmp_path / "runs")])
    assert busy.exit_code != 0 and "still training" in str(busy.exception)

    # Without the bad files every input is used: exit 0, nothing said about skips.
    (folder_with_bad_files / "with_mask" / "truncated.jpg").unlink()
    (folder_with_bad_files / "without_mask" / "empty.jpg").unlink()
    clean_args = [*args[:4], "clean", *args[5:8], "1", *args[9:]]  # run "clean", 1 epoch
    clean = CliRunner().invoke(app, clean_args)
    assert clean.exit_code == 0, clean.output + repr(clean.exception)
    assert "training input(s) skipped" not in clean.stderr
    assert json.loads((tmp_path / "runs" / "clean" / "summary.json").read_text())["data"]["skipped"]["count"] == 0


def test_interrupt_and_resume_in_both_phases(tmp_path, mask2_config):
    from maskwatch.train import train

    config = mask2_config(
        sample_per_class=24,
        val=0.25,
        test=0.1,
        model={"name": "efficientnet_lite0", "input_size": 32, "weights": "imagenet"},
        train={"epochs": 3, "batch_size": 12, "early_stopping": 0, "reduce_lr_patience": 0},
        finetune={"epochs": 2, "fraction": 0.2},
    )
    run = tmp_path / "runs" / "r"
    state_file = run / "checkpoints" / "state.json"

    # 1) Ctrl-C in the 2nd epoch of phase 1 (head trained on cached features).
    with pytest.raises(KeyboardInterrupt):
        train(config, name="r", callbacks=[InterruptAt(epoch=1)], progress=False)
    state = json.loads(state_file.read_text())
    assert (state["phase"], state["epochs_done"], state["status"]) == ("frozen", 1, "interrupted")
    assert len(history_rows(run)) == 1
    cache_files = sorted(p.name for p in (run / "cache").glob("*.npy"))
    assert len(cache_files) == 2  # train + val features

    # 2) Resume: finishes phase 1 from epoch 2 (features read back, not recomputed), then Ctrl-C in phase 2.
    with pytest.raises(KeyboardInterrupt):
        train(run, resume=True, callbacks=[InterruptAt(epoch=4)], progress=False)
    state = json.loads(state_file.read_text())
    assert (state["phase"], state["epochs_done"], state["finetune_start"]) == ("finetune", 4, 3)
    assert sorted(p.name for p in (run / "cache").glob("*.npy")) == cache_files
    assert "train features read from cache" in (run / "train.log").read_text()
    best_before = state["best_val_loss"]

    # 3) Resume again (by name): the last phase-2 epoch runs and the run finishes.
    result = train(name="r", resume=True, root=str(tmp_path / "runs"), progress=False)
    rows = history_rows(run)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3, 4]  # each epoch exactly once, in order
    assert [r["phase"] for r in rows] == ["frozen"] * 3 + ["finetune"] * 2
    state = json.loads(state_file.read_text())
    assert (state["phase"], state["status"], state["epochs_done"]) == ("done", "finished", 5)

    # The best checkpoint is the best epoch over all three sessions, never a worse later one.
    val_losses = [float(r["val_loss"]) for r in rows]
    assert result.best_val_loss == pytest.approx(min(val_losses), rel=1e-6)
    assert result.best_val_loss <= best_before
    assert result.best_epoch == int(np.argmin(val_losses)) + 1
    best = keras.saving.load_model(result.best_model, compile=False)
    assert best.count_params() > 0 and result.labels == ["with_mask", "without_mask"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["phases"]["frozen"]["epochs"] == 3 and summary["phases"]["finetune"]["epochs"] == 2
