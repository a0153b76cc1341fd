"""Command-line flags built from a process's settings model: a new setting gets its flag for free.

Every field of a :class:`~protocol.process_settings.ProcessSettings` becomes ``--field-name`` (plus any
legacy aliases the command keeps, e.g. ``--db`` for ``db_path``). Flags default to "not given", so
only what is typed on the command line overrides the environment, the TOML file and the defaults.
Secret fields get no flag: argv is visible to every user of the machine.
"""

import argparse
import sys
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from protocol.process_settings import CONFIG_ENV, ProcessSettings, SettingsError, env_name, flag_name, is_path_field

_PREFIX = "setting_"  # argparse dest of a settings flag: apart from the command's other arguments


def _choices(annotation: Any) -> tuple[Any, ...] | None:
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            if get_origin(arg) is Literal:
                return get_args(arg)
    return None


def _is_bool(annotation: Any) -> bool:
    return annotation is bool or (get_origin(annotation) in (Union, types.UnionType) and bool in get_args(annotation))


def _metavar(annotation: Any) -> str:
    if is_path_field(annotation):
        return "PATH"
    kinds = set(get_args(annotation)) if get_origin(annotation) in (Union, types.UnionType) else {annotation}
    return "N" if kinds & {int, float} else "VALUE"


def add_settings_flags(
    parser: argparse.ArgumentParser, model: type[ProcessSettings], aliases: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Add ``--config`` and one flag per settings field (values are validated by the model, not argparse)."""
    parser.add_argument("--config", type=Path, default=None, metavar="TOML",
                        help=f"settings file (default: ${CONFIG_ENV}); flags > FLOODMESH_* environment > file")
    group = parser.add_argument_group("settings", "each also read from FLOODMESH_<NAME> or the TOML file")
    for name, info in model.model_fields.items():
        if name in model.secret_fields:
            continue
        flags = [flag_name(name), *(aliases or {}).get(name, ())]
        default = "required" if info.is_required() else f"default {info.default}"
        kwargs: dict[str, Any] = {"dest": _PREFIX + name, "default": argparse.SUPPRESS,
                                  "help": f"{env_name(name)}; {default}"}
        if _is_bool(info.annotation):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["choices"] = _choices(info.annotation)
            kwargs["metavar"] = _metavar(info.annotation) if kwargs["choices"] is None else None
        group.add_argument(*flags, **kwargs)


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags, by field name."""
    return {key.removeprefix(_PREFIX): value for key, value in vars(args).items() if key.startswith(_PREFIX)}


def refused(command: str, exc: SettingsError) -> int:
    """Print why the settings were refused (no traceback) and return the usage-error exit code."""
    lines = str(exc).splitlines()
    print(f"floodmesh {command}: cannot start with these settings:", file=sys.stderr)
    for line in lines:
        print(f"  - {line}", file=sys.stderr)
    return 2
