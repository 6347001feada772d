"""Training config: YAML + dotted overrides, every bad key or value named in the error (no TensorFlow)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from maskwatch.errors import ConfigError
from maskwatch.train.config import Config, describe_keys, load_config, parse_override, resolve_paths, validate_for_run
from maskwatch.train.rundir import merge_overrides

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def minimal(data_dir: Path) -> dict:
    return {"data": {"sources": [{"type": "folder", "path": str(data_dir / "mask2")}]}}


def test_shipped_configs_load_and_point_at_the_data(data_dir):
    shared = (ROOT.parent / "shared" / "data").resolve()
    for name in ("default.yaml", "example_small.yaml"):
        cfg = resolve_paths(load_config(CONFIGS / name), base=ROOT)
        assert cfg.data.labels == ["with_mask", "without_mask", "mask_weared_incorrect"]
        assert [s.type for s in cfg.data.sources][:2] == ["folder", "voc"]  # mask2, then voc3
        assert cfg.model.name == "efficientnet_lite0"
        for source in cfg.data.sources:  # the configs' relative paths assume ../shared/data
            if data_dir.resolve() == shared and Path(source.path).is_relative_to(shared):
                assert Path(source.path).is_dir(), source.path
    default = load_config(CONFIGS / "default.yaml")
    assert default.data.sources[0].manifest.endswith("MANIFEST.csv")
    assert not default.train.augment and default.train.cache_features  # phase 1 uses the feature cache
    assert default.finetune.augment


def test_overrides_are_typed_and_validated(data_dir):
    cfg = load_config(
        minimal(data_dir),
        ["train.epochs=3", "train.lr=1e-4", "finetune.augment=false", "data.sources.0.margin=0.25"]
        + ["model.weights=null"],
    )
    assert cfg.train.epochs == 3 and isinstance(cfg.train.epochs, int)
    assert cfg.train.lr == pytest.approx(1e-4)
    assert cfg.finetune.augment is False
    assert cfg.data.sources[0].margin == 0.25
    assert cfg.model.weights is None
    again = cfg.with_overrides({"train.batch_size": 8})
    assert again.train.batch_size == 8 and again.train.epochs == 3
    assert load_config(cfg.to_dict()) == cfg  # the YAML written to a run folder reads back the same
    assert load_config(yaml.safe_load(cfg.to_yaml())) == cfg


@pytest.mark.parametrize(
    ("override", "names"),
    [
        ("train.epohcs=3", ["train.epohcs", "unknown", "epochs"]),
        ("trian.epochs=3", ["trian", "unknown", "train"]),
        ("train.lr=5", ["train.lr", "out of range", "1e-07", "1"]),
        ("train.batch_size=0", ["train.batch_size", "out of range", "1 .. 4,096"]),
        ("data.val=0.9", ["data.val", "0.01 .. 0.5"]),
        ("augment.rotation=-0.1", ["augment.rotation", "0 .. 0.5"]),
        ("finetune.fraction=1.5", ["finetune.fraction", "0 .. 1"]),
        ("train.epochs=three", ["train.epochs", "integer"]),
        ("train.augment=maybe", ["train.augment", "true or false"]),
        ("data.sources.0.type=coco", ["data.sources.0.type", "folder, voc"]),
        ("data.sources.4.path=x", ["data.sources.4", "0..0"]),
        ("model.weights=random", ["model.weights", "imagenet"]),
        ("train.min_lr=0.01", ["train.min_lr", "train.lr"]),
    ],
)
def test_bad_values_name_the_key_and_the_allowed_range(data_dir, override, names):
    with pytest.raises(ConfigError) as info:
        load_config(minimal(data_dir), [override])
    for text in names:
        assert text in str(info.value)


def test_bad_files_and_sections(tmp_path, data_dir):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(listed)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("train.epochs")
    with pytest.raises(ConfigError, match="data.val \\+ data.test"):
        load_config(minimal(data_dir), {"data.val": 0.5, "data.test": 0.45})
    with pytest.raises(ConfigError, match="data.sources.0.path: .* is not a folder"):
        validate_for_run(load_config({"data": {"sources": [{"path": str(tmp_path / "nope")}]}}))
    with pytest.raises(ConfigError, match="data.sources: empty"):
        validate_for_run(Config())


def test_typed_options_map_to_keys():
    merged = merge_overrides(["train.lr=0.01"], {"epochs": 4, "finetune__fraction": 0.5, "model": "simple_cnn"})
    assert merged == {"train.lr": 0.01, "train.epochs": 4, "finetune.fraction": 0.5, "model.name": "simple_cnn"}
    with pytest.raises(ConfigError, match="epohcs: unknown option"):
        merge_overrides(None, {"epohcs": 3})


def test_every_key_is_documented():
    rows = describe_keys()
    keys = [key for key, _, _ in rows]
    assert len(keys) == len(set(keys))
    assert {"train.epochs", "finetune.lr", "augment.shear", "data.sample_per_class", "run.root"} <= set(keys)
    assert all(note for _, _, note in rows)


def test_cli_reports_config_errors_without_a_traceback(tmp_path, data_dir):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(minimal(data_dir)))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, "-m", "maskwatch", "train", "-c", str(config), "--root", str(tmp_path / "runs")]
    bad = subprocess.run([*cmd, "--set", "train.epochs=-1"], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2
    assert "train.epochs: -1 is out of range" in bad.stderr
    assert "Traceback" not in bad.stderr
    unknown = subprocess.run([*cmd, "--set", "model.nmae=x"], capture_output=True, text=True, env=env, timeout=120)
    assert unknown.returncode == 2 and "model.nmae: unknown key" in unknown.stderr
    assert not (tmp_path / "runs").exists()  # nothing is created before the config is valid
