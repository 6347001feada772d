"""Training configuration: pydantic models loaded from YAML, with dotted overrides.

Why typed models and not a free dict: every key has one documented default and one allowed
range, so a typo (`train.epohcs`) or a value out of range fails before any image is loaded, with
a message that names the key and says what is allowed (`maskwatch.settings`, the config mechanism
every stage shares). The resolved config (defaults filled in, overrides applied, paths made
absolute) is written to the run directory, so a run can be repeated or resumed from its own folder.

    cfg = load_config("configs/default.yaml", overrides=["train.epochs=3", "model.name=mobilenet_v2"])
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from maskwatch.errors import ConfigError
from maskwatch.settings import allowed, config_error, parse_override


def _opt(default: Any, help: str, range: tuple[float, float] | None = None) -> Any:
    """A config field with its allowed range and a one-line help kept next to it (choices: a Literal type)."""
    limits = {} if range is None else {"ge": range[0], "le": range[1]}
    if isinstance(default, list | dict):
        return Field(default_factory=lambda: type(default)(default), description=help, **limits)
    return Field(default, description=help, **limits)


class Section(BaseModel):
    """A config section: typed keys, unknown keys refused, numbers written as text accepted."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, coerce_numbers_to_str=True)


class SourceConfig(Section):
    """One data source: face crops per class, VOC or YOLO scenes cut into faces, or labelled whole photos."""

    type: Literal["folder", "voc", "yolo", "photos"] = _opt(
        "folder",
        "folder = one sub-folder per class of face crops; voc = images + VOC XML boxes; yolo = images/ + labels/ + "
        "data.yaml; photos = one sub-folder per class of whole photos, faces found by the face detector",
    )
    path: str = _opt("", "data root (relative paths are taken from the working directory)")
    manifest: str | None = _opt(None, "CSV with file,class,...,group columns: groups keep near-duplicates together")
    label_map: dict[str, str | None] | None = _opt(None, "rename labels, e.g. {mask: with_mask}; null drops a class")
    margin: float = _opt(0.1, "scenes/photos: margin added around each box, as a fraction of its size", (0.0, 1.0))
    min_face: int | None = _opt(None, "scenes/photos: skip faces smaller than this, px (None = default)", (0, 10_000))
    faces: Literal["largest", "all"] = _opt("largest", "photos: label the largest face, or all faces >= min_face")
    real: bool = _opt(True, "real photos (false for pasted-on or generated masks): evaluation reports real faces apart")


class DataConfig(Section):
    sources: list[SourceConfig] = _opt([], "list of {type, path, manifest?, label_map?, margin?, min_face?}")
    labels: list[str] | None = _opt(None, "class order of the model (None = labels found in the data)")
    val: float = _opt(0.15, "fraction of groups held out for validation", range=(0.01, 0.5))
    test: float = _opt(0.15, "fraction of groups held out for the final test (never trained on)", range=(0.0, 0.5))
    seed: int = _opt(42, "seed of the group split and of sampling", range=(0, 2**31 - 1))
    sample_per_class: int | None = _opt(None, "cap each class at this many samples before the split", (1, 10**7))
    class_weights: bool = _opt(True, "weight the loss by inverse class frequency (rare classes count more)")
    oversample: bool = _opt(False, "repeat minority-class samples in the train split until classes are balanced")
    detector_framing: bool = _opt(False, "train split: add a crop framed by the face detector for each scene face")


class ModelConfig(Section):
    name: str = _opt("efficientnet_lite0", "backbone from maskwatch.models.available_models()")
    input_size: int | None = _opt(None, "square input size in pixels (None = the backbone's default)", range=(16, 1024))
    weights: Literal["imagenet"] | None = _opt("imagenet", "imagenet (pretrained) or null (random init)")
    dropout: float = _opt(0.2, "dropout before the classifier layer", range=(0.0, 0.9))
    options: dict[str, Any] | None = _opt(None, "backbone options, e.g. {alpha: 0.35} for mobilenet_v2")
    members: int = _opt(1, "networks trained alike (seeds train.seed, +1, ...), probabilities averaged", range=(1, 8))


