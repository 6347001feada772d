"""ONNX: the model for ONNX Runtime (and everything else that reads ONNX).

Keras exports through tf2onnx. The opset is pinned so the file loads in any ONNX Runtime from
1.14 on, rather than whatever the converter defaults to. Besides the sidecar json, the labels and
input size go into the file's own `metadata_props`, so the file stays self-describing when it is
copied alone (Netron and `onnxruntime`'s `get_modelmeta()` show them).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from maskwatch.atomic import atomic_write_bytes
from maskwatch.errors import MaskwatchError

#: ONNX opset written (ONNX Runtime >= 1.14 runs it; tf2onnx 1.16+ writes it).
OPSET = 17


def export_onnx(model, path: str | os.PathLike, metadata: dict | None = None, opset: int = OPSET) -> Path:
    """Convert `model` to `.onnx` at `path` (atomically), with `metadata` as string metadata_props."""
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".onnx-export-") as tmp:
        raw = Path(tmp) / "model.onnx"
        try:
            model.export(str(raw), format="onnx", verbose=False, opset_version=opset)
        except (ValueError, RuntimeError, TypeError) as exc:
            raise MaskwatchError(f"{path}: ONNX conversion failed ({exc})") from exc
        proto = onnx.load(str(raw))
    props = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    onnx.helper.set_model_props(proto, props)
    onnx.checker.check_model(proto)
    return atomic_write_bytes(path, proto.SerializeToString())
