"""The face + mask detector's settings: one typed model for `MaskDetector`, `maskwatch.detect()`
and `maskwatch detect` (the CLI options carry the same names), checked once with their ranges."""

from __future__ import annotations

from pydantic import Field

from maskwatch.settings import Settings

#: Face score threshold. OpenCV's sample uses 0.9, which drops most masked faces (a mask hides the
#: nose and mouth YuNet keys on). On voc3 (bench/bench_detect.py, 2x upscale) face recall /
#: precision are 0.79/0.71 at 0.5, 0.78/0.79 at 0.6, 0.75/0.84 at 0.7 and 0.27/0.99 at 0.9; the
#: pipeline's mAP@0.5 is flat from 0.5 to 0.6 and falls after, so 0.6 keeps recall and cuts
#: a quarter of the false boxes.
DEFAULT_SCORE = 0.6
#: IoU above which two face boxes are the same face.
DEFAULT_NMS = 0.3
#: Enlarge small images by up to this factor before detection (1.0 = off); the native-size pass
#: runs too (large faces). On voc3 (~400 px scenes, most faces under 32 px) recall goes 0.58 -> 0.78
#: (faces >= 32 px: 0.89 -> 0.92) for ~5x the detector time (5 -> 28 ms); 3x adds only 0.03 more
#: for another 2.7x.
DEFAULT_UPSCALE = 2.0
#: Tiles per side (0 or 1 = off). Each tile is enlarged like a small image, so tiling is how a
#: photo above UPSCALE_MAX_SIDE gets its small faces enlarged. Off by default: on voc3's small
#: scenes it finds nothing that upscaling does not (2x2 tiles + 2x: recall 0.772 vs 0.776).
DEFAULT_TILES = 0


class DetectorSettings(Settings):
    """How faces are found and kept; a value out of range is a ConfigError naming it."""

    conf: float = Field(DEFAULT_SCORE, ge=0.0, le=1.0, description="face score threshold")
    nms: float = Field(DEFAULT_NMS, gt=0.0, le=1.0, description="IoU above which two face boxes are merged")
    upscale: float = Field(
        DEFAULT_UPSCALE, ge=1.0, le=8.0, description="enlarge small images up to this factor (1: off)"
    )
    tiles: int = Field(DEFAULT_TILES, ge=0, le=8, description="also detect on a tiles x tiles grid (0: off)")
    min_face: float = Field(0.0, ge=0.0, description="ignore faces whose shorter side is below this (px)")
    threads: int | None = Field(None, ge=1, le=64, description="classifier threads (None: the runtime's choice)")
