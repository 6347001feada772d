"""The restricted reader of legacy torch checkpoints: reads the real Lite0 file, refuses anything
that asks for code, and refuses tampered or truncated copies. Needs no TensorFlow model."""

from __future__ import annotations

import os
import pickle
import shutil

import numpy as np
import pytest

from maskwatch.errors import MaskwatchError, ModelFileError
from maskwatch.models.efficientnet_lite import CHECKPOINT_SHA256, checkpoint_path
from maskwatch.models.torch_checkpoint import LEGACY_MAGIC, LEGACY_PROTOCOL, load_torch_checkpoint


@pytest.fixture(scope="module")
def real_checkpoint():
    return checkpoint_path()


def test_reads_the_real_checkpoint(real_checkpoint):
    state = load_torch_checkpoint(real_checkpoint, expected_sha256=CHECKPOINT_SHA256)
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_blocks.0._depthwise_conv.weight"].shape == (32, 1, 3, 3)
    assert state["_blocks.15._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert state["_conv_head.weight"].shape == (1280, 320, 1, 1)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn0.num_batches_tracked"].dtype == np.int64
    assert not any(k.startswith("_blocks.16.") for k in state)
    assert all(np.isfinite(v).all() for v in state.values())
    assert (state["_bn1.running_var"] > 0).all()  # a real BatchNorm, not garbage bytes


class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


def _legacy_file(path, payload: bytes, header: bool = True):
    parts = [pickle.dumps(LEGACY_MAGIC), pickle.dumps(LEGACY_PROTOCOL), pickle.dumps({"little_endian": True})]
    path.write_bytes((b"".join(parts) if header else b"") + payload + pickle.dumps([]))
    return path


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize(("func", "forbidden"), [(os.system, "system"), (eval, "eval")])
def test_refuses_pickles_that_ask_for_code(tmp_path, func, forbidden, header):
    marker = tmp_path / "pwned"
    arg = f"touch {marker}" if func is os.system else f"open({str(marker)!r}, 'w').close()"
    path = _legacy_file(tmp_path / "evil.pth", pickle.dumps({"w": _Evil(func, arg)}, protocol=2), header)
    with pytest.raises(pickle.UnpicklingError) as info:
        load_torch_checkpoint(path)
    assert isinstance(info.value, MaskwatchError)
    assert str(path) in str(info.value) and forbidden in str(info.value)
    assert not marker.exists()


def test_refuses_a_checkpoint_edited_to_call_eval(tmp_path, real_checkpoint):
    raw = real_checkpoint.read_bytes()
    needle = b"ctorch._utils\n_rebuild_tensor_v2\n"
    assert needle in raw
    path = tmp_path / "edited.pth"
    path.write_bytes(raw.replace(needle, b"cbuiltins\neval\n", 1))
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        load_torch_checkpoint(path)
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load_torch_checkpoint(path, expected_sha256=CHECKPOINT_SHA256)


def test_refuses_tampered_truncated_or_padded_checkpoints(tmp_path, real_checkpoint):
    raw = bytearray(real_checkpoint.read_bytes())
    flipped = tmp_path / "flipped.pth"
    raw[-1000] ^= 0xFF  # one weight byte: still parses, so only the pinned hash can tell
    flipped.write_bytes(raw)
    with pytest.raises(ModelFileError, match=r"flipped\.pth: checksum mismatch"):
        load_torch_checkpoint(flipped, expected_sha256=CHECKPOINT_SHA256)

    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(real_checkpoint.read_bytes()[:-5000])
    with pytest.raises(ModelFileError, match=r"truncated\.pth: truncated"):
        load_torch_checkpoint(truncated)

    padded = tmp_path / "padded.pth"
    padded.write_bytes(real_checkpoint.read_bytes() + b"\0" * 16)
    with pytest.raises(ModelFileError, match="16 unexpected bytes"):
        load_torch_checkpoint(padded)

    not_torch = tmp_path / "notes.pth"
    not_torch.write_text("hello", encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"notes\.pth"):
        load_torch_checkpoint(not_torch)
    with pytest.raises(ModelFileError, match="cannot read"):
        load_torch_checkpoint(tmp_path / "missing.pth")


def test_storage_bounds_are_checked(tmp_path, real_checkpoint):
    # Shrink the element count the pickle announces for the first storage: the raw section then
    # disagrees with the pickle and the reader must say so instead of reading past the tensor.
    raw = real_checkpoint.read_bytes()
    state_start = raw.index(b"ccollections\nOrderedDict\n")
    # first storage record: ... X\x03\x00\x00\x00cpu q\x07 M`\x03 (numel 864 as BININT2)
    needle = b"cpuq\x07M`\x03"
    at = raw.index(needle, state_start)
    path = tmp_path / "shrunk.pth"
    path.write_bytes(raw[:at] + b"cpuq\x07M_\x03" + raw[at + len(needle) :])
    with pytest.raises(ModelFileError, match="shrunk.pth"):
        load_torch_checkpoint(path)


def test_copy_of_real_checkpoint_loads_without_hash(tmp_path, real_checkpoint):
    copy = tmp_path / "copy.pth"
    shutil.copyfile(real_checkpoint, copy)
    a = load_torch_checkpoint(copy)
    b = load_torch_checkpoint(real_checkpoint, expected_sha256=CHECKPOINT_SHA256)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)
