"""Read a legacy (pre-zip) PyTorch checkpoint into numpy arrays, without PyTorch and safely.

Why: the pretrained EfficientNet-Lite0 weights ship only as a `.pth` file, and `torch.load` is
`pickle.load`: a pickle can name any Python callable and have it run (``os.system``...). This
reader lets the pickle name only the few globals a plain ``state_dict`` needs and maps each to a
numpy-producing stand-in; anything else is refused before it can run.

The legacy format (``torch.save(..., _use_new_zipfile_serialization=False)``) is five things in a
row: a pickled magic number, a pickled protocol version (1001), a pickled ``sys_info`` dict, the
pickled object itself (tensors point at storages by key through ``persistent_load``), a pickled
list of storage keys, then for each key the raw storage: an int64 element count followed by the
little-endian element bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskwatch.errors import ModelFileError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# torch storage class name -> little-endian numpy dtype (bfloat16 has no numpy dtype: refused).
STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


# What a malformed (not malicious) pickle stream raises while being read.
_PARSE_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
                 OverflowError, RecursionError)  # fmt: skip


class UnsafeCheckpointError(ModelFileError, pickle.UnpicklingError):
    """A checkpoint asked for something a weights file never needs (a forbidden global...)."""


@dataclass(frozen=True)
class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co: only its dtype matters."""

    name: str
    dtype: np.dtype


class _Storage:
    """A storage announced by the pickle; its bytes come after the pickle, so filled in later."""

    def __init__(self, key: str, dtype: np.dtype, numel: int) -> None:
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.data: np.ndarray | None = None


@dataclass(frozen=True)
class _TensorRef:
    """What ``torch._utils._rebuild_tensor_v2`` would build, kept until the storages are read."""

    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *rest):
    # Same arguments as torch._utils._rebuild_tensor_v2; validated, never executed as torch code.
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("tensor without a storage")
    ints = (storage_offset, *size, *stride)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints):
        raise pickle.UnpicklingError(f"tensor with bad offset/size/stride {storage_offset}, {size}, {stride}")
    if len(size) != len(stride):
        raise pickle.UnpicklingError(f"tensor size {size} and stride {stride} differ in rank")
    return _TensorRef(storage, storage_offset, tuple(size), tuple(stride))


