"""The one config mechanism: pydantic models with typed ranges, `MASKWATCH_*` environment variables
through pydantic-settings, and one error type (`ConfigError`) that names the key, the value and the
allowed range.

    class ServeSettings(EnvSettings):              # fields read MASKWATCH_<FIELD> too
        workers: int = Field(2, ge=1)

    ServeSettings(workers=0)   # ConfigError: workers = 0: ... (allowed: >= 1)

`Settings` is for settings given in code or on the command line (detector, video); `EnvSettings`
adds the environment, for what operators set per deployment (the server).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from maskwatch.errors import ConfigError

ENV_PREFIX = "MASKWATCH_"
_F = TypeVar("_F", bound=Callable[..., Any])

_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("maskwatch_environ", default=None)


def _num(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def bounds(field: FieldInfo) -> tuple[float | None, float | None, bool, bool]:
    """(low, high, low inclusive, high inclusive) from a field's ge/gt/le/lt constraints."""
    low = high = None
    low_in = high_in = True
    for item in field.metadata:
        for attr in ("ge", "gt", "le", "lt"):
            value = getattr(item, attr, None)
            if value is None:
                continue
            if attr in ("ge", "gt"):
                low, low_in = value, attr == "ge"
            else:
                high, high_in = value, attr == "le"
    return low, high, low_in, high_in


def allowed(field: FieldInfo) -> str:
    """The allowed range of a field as the errors and `--keys` tables show it: '0 .. 1', '>= 1', '> 0'."""
    low, high, low_in, high_in = bounds(field)
    if low is not None and high is not None and low_in and high_in:
        return f"{_num(low)} .. {_num(high)}"
    parts = []
    if low is not None:
        parts.append(f"{'>=' if low_in else '>'} {_num(low)}")
    if high is not None:
        parts.append(f"{'<=' if high_in else '<'} {_num(high)}")
    return " and ".join(parts)


def option(model: type[BaseModel], name: str, **extra: Any) -> dict[str, Any]:
    """Command-line option settings of field `name` (help, min/max), so a CLI option is derived from
    the same model as the Python check: `typer.Option("--conf", **option(M, "conf"))`. An exclusive
    bound (`gt=0`) becomes an inclusive min for the parser; the model still refuses the bound itself."""
    field = model.model_fields[name]
    low, high, _, _ = bounds(field)
    out: dict[str, Any] = {"help": field.description} if field.description else {}
    if low is not None:
        out["min"] = low
    if high is not None:
        out["max"] = high
    return {**out, **extra}


def options_of(*models: type[BaseModel]) -> Callable[[_F], _F]:
    """Mark a function whose `**options` are the fields of these settings models.

    Several functions take the detector's options and hand them on (`evaluate_detection`,
    `detect_bulk`): they take them as `**detector_options`, checked by the one model, instead of
    each repeating the parameters. `function.__options__` names them, so the CLI mirror test
    (tests/test_cli_mirrors.py) knows every option such a function accepts.
    """
    names = frozenset(name for model in models for name in model.model_fields)

    def mark(function: _F) -> _F:
        function.__options__ = names  # type: ignore[attr-defined]
        return function

    return mark


def parse_override(text: str) -> tuple[str, Any]:
    """`"train.epochs=3"` -> `("train.epochs", 3)`: one `--set KEY=VALUE`, as `yolo` takes them.

    The value is parsed as YAML, so `3`, `1e-4`, `true`, `null`, `[a, b]` get their types."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. train.epochs=3")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def overrides_for(model: type[BaseModel], overrides: Mapping[str, Any] | Iterable[str] | None) -> dict[str, Any]:
    """`--set KEY=VALUE` pairs (or a mapping) for the fields of a settings model: {key: checked value}.

    For the settings a command has no flag of its own for (`maskwatch detect clip.mp4 --set
    classify_every=2`, `maskwatch serve --set keep_results=4`). A key the model does not have is a
    ConfigError listing the keys there are; a bad value one naming the key and its allowed range.
    """
    pairs = dict(overrides.items() if isinstance(overrides, Mapping) else map(parse_override, overrides or ()))
    unknown = sorted(set(pairs) - set(model.model_fields))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown setting (known: {', '.join(model.model_fields)})")
    checked = model(**pairs)
    return {key: getattr(checked, key) for key in pairs}


def _model_at(model: type[BaseModel], loc: tuple) -> tuple[type[BaseModel], FieldInfo | None]:
    """The model holding the last part of `loc` and that part's field (None for an unknown key)."""
    import typing

    current: Any = model
    field = None
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return current, None
        field = fields[part]
        if part is loc[-1]:
            return current, field
        hint = field.annotation
        for arg in (hint, *typing.get_args(hint), *(a for x in typing.get_args(hint) for a in typing.get_args(x))):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                current = arg
                break
    return current, field