class AugmentConfig(Section):
    """Strengths of the Keras preprocessing layers applied to training images (0 = layer off)."""

    rotation: float = _opt(0.05, "RandomRotation factor, fraction of a full turn (0.05 = +-18 degrees)", (0.0, 0.5))
    shift: float = _opt(0.1, "RandomTranslation factor, fraction of height/width", range=(0.0, 0.5))
    shear: float = _opt(0.1, "RandomShear factor along x and y", range=(0.0, 1.0))
    zoom: float = _opt(0.1, "RandomZoom factor", range=(0.0, 0.9))
    flip: bool = _opt(True, "RandomFlip horizontal (faces are left/right symmetric, never upside down)")
    brightness: float = _opt(0.1, "RandomBrightness factor (on 0..255 pixels)", range=(0.0, 1.0))
    contrast: float = _opt(0.1, "RandomContrast factor", range=(0.0, 1.0))


class DegradeConfig(Section):
    """Camera-like degradation of training faces (probability of each step; 0 = off).

    Applied to the train split only, in this order, each step drawn independently: what entrance
    cameras and CCTV do to a face (few pixels, motion/focus blur, heavy JPEG, sensor noise,
    pixelation, IR/grayscale, bad exposure). See maskwatch.data.degrade.
    """

    copies: int = _opt(0, "degraded copies of every training face added to phase 1 (0 = none)", range=(0, 8))
    finetune: float = _opt(0.0, "probability that a phase-2 training face is degraded on the fly", range=(0.0, 1.0))
    downscale: float = _opt(0.5, "shrink to 10-48 px wide and back up", range=(0.0, 1.0))
    blur: float = _opt(0.3, "Gaussian or motion blur", range=(0.0, 1.0))
    jpeg: float = _opt(0.4, "JPEG re-encode at quality 20-70", range=(0.0, 1.0))
    noise: float = _opt(0.25, "Gaussian sensor noise", range=(0.0, 1.0))
    pixelate: float = _opt(0.1, "block pixelation", range=(0.0, 1.0))
    grayscale: float = _opt(0.15, "grayscale / IR-like (no colour)", range=(0.0, 1.0))
    exposure: float = _opt(0.3, "under- or over-exposure (gain and gamma)", range=(0.0, 1.0))
    box_jitter: float = _opt(0.0, "scene faces: random shift/scale of the crop box, fraction of its size", (0.0, 0.5))


class SmallFaceRule(Section):
    """Per-class weights for faces narrower than `below_width` source pixels (classifier.small_face_rule)."""

    below_width: float = _opt(32.0, "faces narrower than this many pixels in their image", range=(1.0, 10_000.0))
    decision_weights: dict[str, Annotated[float, Field(gt=0.0)]] = _opt({}, "label -> weight (others 1)")


class TrainConfig(Section):
    """Phase 1 (frozen backbone, higher learning rate) and the settings both phases share."""

    epochs: int = _opt(10, "phase 1 epochs: backbone frozen, only the head learns", range=(0, 10_000))
    lr: float = _opt(1e-3, "phase 1 learning rate (Adam)", range=(1e-7, 1.0))
    batch_size: int = _opt(32, "images per batch", range=(1, 4096))
    augment: bool = _opt(False, "augment in phase 1 (False allows the frozen-feature cache)")
    cache_features: bool = _opt(True, "phase 1 without augmentation: compute backbone features once, train the head")
    early_stopping: int = _opt(4, "stop a phase after this many epochs without val_loss progress (0 = off)", (0, 1000))
    reduce_lr_patience: int = _opt(2, "epochs without progress before the LR is reduced (0 = off)", range=(0, 1000))
    reduce_lr_factor: float = _opt(0.5, "factor applied to the LR on a plateau", range=(0.01, 0.99))
    min_lr: float = _opt(1e-6, "lower bound of ReduceLROnPlateau", range=(0.0, 1.0))
    seed: int = _opt(42, "seed of weights init, shuffling and augmentation", range=(0, 2**31 - 1))
    threads: int = _opt(2, "CPU threads TensorFlow may use", range=(1, 256))
    tune_decision: bool = _opt(True, "choose per-class decision weights on the validation split for macro-F1")
    decision_min_recall: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] | None = _opt(
        None, "with tune_decision: lowest validation recall per class the weights may leave, e.g. {with_mask: 0.98}"
    )
    small_faces: SmallFaceRule | None = _opt(
        None, "decision weights for faces narrower than below_width px, written to the model's sidecar"
    )


