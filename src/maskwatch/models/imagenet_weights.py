"""Find keras.applications ImageNet weight files without surprises.

Why not let Keras fetch them: offline (CI, a locked-down server) Keras dies with a urllib
traceback deep in `get_file`. We look in the Keras cache first, download through the public
`keras.utils.get_file` only when allowed, and otherwise raise a MaskwatchError that says which
file is missing and where to put it. Set ``MASKWATCH_OFFLINE=1`` to never try the network.
"""

from __future__ import annotations

import os
from pathlib import Path

from maskwatch.errors import ConfigError, MaskwatchError
from maskwatch.home import offline

KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
MOBILENET_V2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
MOBILENET_V2_SIZES = (96, 128, 160, 192, 224)
# md5 of the no-top InceptionV3 file, as keras.applications checks it.
INCEPTION_V3_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"


def keras_cache_dir() -> Path:
    """The folder keras.utils.get_file caches into: $KERAS_HOME or ~/.keras (else /tmp/.keras)."""
    if "KERAS_HOME" in os.environ:
        base = Path(os.environ["KERAS_HOME"]).expanduser()
    else:
        home = Path("~").expanduser()
        base = (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"
    if base.exists() and not os.access(base, os.W_OK):
        base = Path("/tmp/.keras")
    return base


def mobilenet_v2_file(alpha: float, size: tuple[int, int]) -> tuple[str, str, str | None]:
    """(file name, URL, md5 or None) of the no-top MobileNetV2 weights Keras would load."""
    if float(alpha) not in MOBILENET_V2_ALPHAS:
        raise ConfigError(f"mobilenet_v2: ImageNet weights exist only for alpha in {MOBILENET_V2_ALPHAS}, got {alpha}")
    rows = size[0] if size[0] == size[1] and size[0] in MOBILENET_V2_SIZES else 224  # Keras' own fallback
    name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"
    return name, f"{KERAS_WEIGHTS_URL}mobilenet_v2/{name}", None


def inception_v3_file() -> tuple[str, str, str | None]:
    name = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
    return name, f"{KERAS_WEIGHTS_URL}inception_v3/{name}", INCEPTION_V3_MD5


def imagenet_weights_path(backbone: str, file_name: str, url: str, md5: str | None = None) -> str:
    """Local path of a keras.applications weight file: cached, or downloaded if allowed.

    Raises MaskwatchError naming the file and the cache folder when it is not cached and
    cannot (or may not) be downloaded.
    """
    cache = keras_cache_dir() / "models"
    cached = cache / file_name
    if cached.is_file():
        return str(cached)
    how_to_fix = f"download {url} and put it in {cache}/ (or set KERAS_HOME), or build with weights=None"
    if offline():
        raise MaskwatchError(
            f"{backbone}: ImageNet weights {file_name} are not in the Keras cache {cache} and "
            f"MASKWATCH_OFFLINE is set; {how_to_fix}"
        )
    import keras

    try:
        return keras.utils.get_file(
            file_name, url, cache_subdir="models", cache_dir=str(cache.parent), file_hash=md5, hash_algorithm="md5"
        )
    except Exception as exc:  # keras raises a bare Exception("URL fetch failure ...") when offline
        raise MaskwatchError(
            f"{backbone}: ImageNet weights {file_name} are not in the Keras cache {cache} and could not "
            f"be downloaded ({str(exc).splitlines()[0][:200]}); {how_to_fix}"
        ) from None