_EXPECTED = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "list": "a list",
    "dict": "a mapping",
    "tuple": "a list",
    "model": "a mapping of keys",
}


def describe_error(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    """One pydantic error as maskwatch says it: `key: value is out of range (allowed 0 .. 1)`."""
    loc = tuple(error.get("loc", ()))
    key = ".".join(str(part) for part in loc) or model.__name__
    kind = str(error.get("type", ""))
    value = error.get("input")
    owner, field = _model_at(model, loc)
    if kind == "extra_forbidden":
        return f"{key}: unknown key (known keys here: {', '.join(getattr(owner, 'model_fields', {}))})"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        span = allowed(field) if field is not None else str(error.get("ctx", ""))
        return f"{key}: {value!r} is out of range (allowed {span})"
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{key}: {value!r} is not allowed (choose one of: {expected})"
    for stem, words in _EXPECTED.items():
        if kind.startswith(stem) or kind == f"{stem}_type":
            return f"{key}: expected {words}, got {value!r}"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{key}: {message}" if loc else message


def config_error(exc: ValidationError, model: type[BaseModel], source: str = "") -> ConfigError:
    """A pydantic ValidationError as one ConfigError: every problem with its key and allowed range."""
    where = f"{source}: " if source else ""
    return ConfigError(where + "; ".join(describe_error(e, model) for e in exc.errors()))


class _Checked:
    """Mixin: validation errors become ConfigError (the one error type of maskwatch's settings)."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)  # type: ignore[call-arg]
        except ValidationError as exc:
            raise config_error(exc, type(self)) from None  # type: ignore[arg-type]

    def with_(self, **changes: Any):
        """A copy with some fields changed, validated again (settings are immutable)."""
        return type(self)(**{**self.model_dump(), **changes})  # type: ignore[attr-defined]


class Settings(_Checked, BaseModel):
    """Typed, immutable settings given in code or on the command line; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class _Environment(PydanticBaseSettingsSource):
    """MASKWATCH_<FIELD> (or the field's name in `env_names`) from the process environment, or from
    the mapping `EnvSettings.from_env(environ)` was given."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        names = getattr(self.settings_cls, "env_names", {})
        key = ENV_PREFIX + names.get(field_name, field_name).upper()
        environ = _ENVIRON.get()
        value = (os.environ if environ is None else environ).get(key)
        return (value if value not in (None, "") else None), key, False

    def __call__(self) -> dict[str, Any]:
        values = {}
        for name, field in self.settings_cls.model_fields.items():
            value, _, _ = self.get_field_value(field, name)
            if value is not None:
                values[name] = value
        return values


class EnvSettings(_Checked, BaseSettings):
    """Settings that also read `MASKWATCH_<FIELD>` environment variables (keyword arguments win)."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True, validate_default=True)
    #: field -> environment name after MASKWATCH_, where it is not the field's own name.
    env_names: ClassVar[dict[str, str]] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _Environment(settings_cls))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any):
        """Settings from `environ` (default: the process environment); non-None overrides win."""
        with _environment(environ):
            return cls(**{k: v for k, v in overrides.items() if v is not None})


@contextlib.contextmanager
def _environment(environ: Mapping[str, str] | None) -> Iterator[None]:
    token = _ENVIRON.set(environ)
    try:
        yield
    finally:
        _ENVIRON.reset(token)
