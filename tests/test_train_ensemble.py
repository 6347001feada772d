"""An ensemble run (`model.members: 2`) on a real mask2 slice: two members, resumable, one averaged model.

Tiny on purpose (EfficientNet-Lite0 at 32 px, 24 faces per class): what is checked is that the
members are real, different runs, that a cut-off member resumes, and that the run's best.keras is
exactly the mean of the members' best models, and exports to one TFLite file that agrees with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

pytestmark = pytest.mark.slow

keras = pytest.importorskip("keras")


class InterruptAt(keras.callbacks.Callback):
    """Ctrl-C at the first batch of the `calls`-th epoch that starts (counted over every network)."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls, self.seen = calls, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.seen += 1

    def on_train_batch_end(self, batch, logs=None):
        if self.seen == self.calls:
            raise KeyboardInterrupt


def test_ensemble_run_trains_resumes_and_averages_its_members(tmp_path, mask2_config):
    from maskwatch.data import load_faces
    from maskwatch.evaluate.runs import run_split
    from maskwatch.export import export_model
    from maskwatch.models import member_count
    from maskwatch.train import train

    config = mask2_config(
        sample_per_class=24,
        val=0.25,
        test=0.1,
        model={"name": "efficientnet_lite0", "input_size": 32, "weights": "imagenet", "members": 2},
        train={"epochs": 2, "batch_size": 12, "early_stopping": 0, "reduce_lr_patience": 0, "seed": 5},
        finetune={"epochs": 1, "fraction": 0.2},
    )
    run = tmp_path / "runs" / "ens"
    # Member 0: 3 epochs (2 + 1); Ctrl-C in member 1's second epoch.
    with pytest.raises(KeyboardInterrupt):
        train(config, name="ens", callbacks=[InterruptAt(calls=5)], progress=False)
    member0 = json.loads((run / "members/0/checkpoints/state.json").read_text())
    member1 = json.loads((run / "members/1/checkpoints/state.json").read_text())
    assert (member0["status"], member0["epochs_done"]) == ("finished", 3)
    assert member1["epochs_done"] == 1 and member1["phase"] == "frozen"
    assert not (run / "checkpoints/best.keras").exists()

    result = train(run, resume=True, progress=False)
    seeds = [yaml.safe_load((run / f"members/{i}/config.yaml").read_text())["train"]["seed"] for i in (0, 1)]
    assert seeds == [5, 6]
    assert json.loads((run / "members/0/checkpoints/state.json").read_text())["epochs_done"] == 3  # not retrained
    assert json.loads((run / "members/1/checkpoints/state.json").read_text())["status"] == "finished"
    history = (run / "history.csv").read_text().splitlines()
    assert history[0].startswith("member,") and len(history) == 1 + 6

    ensemble = keras.saving.load_model(result.best_model, compile=False, safe_mode=True)
    assert member_count(ensemble) == 2
    assert json.loads(Path(f"{result.best_model}.json").read_text())["members"] == 2
    members = [keras.saving.load_model(run / f"members/{i}/checkpoints/best.keras", compile=False) for i in (0, 1)]
    x, _, skipped = load_faces(run_split(run, "val"), (32, 32), progress=False)
    assert not skipped and len(x) > 10
    x = x.astype(np.float32)
    p0, p1, pe = (m.predict(x, verbose=0) for m in (*members, ensemble))
    assert np.abs(p0 - p1).max() > 1e-3  # two different networks, not one trained twice
    np.testing.assert_allclose(pe, (p0 + p1) / 2, atol=1e-5)

    exported = export_model(result.best_model, tmp_path / "export", formats=["tflite_float16"], representative=x)
    sidecar = json.loads(Path(f"{exported['tflite_float16']}.json").read_text())
    assert sidecar["members"] == 2 and sidecar["parity"]["top1_agreement"] == 1.0
