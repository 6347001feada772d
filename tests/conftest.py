"""Shared test fixtures: where the real data and the face-detector weights are.

Tests use small slices of ../shared/data (real images) and never download anything: the model
cache (MASKWATCH_HOME) points at ../shared/weights, laid out as the cache is.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MASKWATCH_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"
WEIGHTS = SHARED / "weights"

os.environ.setdefault("MASKWATCH_HOME", str(WEIGHTS))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"{DATA} is missing: the tests need ../shared/data beside the project")
    return DATA


@pytest.fixture
def mask2_config(data_dir, tmp_path):
    """Factory for the tiny training configs of the run tests: a real mask2 slice, runs under tmp_path/runs."""

    def make(*, sample_per_class: int, val: float, test: float, model: dict, train: dict, finetune: dict,
             evaluate: bool = False) -> dict:  # fmt: skip
        source = {"type": "folder", "path": str(data_dir / "mask2"), "manifest": str(data_dir / "MANIFEST.csv")}
        return {
            "data": {"sources": [source], "sample_per_class": sample_per_class, "val": val, "test": test},
            "model": model,
            "train": train,
            "finetune": finetune,
            "run": {"root": str(tmp_path / "runs"), "evaluate": evaluate},
        }

    return make


@pytest.fixture(scope="session")
def weights_dir() -> Path:
    return WEIGHTS


@pytest.fixture(scope="session")
def manifest_rows(data_dir: Path) -> list[dict]:
    with open(data_dir / "MANIFEST.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave files a person may want to look at (screenshots, annotated images)."""
    path = ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """Folder of the small trained model the classify/evaluate/export tests share (built once)."""
    return tmp_path_factory.getbasetemp() / "tiny"


@pytest.fixture(scope="session")
def bundle(workdir: Path):
    """The shared tiny trained model and its held-out faces (tests/test_export_tinymodel.py)."""
    from test_export_tinymodel import tiny_bundle

    return tiny_bundle(workdir)
