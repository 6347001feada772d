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
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from maskwatch.errors import ConfigError

ENV_PREFIX = "MASKWATCH_"

_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("maskwatch_environ", default=None)


def allowed(field: FieldInfo) -> str:
    """The allowed range of a field as written in its constraints, e.g. '>= 1', '> 0 and <= 1'."""
    parts = []
    for item in field.metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
    return " and ".join(parts)


def config_error(exc: ValidationError, model: type[BaseModel], source: str = "") -> ConfigError:
    """A pydantic ValidationError as one ConfigError line per problem: key = value: why (allowed: range)."""
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or model.__name__
        field = model.model_fields.get(str(error["loc"][0])) if error["loc"] else None
        why = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            known = ", ".join(model.model_fields)
            lines.append(f"{key}: unknown setting (known: {known})")
            continue
        span = allowed(field) if field is not None else ""
        value = f" = {error['input']!r}" if "input" in error and not isinstance(error["input"], dict) else ""
        lines.append(f"{key}{value}: {why}" + (f" (allowed: {span})" if span else ""))
    where = f"{source}: " if source else ""
    return ConfigError(where + "; ".join(lines))


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