class FinetuneConfig(Section):
    """Phase 2: unfreeze the top of the backbone and train at a lower learning rate."""

    epochs: int = _opt(6, "phase 2 epochs (0 = no fine-tuning)", range=(0, 10_000))
    lr: float = _opt(1e-4, "phase 2 learning rate (Adam)", range=(1e-8, 1.0))
    fraction: float = _opt(0.3, "fraction of backbone layers (from the top) made trainable", range=(0.0, 1.0))
    augment: bool = _opt(True, "augment training images in phase 2")


class RunConfig(Section):
    name: str | None = _opt(None, "run folder name under root (None = a timestamp)")
    root: str = _opt("runs", "folder holding run folders")
    evaluate: bool = _opt(True, "run maskwatch.evaluate on the best model when training ends (if installed)")


class Config(Section):
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    degrade: DegradeConfig = Field(default_factory=DegradeConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    finetune: FinetuneConfig = Field(default_factory=FinetuneConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    def to_dict(self) -> dict:
        return self.model_dump()

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)

    def with_overrides(self, overrides: OverridesLike) -> Config:
        """A new Config with dotted overrides applied (and validated) on top of this one."""
        return config_from_dict(apply_overrides(self.to_dict(), overrides))


OverridesLike = Mapping[str, Any] | Iterable[str] | None
ConfigSource = str | os.PathLike | Mapping | Config | None


# ---------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------


def load_config(source: ConfigSource = None, overrides: OverridesLike = None) -> Config:
    """Read a YAML file (or take a dict / Config), apply dotted overrides, validate everything.

    `overrides` is either `{"train.epochs": 3}` or CLI-style strings `["train.epochs=3"]`; the
    value of a string is parsed as YAML, so `3`, `1e-4`, `true`, `null`, `[a, b]` get their types.
    """
    if source is None:
        raw: dict = {}
    elif isinstance(source, Config):
        raw = source.to_dict()
    elif isinstance(source, Mapping):
        raw = dict(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections (data, model, train, ...)")
    return config_from_dict(apply_overrides(raw, overrides))


def config_from_dict(raw: Mapping) -> Config:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config: expected a mapping of sections (data, model, train, ...), got {raw!r}")
    try:
        cfg = Config.model_validate(_nulls(raw))
    except ValidationError as exc:
        raise config_error(exc, Config) from None
    _check_consistency(cfg)
    return cfg


def _nulls(value: Any) -> Any:
    """ "none" / "null" / "" written as text (a CLI `--set key=none`) mean null, as YAML's null does."""
    if isinstance(value, Mapping):
        return {k: _nulls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nulls(v) for v in value]
    if isinstance(value, str) and value.strip().lower() in ("none", "null"):
        return None
    return value


def apply_overrides(raw: Mapping, overrides: OverridesLike) -> dict:
    """Set dotted keys in a copy of a raw config dict (`data.sources.0.path` indexes lists)."""
    import copy

    result = copy.deepcopy(dict(raw))
    if not overrides:
        return result
    pairs = overrides.items() if isinstance(overrides, Mapping) else (parse_override(o) for o in overrides)
    for key, value in pairs:
        parts = key.split(".")
        node: Any = result
        for i, part in enumerate(parts[:-1]):
            where = ".".join(parts[: i + 1])
            if isinstance(node, list):
                node = _list_item(node, part, where)
                continue
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict | list):
                raise ConfigError(f"{where}: is a value, not a section; cannot set {key}")
            node = child
        last = parts[-1]
        if isinstance(node, list):
            node[_list_index(node, last, key)] = value
        else:
            node[last] = value
    return result


def _list_index(items: list, part: str, where: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ConfigError(f"{where}: list index must be 0..{len(items) - 1}")
    return int(part)


def _list_item(items: list, part: str, where: str) -> Any:
    return items[_list_index(items, part, where)]


def _check_consistency(cfg: Config) -> None:
    """Rules that involve more than one key."""
    for i, src in enumerate(cfg.data.sources):
        if not src.path:
            raise ConfigError(f"data.sources.{i}.path: missing (the folder holding the {src.type} data)")
    if cfg.data.val + cfg.data.test >= 0.9:
        raise ConfigError(
            f"data.val + data.test: {cfg.data.val + cfg.data.test:g} leaves too little to train on (allowed < 0.9)"
        )
    if cfg.data.labels is not None and len(set(cfg.data.labels)) != len(cfg.data.labels):
        raise ConfigError(f"data.labels: repeated label in {cfg.data.labels}")
    if cfg.data.labels is not None and len(cfg.data.labels) < 2:
        raise ConfigError("data.labels: a classifier needs at least 2 labels")
    if cfg.train.min_lr > cfg.train.lr:
        raise ConfigError(
            f"train.min_lr: {cfg.train.min_lr:g} is above train.lr {cfg.train.lr:g} (allowed 0 .. train.lr)"
        )
    if cfg.train.epochs + cfg.finetune.epochs == 0:
        raise ConfigError("train.epochs + finetune.epochs: 0 epochs in total (allowed >= 1)")


def validate_for_run(cfg: Config) -> None:
    """Checks that need the filesystem or the model registry (done when a run starts)."""
    if not cfg.data.sources:
        raise ConfigError("data.sources: empty; list at least one {type: folder|voc|yolo|photos, path: ...}")
    rule = cfg.train.small_faces
    if rule is not None and cfg.data.labels and set(rule.decision_weights) - set(cfg.data.labels):
        unknown = sorted(set(rule.decision_weights) - set(cfg.data.labels))
        raise ConfigError(f"train.small_faces.decision_weights: unknown labels {unknown} (labels: {cfg.data.labels})")
    for i, src in enumerate(cfg.data.sources):
        if not Path(src.path).is_dir():
            raise ConfigError(f"data.sources.{i}.path: {src.path} is not a folder")
        if src.manifest is not None and not Path(src.manifest).is_file():
            raise ConfigError(f"data.sources.{i}.manifest: {src.manifest} not found")


def resolve_paths(cfg: Config, base: str | os.PathLike | None = None) -> Config:
    """Expand ~ and $VARS and make data paths absolute, so the saved config works from anywhere."""
    base_dir = Path(base) if base is not None else Path.cwd()

    def fix(p: str | None) -> str | None:
        if p is None:
            return None
        path = Path(os.path.expandvars(os.path.expanduser(p)))
        return str(path if path.is_absolute() else (base_dir / path).resolve())

    raw = cfg.to_dict()
    for src in raw["data"]["sources"]:
        src["path"] = fix(src["path"])
        src["manifest"] = fix(src["manifest"])
    raw["run"]["root"] = fix(raw["run"]["root"])
    return config_from_dict(raw)


def describe_keys(cls: type[BaseModel] = Config, prefix: str = "") -> list[tuple[str, str, str]]:
    """(key, default, help [allowed]) for every leaf key: `maskwatch train --keys`."""
    rows = []
    for name, field in cls.model_fields.items():
        key = f"{prefix}.{name}" if prefix else name
        hint = field.annotation
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            rows += describe_keys(hint, key)
            continue
        default = field.get_default(call_default_factory=True)
        note = field.description or ""
        span = allowed(field)
        if span:
            note += f" [{span}]"
        literals = [arg for arg in (hint, *typing.get_args(hint)) if typing.get_origin(arg) is Literal]
        choices = [str(value) for arg in literals for value in typing.get_args(arg)]
        if choices:
            note += f" [{' | '.join(choices)}]"
        rows.append((key, repr(default), note))
    return rows
