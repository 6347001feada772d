"""Atomic writes (maskwatch.atomic): the old file or the complete new one, never half of one."""

from __future__ import annotations

import os

import pytest

from maskwatch.atomic import AtomicFile, StagedPath, atomic_write_text, staged_path
from maskwatch.home import offline


def test_staged_path_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "model.tflite"
    target.write_bytes(b"old model")
    with pytest.raises(RuntimeError), staged_path(target) as tmp:
        tmp.write_bytes(b"half a mod")
        raise RuntimeError("converter crashed")
    assert target.read_bytes() == b"old model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.tflite"]
    with staged_path(target) as tmp:
        tmp.write_bytes(b"new model")
    assert target.read_bytes() == b"new model"


def test_atomic_file_commits_whole_or_leaves_the_old_file(tmp_path):
    target = tmp_path / "out" / "frames.jsonl"
    atomic_write_text(target, "old\n")
    with pytest.raises(KeyError), AtomicFile(target, "w") as handle:
        handle.write("new line 1\n")
        raise KeyError("crash mid-stream")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["frames.jsonl"]
    partial = AtomicFile(target, "w")
    partial.write("half")
    assert target.read_text() == "old\n"  # nothing visible before commit
    partial.abort()
    assert sorted(p.name for p in target.parent.iterdir()) == ["frames.jsonl"]
    with AtomicFile(target, "w") as handle:
        handle.write("a\nb\n")
    assert target.read_text() == "a\nb\n"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # an ordinary file, not mkstemp's 0600


def test_staged_path_refuses_a_writer_that_wrote_nothing(tmp_path):
    target = tmp_path / "model.onnx"
    with pytest.raises(FileNotFoundError, match="nothing was written"), staged_path(target):
        pass
    assert list(tmp_path.iterdir()) == []
    staged = StagedPath(target)
    assert staged.path is not None and staged.path.suffix == ".onnx" and not staged.path.exists()
    staged.path.write_bytes(b"x")
    assert staged.commit() == target and target.read_bytes() == b"x"
    with pytest.raises(RuntimeError, match="already committed"):
        staged.commit()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", False),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        ("1", True),
        ("yes", True),
        ("TRUE", True),
        ("on", True),
    ],
)
def test_one_offline_rule_for_every_download(monkeypatch, value, expected):
    from maskwatch.detect import model_cache
    from maskwatch.models import imagenet_weights

    monkeypatch.setenv("MASKWATCH_OFFLINE", value)
    assert offline() is expected
    assert model_cache.offline is offline and imagenet_weights.offline is offline