class _RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only the globals of a tensor state_dict (Python docs'
    "Restricting Globals" recipe) and hands storages out through ``persistent_load``."""

    def __init__(self, file: io.BufferedIOBase, path: str, storages: dict[str, _Storage] | None = None) -> None:
        super().__init__(file)
        self._path = path
        self._storages = storages

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name, STORAGE_DTYPES[name])
        raise UnsafeCheckpointError(
            f"{self._path}: refusing to load, the pickle asks for the global {module}.{name}, "
            "which a weights file never needs (only tensors and OrderedDict are allowed)"
        )

    def persistent_load(self, pid):
        # torch writes ('storage', storage type, key, location, numel, view_metadata).
        if self._storages is None:
            raise UnsafeCheckpointError(f"{self._path}: unexpected storage reference outside the state_dict pickle")
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise UnsafeCheckpointError(f"{self._path}: unsupported persistent id {str(pid)[:80]!r}")
        _, storage_type, key, _location, numel, view = pid
        if view is not None:
            raise UnsafeCheckpointError(f"{self._path}: storage views (torch < 0.4 files) are not supported")
        if not isinstance(storage_type, _StorageType):
            raise UnsafeCheckpointError(f"{self._path}: storage of unknown type {storage_type!r}")
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise UnsafeCheckpointError(f"{self._path}: bad storage record {key!r}, {numel!r}")
        storage = self._storages.get(key)
        if storage is None:
            storage = self._storages[key] = _Storage(key, storage_type.dtype, numel)
        elif storage.dtype != storage_type.dtype or storage.numel != numel:
            raise UnsafeCheckpointError(f"{self._path}: storage {key} announced twice with different types/sizes")
        return storage


def load_torch_checkpoint(path: str | os.PathLike, expected_sha256: str | None = None) -> dict[str, np.ndarray]:
    """Return the ``{name: array}`` state_dict of a legacy-format ``.pth`` file.

    Raises `UnsafeCheckpointError` (also a `pickle.UnpicklingError`) if the file asks for any
    global beyond tensors/OrderedDict, and `ModelFileError` if it is missing, truncated, has a
    different sha256 than `expected_sha256`, or is not a legacy torch checkpoint (zip-format
    files from torch >= 1.6 are refused with a hint).
    """
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{name}: cannot read checkpoint ({exc.strerror or exc})") from None
    if expected_sha256 is not None:
        actual = hashlib.sha256(raw).hexdigest()
        if actual != expected_sha256.lower():
            raise ModelFileError(
                f"{name}: checksum mismatch (sha256 {actual[:16]}..., expected {expected_sha256[:16]}...): "
                "the file is corrupt or was modified; reinstall it"
            )
    if raw[:4] == b"PK\x03\x04":
        raise ModelFileError(f"{name}: zip-format torch checkpoint; only the legacy (pre-1.6) format is supported")
    stream = io.BytesIO(raw)
    try:
        return _read_legacy(stream, name)
    except ModelFileError:
        raise
    except _PARSE_ERRORS as exc:
        raise ModelFileError(f"{name}: not a readable legacy torch checkpoint ({type(exc).__name__}: {exc})") from None


def _read_legacy(stream: io.BytesIO, name: str) -> dict[str, np.ndarray]:
    magic = _RestrictedUnpickler(stream, name).load()
    if magic != LEGACY_MAGIC:
        raise ModelFileError(f"{name}: not a legacy torch checkpoint (bad magic number)")
    protocol = _RestrictedUnpickler(stream, name).load()
    if protocol != LEGACY_PROTOCOL:
        raise ModelFileError(f"{name}: unsupported torch checkpoint protocol {protocol!r}")
    sys_info = _RestrictedUnpickler(stream, name).load()
    if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
        raise ModelFileError(f"{name}: big-endian checkpoints are not supported")

    storages: dict[str, _Storage] = {}
    obj = _RestrictedUnpickler(stream, name, storages).load()
    keys = _RestrictedUnpickler(stream, name).load()
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise ModelFileError(f"{name}: bad storage key list")
    if set(keys) != set(storages):
        raise ModelFileError(f"{name}: storage key list does not match the tensors in the file")

    buffer = stream.getbuffer()
    pos = stream.tell()
    for key in keys:
        storage = storages[key]
        if pos + 8 > len(buffer):
            raise ModelFileError(f"{name}: truncated (storage {key} missing)")
        count = int(np.frombuffer(buffer, dtype="<i8", count=1, offset=pos)[0])
        pos += 8
        if count != storage.numel:
            raise ModelFileError(f"{name}: storage {key} holds {count} elements, the pickle says {storage.numel}")
        nbytes = count * storage.dtype.itemsize
        if pos + nbytes > len(buffer):
            raise ModelFileError(f"{name}: truncated (storage {key} needs {nbytes} bytes)")
        storage.data = np.frombuffer(buffer, dtype=storage.dtype, count=count, offset=pos)
        pos += nbytes
    if pos != len(buffer):
        raise ModelFileError(f"{name}: {len(buffer) - pos} unexpected bytes after the last storage")

    if not isinstance(obj, dict):
        raise ModelFileError(f"{name}: expected a state_dict (a dict of tensors), found {type(obj).__name__}")
    state: dict[str, np.ndarray] = OrderedDict()
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, _TensorRef):
            raise ModelFileError(f"{name}: entry {key!r} is not a tensor")
        state[key] = _materialise(value, name, key)
    return state


def _materialise(ref: _TensorRef, name: str, key: str) -> np.ndarray:
    data = ref.storage.data
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride, strict=True)) if all(ref.size) else 0
    if data is None or (all(ref.size) and last >= data.size) or ref.offset > data.size:
        raise ModelFileError(f"{name}: tensor {key} reaches outside its storage")
    if not all(ref.size):
        return np.zeros(ref.size, dtype=data.dtype.newbyteorder("="))
    itemsize = data.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        data[ref.offset :], shape=ref.size, strides=[s * itemsize for s in ref.stride], writeable=False
    )
    return np.array(view, dtype=data.dtype.newbyteorder("="), copy=True)
