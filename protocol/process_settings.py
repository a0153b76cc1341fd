"""One typed settings source per process: flags > ``FLOODMESH_*`` environment > TOML file > defaults.

Central and the gateway each declare one :class:`ProcessSettings` subclass (a pydantic-settings model).
Constructing it with keyword arguments uses those and the defaults only: tests and the demo must not
pick up a developer's stray ``FLOODMESH_*`` variable or config file. A process reads its environment
and its TOML file only through :meth:`ProcessSettings.from_sources`, which also checks at start what
only the running process can check (files that must exist, a secret the chosen backend needs).
"""

import os
import tomllib
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self, Union, get_args, get_origin

from pydantic import ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

ENV_PREFIX = "FLOODMESH_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
"""The environment variable naming the TOML file when ``--config`` is not given."""


class SettingsError(ValueError):
    """Settings a process cannot start with; the message names each setting and what to do."""


def env_name(field: str) -> str:
    """The environment variable a setting is read from, e.g. ``FLOODMESH_BROKER_PORT``."""
    return ENV_PREFIX + field.upper()


def flag_name(field: str) -> str:
    """The command-line flag of a setting, e.g. ``--broker-port``."""
    return "--" + field.replace("_", "-")


def where_to_set(field: str) -> str:
    """The three places a setting can be given, for error messages."""
    return f"{flag_name(field)}, {env_name(field)} or `{field} = ...` in the TOML file"


def is_path_field(annotation: Any) -> bool:
    """Whether a field holds a filesystem path (``Path`` or ``Path | None``)."""
    if annotation is Path:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return Path in get_args(annotation)
    return False


class ProcessSettings(BaseSettings):
    """Base of each process's settings: frozen, unknown names refused, env only via ``from_sources``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid", env_ignore_empty=True)

    written_paths: ClassVar[frozenset[str]] = frozenset()
    """Path fields the process creates (databases); every other path given must already exist."""
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    """Fields never taken from the command line (argv is visible to every user in ``ps``)."""

    def __init__(self, *args: Any, **values: Any) -> None:
        # Positional arguments fill the fields in declaration order, as the dataclasses did
        # (e.g. GatewaySettings(ward, gateway_id, outbox_path, host, port)).
        names = list(type(self).model_fields)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} positional arguments")
        for name, value in zip(names, args, strict=False):
            if name in values:
                raise TypeError(f"{type(self).__name__} got two values for {name}")
            values[name] = value
        super().__init__(**values)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Plain construction reads keyword arguments and defaults only (see ``from_sources``)."""
        return (init_settings,)

    @classmethod
    def from_sources(
        cls, overrides: Mapping[str, Any] | None = None, config_path: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Self:
        """Settings as a process starts with them: ``overrides`` (flags) > environment > TOML > defaults.

        ``config_path`` defaults to ``$FLOODMESH_CONFIG``; ``environ`` to ``os.environ``. Raises
        :class:`SettingsError` naming every bad setting.
        """
        env = os.environ if environ is None else environ
        if config_path is None and env.get(CONFIG_ENV):
            config_path = Path(env[CONFIG_ENV])
        values: dict[str, Any] = read_toml(config_path) if config_path is not None else {}
        values.update(_read_env(cls, env))
        values.update(overrides or {})
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            raise SettingsError(describe(exc, config_path, cls.secret_fields)) from None
        problems = settings.problems_at_start()
        if problems:
            raise SettingsError("\n".join(problems))
        return settings

    def problems_at_start(self) -> list[str]:
        """What stops this process from starting, one sentence each (subclasses add their own)."""
        problems = []
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if name in self.written_paths or not is_path_field(info.annotation) or value is None:
                continue
            if not Path(value).exists():
                problems.append(f"{name}: {value} does not exist: create it, or give the right path with "
                                f"{where_to_set(name)}")
        for name in self.written_paths:
            value = getattr(self, name, None)
            if value is not None and not Path(value).parent.is_dir():
                problems.append(f"{name}: the folder {Path(value).parent} does not exist: create it, or give "
                                f"another path with {where_to_set(name)}")
        return problems


def read_toml(path: Path) -> dict[str, Any]:
    """The settings in a TOML file (top-level keys are field names)."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist: fix --config or {CONFIG_ENV}") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"config file {path} cannot be read as TOML ({exc}): fix the file") from None


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def _read_env(cls: type[ProcessSettings], environ: Mapping[str, str]) -> dict[str, Any]:
    return _MappingEnvSource(cls, environ)()


def describe(exc: ValidationError, config_path: Path | None, secrets: frozenset[str] = frozenset()) -> str:
    """One line per invalid setting: its name, what is wrong, where to set it."""
    lines = []
    for err in exc.errors():
        name = ".".join(str(part) for part in err["loc"]) or "settings"
        if err["type"] == "missing":
            lines.append(f"{name}: required: give it with {where_to_set(name)}")
        elif err["type"] == "extra_forbidden":
            origin = f" in {config_path}" if config_path is not None else ""
            lines.append(f"{name}: unknown setting{origin}: remove it or fix its spelling")
        elif err["type"] == "value_error":  # our own validators: the message already shows the value
            lines.append(f"{name}: {err['msg'].removeprefix('Value error, ')}: fix it with {where_to_set(name)}")
        else:
            got = "" if name in secrets else f" (got {err.get('input')!r})"
            lines.append(f"{name}: {err['msg']}{got}: fix it with {where_to_set(name)}")
    return "\n".join(lines)
